// Continuing a run from its directory: the newest usable checkpoint, the metrics rows up to it, and the
// removal of what later iterations left (they run again).

import { existsSync, statSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { isTrainingCheckpoint, LATEST_FILE } from '../hub/checkpoint-path.ts';
import { completeCheckpoints, loadCheckpoint, removeStaleCheckpointTemporaries } from './checkpoint.ts';
import { MetricsLog, rowsThrough } from '../ppo/metrics-log.ts';
import { claimRunDir, describeRunDir, holdsFinishedIterations, inspectRunDir } from './run-dir.ts';
import type { Trainer } from '../ppo/trainer.ts';
import { checkResumeConfig, CONFIG_CHANGES_FILE, describeChange, recordConfigChanges } from './config-changes.ts';

/**
 * The newest complete checkpoint directory of `runDir` (see completeCheckpoints), or null. The `latest` file
 * names it too, but it is not trusted: a crash can fall between a checkpoint's rename and the pointer's update.
 */
export async function latestCheckpoint(runDir: string): Promise<string | null> {
  return (await completeCheckpoints(runDir)).at(-1)?.dir ?? null;
}

/**
 * Restores the newest usable checkpoint of `runDir` (and its metrics) into `trainer`; false if there is none.
 * Leftover temporary checkpoint directories are removed. A checkpoint that fails to load (a truncated file)
 * is reported through `log` and the next older complete one is tried; if every one fails, this throws with
 * each one's error rather than starting over. Metrics rows and rollouts after the restored iteration are
 * dropped (on disk too): those iterations run again. Without any checkpoint, a directory that holds finished
 * iterations is refused (this throws and changes nothing: continuing would redo them all); one with at most
 * an iteration-0 evaluation row restarts at iteration 0, keeping that row. Afterwards run() may write into
 * `runDir` (see RunOptions.overwrite). `runDir` may also be given as its `checkpoints/latest`.
 *
 * The config the trainer was built with is compared with the one the run had at the checkpoint: a change to
 * a field that changes the algorithm or the data order is refused (this throws and changes nothing) unless
 * `allowConfigChange`; every change is logged and recorded in config-changes.jsonl (config-changes.ts).
 */
export interface ResumeOptions {
  log?: (line: string) => void;
  /**
   * The run config the run continues with (`orz train` passes it), compared with the one in force at the
   * checkpoint field by field; without it only the trainer config is compared (see config-changes.ts).
   */
  runConfig?: object;
  /** Continue even though fields that change the algorithm or the data order differ (recorded in config-changes.jsonl). */
  allowConfigChange?: boolean;
}

export async function resumeFrom(trainer: Trainer, runDirOrLatest: string, opts: ResumeOptions = {}): Promise<boolean> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const runDir = runDirOf(runDirOrLatest);
  const found = await inspectRunDir(runDir);
  if (found.checkpoints.length === 0 && holdsFinishedIterations(found)) {
    throw new Error(`resume: ${runDir} has no checkpoint to continue from, but holds ${describeRunDir(found)}; continuing would redo every iteration. ` +
      'Start the run over with `orz train --overwrite` (run({ overwrite: true }) in the SDK), or use another run directory');
  }
  const config = { ...(opts.runConfig ?? {}), trainer: trainer.config };
  const check = (iteration: number) => checkResumeConfig(runDir, config, iteration + 1, opts.allowConfigChange ?? false, ALLOW_FLAG);
  await check(found.checkpoints.at(-1) ?? 0); // a refusal before anything changes
  for (const stale of await removeStaleCheckpointTemporaries(runDir)) log(`resume: removed the partial checkpoint ${stale}`);
  const saved = await MetricsLog.open(runDir);
  const restored = await restoreNewest(trainer, runDir, saved, log);
  const changes = await check(restored ?? 0); // again, in case an unusable checkpoint took the run further back
  if (restored === null) trainer.restore({ ...trainer.state(), metrics: rowsThrough(saved.rows, 0) }, `${runDir}/metrics.jsonl`);
  const dropped = saved.rows.length - trainer.metrics.rows.length;
  if (dropped > 0) log(`resume: dropping ${dropped} metrics row(s) after iteration ${restored ?? 0}; those iterations run again`);
  if (saved.rows.length) await trainer.metrics.save(runDir);
  await removeRolloutsAfter(runDir, restored ?? 0);
  await recordConfigChanges(runDir, changes, (restored ?? 0) + 1);
  for (const c of changes) {
    log(`resume: ${c.guarded ? 'allowed config change' : 'config change'} from iteration ${(restored ?? 0) + 1}: ${describeChange(c)} (recorded in ${CONFIG_CHANGES_FILE})`);
  }
  claimRunDir(trainer, runDir);
  return restored !== null;
}

const ALLOW_FLAG = '--allow-config-change (resumeFrom(trainer, runDir, { allowConfigChange: true }) in the SDK)';

/**
 * The run directory `path` names: the directory itself, or the run of a `checkpoints/latest` path (resume always
 * takes the newest usable checkpoint). A single checkpoint directory is refused: resuming drops what came after.
 */
function runDirOf(path: string): string {
  const abs = resolve(path);
  if (basename(abs) === LATEST_FILE && basename(dirname(abs)) === 'checkpoints' && statSync(abs, { throwIfNoEntry: false })?.isFile()) return dirname(dirname(abs));
  if (isTrainingCheckpoint(abs)) {
    throw new Error(`resume: ${path} is one checkpoint; pass its run directory (${dirname(dirname(abs))}) to continue the run from its newest ` +
      'usable checkpoint, or loadCheckpoint(trainer, dir) to load this one');
  }
  return path;
}

/** Loads the newest checkpoint that loads (metrics rows from `saved`); its iteration, or null without any. */
async function restoreNewest(trainer: Trainer, runDir: string, saved: MetricsLog, log: (line: string) => void): Promise<number | null> {
  const failures: string[] = [];
  for (const { iteration, dir } of (await completeCheckpoints(runDir)).reverse()) {
    try {
      await loadCheckpoint(trainer, dir, saved.rows); // the rows up to the checkpoint's iteration
      return iteration;
    } catch (e) {
      // a failed load may have assigned some weights already: the older checkpoint's load overwrites all of them
      failures.push(`${dir}: ${(e as Error).message}`);
      log(`warning: resume: checkpoint ${dir} is unusable (${(e as Error).message}); trying the previous one`);
    }
  }
  if (failures.length) throw new Error(`resume: no usable checkpoint in ${join(runDir, 'checkpoints')}:\n  ${failures.join('\n  ')}`);
  return null;
}

async function removeRolloutsAfter(runDir: string, iteration: number): Promise<void> {
  const dir = join(runDir, 'rollouts');
  if (!existsSync(dir)) return;
  for (const name of await readdir(dir)) {
    const m = /^iter-(\d+)\.arrow$/.exec(name);
    if (m && Number(m[1]) > iteration) await rm(join(dir, name), { recursive: true, force: true });
  }
}
