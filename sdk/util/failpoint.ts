// Failpoints: a testing hook that kills the process at a named point of a training iteration, so the fault
// suite (test/run-faults.test.ts) can crash `orz train` exactly there and check that --resume recovers.
//
//   ORZ_FAILPOINT=<name>[@<iteration>][:SIGINT]     e.g. generate@2, update@3, checkpoint-write@2, evaluate@2:SIGINT
//
// `failpoint(name, iteration)` sends SIGKILL to its own process when the name matches and the iteration
// matches (or none was given): the death is as abrupt as a power cut or the OOM killer, with no cleanup,
// no finally blocks and no flushed buffers. The iteration is the one being produced (the number its metrics
// row and checkpoint will carry). Without the variable the check is one comparison against null.
//
// Points (where they are called):
//   generate            Trainer.step, once half of the iteration's samples are generated (the engine reports
//                       per chunk: with one chunk that is when generation ends, before scoring)
//   update              Trainer.update, after the critic steps and before the policy steps
//   checkpoint-write    saveCheckpoint, after the policy is written into the temporary directory
//   checkpoint-latest   RunRecorder (sdk/run/recorder.ts), after the checkpoint directory is renamed into place and
//                       before `latest` is updated
//   evaluate            the run loop (sdk/run/loop.ts), as an iteration's evaluation starts (interruptPoint;
//                       iteration 0: the base-model evaluation)
//
// With `:SIGINT`, an interrupt point sends SIGINT instead (a Ctrl-C at exactly that point) and lets the
// process's handlers run before going on.

interface Armed { name: string; iteration: number | null; signal: 'SIGKILL' | 'SIGINT' }

function parse(spec: string | undefined): Armed | null {
  if (!spec) return null;
  const m = /^([a-z][a-z0-9-]*)(?:@(\d+))?(?::(SIGINT))?$/.exec(spec.trim());
  if (!m) throw new Error(`ORZ_FAILPOINT=${JSON.stringify(spec)}: expected <name>[@<iteration>][:SIGINT], e.g. update@2`);
  return { name: m[1]!, iteration: m[2] === undefined ? null : Number(m[2]), signal: m[3] === 'SIGINT' ? 'SIGINT' : 'SIGKILL' };
}

const matches = (name: string, iteration: number) =>
  armed !== null && armed.name === name && (armed.iteration === null || armed.iteration === iteration);

const armed = parse(process.env['ORZ_FAILPOINT']);

/** Kills this process with SIGKILL if ORZ_FAILPOINT names this point (and iteration). A testing hook. */
export function failpoint(name: string, iteration: number): void {
  if (!matches(name, iteration)) return;
  process.stderr.write(`failpoint ${name}@${iteration}: SIGKILL\n`);
  process.kill(process.pid, 'SIGKILL');
}

/** Like failpoint(), where an interrupt can land: with `:SIGINT` it sends SIGINT and waits for its handlers. */
export async function interruptPoint(name: string, iteration: number): Promise<void> {
  if (!matches(name, iteration)) return;
  process.stderr.write(`failpoint ${name}@${iteration}: ${armed!.signal}\n`);
  process.kill(process.pid, armed!.signal);
  // a signal is handled on a later turn of the event loop; one timer turn is enough, a few are safe
  await new Promise((resolve) => setTimeout(resolve, 50));
}
