// `orz` command line: train, eval (session, kernel and bench arrive with their issues).

import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';

const USAGE = `orz: Open-Reasoner-Zero in TypeScript

usage:
  orz train <config.json> [--iterations N] [--name NAME] [--runs-dir DIR] [--resume] [--backend B]
      PPO from a run config; writes runs/<name>/ (metrics, rollouts, checkpoints, report.html).
      --resume continues runs/<name>/ from its newest complete checkpoint (an unreadable one: a warning,
      and the one before it). Ctrl-C stops after the current iteration, checkpoints, exits 130.
  orz eval --model DIR --data FILE [--template orz|mini|TEXT] [--limit N] [--max-new-tokens N] [--backend B]
      Greedy accuracy of a model on a dataset with the math reward.
  orz kernel install|list|remove|run ...
      The TypeScript Jupyter kernel (orz kernel help).
  orz session start|list|status|stop ...
      Persistent training sessions that notebooks attach to (orz session help).
  orz help

environment:
  ORZ_BACKEND     tensor backend: auto (default), tensorflow, onnxruntime, wasm, cpu
  ORZ_RUNS_DIR    where runs/<name>/ go (default ./runs)
  ORZ_FAILPOINT   testing hook: SIGKILL at a named point, e.g. update@2 (sdk/util/failpoint.ts)
`;

class UsageError extends Error {}

async function train(argv: string[]): Promise<number> {
  // The SDK (and tfjs) loads only for the commands that compute, so `orz kernel ...` and `orz session ...` start fast.
  const { selectBackend } = await import('../engine/backend.ts');
  const { readRunConfig, trainerFromRunConfig } = await import('../ppo/run-config.ts');
  const { resumeFrom, runTrainer } = await import('../ppo/run.ts');
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: {
      iterations: { type: 'string' }, name: { type: 'string' }, 'runs-dir': { type: 'string' },
      resume: { type: 'boolean', default: false }, backend: { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('orz train: expected exactly one config file');
  const configPath = positionals[0]!;
  const rc = await readRunConfig(configPath);
  if (values.name) rc.name = values.name;
  if (values.iterations) {
    const n = Number(values.iterations);
    if (!(Number.isInteger(n) && n > 0)) throw new UsageError(`--iterations must be a positive integer, got ${values.iterations}`);
    rc.iterations = n;
  }
  const backend = await selectBackend(values.backend ?? rc.backend);
  const runDir = resolve(values['runs-dir'] ?? process.env['ORZ_RUNS_DIR'] ?? 'runs', rc.name);
  process.stderr.write(`orz train: ${rc.name} | backend ${backend.name} | ${rc.iterations} iterations | run dir ${runDir}\n`);
  const trainer = await trainerFromRunConfig(rc, { configSource: configPath });
  if (values.resume) {
    if (await resumeFrom(trainer, runDir)) process.stderr.write(`resumed at iteration ${trainer.iteration}\n`);
    else process.stderr.write(`no checkpoint in ${runDir}; starting at iteration 0\n`);
  }
  const controller = new AbortController();
  let interrupts = 0;
  process.on('SIGINT', () => {
    interrupts++;
    // A second Ctrl-C quits at once, even mid-checkpoint: --resume picks the newest complete checkpoint.
    if (interrupts > 1) process.exit(130);
    process.stderr.write('\ninterrupt: stopping at the next iteration boundary and checkpointing (Ctrl-C again to quit now)\n');
    controller.abort(new Error('interrupted'));
  });
  await runTrainer(trainer, {
    iterations: rc.iterations, runDir, signal: controller.signal,
    runConfig: { ...rc, backend: backend.name },
  });
  process.stderr.write(`report: ${join(runDir, 'report.html')}\n`);
  if (controller.signal.aborted && trainer.iteration < rc.iterations) {
    process.stderr.write(`interrupted at iteration ${trainer.iteration} of ${rc.iterations}; continue with --resume\n`);
    return 130; // the shell convention for "stopped by SIGINT", so `orz train ... && next` does not go on
  }
  return 0;
}

async function evalCmd(argv: string[]): Promise<void> {
  const { selectBackend } = await import('../engine/backend.ts');
  const { loadModel } = await import('../model/index.ts');
  const { loadTokenizer } = await import('../tokenizer/index.ts');
  const { readDataset, resolveTemplate, applyTemplate } = await import('../data/index.ts');
  const { RolloutEngine } = await import('../rollout/engine.ts');
  const { mathReward, scoreSamples } = await import('../reward/index.ts');
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' }, data: { type: 'string' }, template: { type: 'string', default: 'orz' },
      limit: { type: 'string' }, 'max-new-tokens': { type: 'string', default: '512' }, backend: { type: 'string' },
    },
  });
  if (!values.model || !values.data) throw new UsageError('orz eval: --model and --data are required');
  const backend = await selectBackend(values.backend);
  const [model, tokenizer, records] = await Promise.all([loadModel(values.model), loadTokenizer(values.model), readDataset(values.data)]);
  const limit = values.limit ? Number(values.limit) : records.length;
  const template = resolveTemplate(values.template!);
  const chosen = records.slice(0, limit);
  const engine = new RolloutEngine(model, tokenizer);
  const t0 = performance.now();
  const batch = await engine.generate(
    chosen.map((r) => ({ prompt: applyTemplate(template, r.prompt), groundTruth: r.groundTruth })),
    { temperature: 0, n: 1, maxNewTokens: Number(values['max-new-tokens']) },
    { onProgress: (p) => process.stderr.write(`\r${p.finished}/${p.total} samples`) },
  );
  const rewards = await scoreSamples(mathReward, batch.samples().map((s) => ({ ...s, groundTruth: s.groundTruth })));
  const acc = rewards.reduce((a, b) => a + b, 0) / rewards.length;
  process.stderr.write('\n');
  console.log(JSON.stringify({ model: values.model, data: values.data, backend: backend.name, samples: rewards.length, accuracy: acc, seconds: (performance.now() - t0) / 1000 }));
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'train': return await train(rest);
      case 'eval': await evalCmd(rest); return 0;
      case 'kernel': return await (await import('../../kernel/cli.ts')).kernelCommand(rest); // sdk never imports kernel statically
      case 'session': return await (await import('../session/cli.ts')).sessionCommand(rest);
      case undefined: case 'help': case '--help': case '-h': process.stdout.write(USAGE); return cmd === undefined ? 2 : 0;
      default: throw new UsageError(`unknown command "${cmd}"`);
    }
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${(e as Error).message}\n\n${USAGE}`);
      return 2;
    }
    process.stderr.write(`orz ${cmd}: ${(e as Error).message}\n`);
    if (process.env['ORZ_DEBUG']) process.stderr.write(`${(e as Error).stack}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
