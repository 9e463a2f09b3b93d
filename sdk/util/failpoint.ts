// Failpoints: a testing hook that kills the process at a named point of a training iteration, so the fault
// suite (test/run-faults.test.ts) can crash `orz train` exactly there and check that --resume recovers.
//
//   ORZ_FAILPOINT=<name>[@<iteration>]     e.g. generate@2, update@3, checkpoint-write@2, checkpoint-latest@1
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

interface Armed { name: string; iteration: number | null }

function parse(spec: string | undefined): Armed | null {
  if (!spec) return null;
  const m = /^([a-z][a-z0-9-]*)(?:@(\d+))?$/.exec(spec.trim());
  if (!m) throw new Error(`ORZ_FAILPOINT=${JSON.stringify(spec)}: expected <name>[@<iteration>], e.g. update@2`);
  return { name: m[1]!, iteration: m[2] === undefined ? null : Number(m[2]) };
}

const armed = parse(process.env['ORZ_FAILPOINT']);

/** Kills this process with SIGKILL if ORZ_FAILPOINT names this point (and iteration). A testing hook. */
export function failpoint(name: string, iteration: number): void {
  if (armed === null) return;
  if (armed.name !== name || (armed.iteration !== null && armed.iteration !== iteration)) return;
  process.stderr.write(`failpoint ${name}@${iteration}: SIGKILL\n`);
  process.kill(process.pid, 'SIGKILL');
}
