// `orz train <config.json>`: PPO from a run config into runs/<name>/.

import { join, resolve } from 'node:path';
import { commandHelp, parseFlags, UsageError, defineCommand, type FlagValues } from '../util/flags.ts';
import type { RunConfig } from '../run/run-config.ts';

export const TRAIN_COMMAND = defineCommand({
  name: 'orz train',
  synopsis: '<config.json> [options]',
  summary: 'PPO from a run config; writes runs/<name>/ (config, metrics, rollouts, checkpoints, report.html).\n' +
    'A run directory that already holds a run is refused unless --resume or --overwrite is given.\n' +
    'Ctrl-C finishes the iteration in progress, checkpoints it and exits 0; Ctrl-C again stops at once (exit 130).',
  positionals: { min: 1, max: 1, name: 'config file' },
  flags: {
    iterations: { type: 'int', min: 1, help: 'total iterations to reach (default: the config\'s "iterations")' },
    name: { type: 'string', arg: 'NAME', help: 'run name, i.e. the directory under the runs dir (default: the config\'s "name")' },
    'runs-dir': { type: 'string', arg: 'DIR', help: 'where runs/<name>/ goes (default $ORZ_RUNS_DIR or ./runs)' },
    resume: { type: 'boolean', help: 'continue runs/<name>/ from its newest complete checkpoint (a new run if it holds none)' },
    'allow-config-change': { type: 'boolean', help: 'with --resume: continue although the seed, a learning rate, the template, the batch shape or another field that changes the algorithm or the data order differs from the run\'s (recorded in config-changes.jsonl)' },
    overwrite: { type: 'boolean', help: 'remove the run already in runs/<name>/ (metrics, rollouts, checkpoints, report) and start over' },
    backend: { type: 'string', arg: 'B', help: 'tensor backend: auto, tensorflow, onnxruntime, wasm, cpu (default: the config\'s, else auto)' },
    'dry-run': { type: 'boolean', help: 'print the memory pre-flight (estimated peak per term against free memory) and exit: 0 if it fits, 1 if not' },
    'memory-budget': { type: 'number', min: 0, exclusiveMin: true, arg: 'GB', help: 'compare the estimate with this budget instead of free memory (e.g. a GPU\'s)' },
  },
});

type TrainFlags = FlagValues<typeof TRAIN_COMMAND.flags>;

export async function trainCommand(argv: string[]): Promise<number> {
  const parsed = parseFlags(TRAIN_COMMAND, argv);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  // The SDK (and tfjs) loads only for the commands that compute, so `orz kernel ...` and `orz session ...` start fast.
  const { selectBackend } = await import('../engine/backend.ts');
  const { readRunConfig, trainerFromRunConfig } = await import('../run/run-config.ts');
  const { resumeFrom, runTrainer } = await import('../run/loop.ts');
  if (values.resume && values.overwrite) throw new UsageError('orz train: --resume continues the run and --overwrite replaces it; give one of them', commandHelp(TRAIN_COMMAND));
  if (values['allow-config-change'] && !values.resume) throw new UsageError('orz train: --allow-config-change applies to --resume only', commandHelp(TRAIN_COMMAND));
  const configPath = positionals[0]!;
  const rc = await readRunConfig(configPath);
  if (values.name) rc.name = values.name;
  if (values.iterations !== undefined) rc.iterations = values.iterations;
  const backend = await selectBackend(values.backend ?? rc.backend);
  const runDir = resolve(values['runs-dir'] ?? process.env['ORZ_RUNS_DIR'] ?? 'runs', rc.name);
  const runConfig = { ...rc, backend: backend.name };
  // Checked before the pre-flight and the model load, so a refusal is immediate and writes nothing.
  const holdsRun = values['dry-run'] ? false : await checkRunDir(values, runConfig, configPath, runDir);
  // The pre-flight runs before the model loads: its baseline is this process's memory now.
  const { preflightRun } = await import('../run/preflight-run.ts');
  const budget = values['memory-budget'] === undefined ? {} : { budgetBytes: values['memory-budget'] * 2 ** 30 };
  const pf = await preflightRun(rc, { backend: backend.name, configSource: configPath, ...budget });
  if (values['dry-run']) {
    process.stdout.write(`${pf.lines.join('\n')}\n`);
    return pf.fits ? 0 : 1;
  }
  if (!pf.fits) throw new Error(`this run does not fit in memory:\n${pf.lines.join('\n')}`);
  process.stderr.write(`orz train: ${rc.name} | backend ${backend.name} | ${rc.iterations} iterations | run dir ${runDir}\n${pf.summary}\n`);
  const trainer = await trainerFromRunConfig(rc, { configSource: configPath, ...(pf.inputs ? { inputs: pf.inputs } : {}) });
  if (values.resume && !holdsRun) {
    process.stderr.write(`nothing to resume in ${runDir}; starting a new run\n`);
  } else if (values.resume) {
    if (await resumeFrom(trainer, runDir, { runConfig, allowConfigChange: values['allow-config-change'] ?? false })) process.stderr.write(`resumed at iteration ${trainer.iteration}\n`);
    else process.stderr.write(`no checkpoint in ${runDir} and no finished iteration; starting at iteration 0\n`);
  }
  const { handleInterrupts, keptCheckpoint } = await import('./train-interrupt.ts');
  const resumeLine = `orz train ${configPath}${values.name ? ` --name ${values.name}` : ''}${values['runs-dir'] ? ` --runs-dir ${values['runs-dir']}` : ''} --resume`;
  const interrupts = handleInterrupts(runDir, resumeLine);
  try {
    await runTrainer(trainer, { iterations: rc.iterations, runDir, stop: interrupts.stop, onPhase: interrupts.onPhase, overwrite: values.overwrite, runConfig });
  } finally {
    interrupts.dispose();
  }
  process.stderr.write(`report: ${join(runDir, 'report.html')}\n`);
  if (interrupts.stop.aborted && trainer.iteration < rc.iterations) {
    const kept = keptCheckpoint(runDir);
    process.stderr.write(`stopped by Ctrl-C at iteration ${trainer.iteration} of ${rc.iterations}; checkpoint ${kept?.dir ?? '(none)'}. Continue with: ${resumeLine}\n`);
  }
  return 0;
}

/**
 * Refuses a run directory holding another run (without --resume or --overwrite) and, on --resume, a config
 * change the run does not allow (config-changes.ts; resumeFrom checks again once the checkpoint is loaded).
 * Returns whether the directory holds a run.
 */
async function checkRunDir(values: TrainFlags, runConfig: RunConfig, configPath: string, runDir: string): Promise<boolean> {
  const { describeRunDir, holdsRun, inspectRunDir } = await import('../run/run-dir.ts');
  const { checkRunConfig } = await import('../run/run-config.ts');
  const { checkResumeConfig } = await import('../run/config-changes.ts');
  const found = await inspectRunDir(runDir);
  if (!holdsRun(found)) return false;
  if (!values.resume && !values.overwrite) {
    throw new Error(`${runDir} already holds a run (${describeRunDir(found)}). Continue it with --resume, ` +
      'replace it with --overwrite, or choose another --name or --runs-dir');
  }
  if (values.resume) {
    const trainer = checkRunConfig(runConfig, configPath);
    await checkResumeConfig(runDir, { ...runConfig, trainer }, (found.checkpoints.at(-1) ?? 0) + 1, values['allow-config-change'] ?? false, '--allow-config-change');
  }
  return true;
}
