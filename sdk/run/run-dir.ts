// What a run directory already holds, so that no command and no run() call writes over another run's files
// unless told to (`orz train --overwrite`, `run({ overwrite: true })`) or told to continue it (`--resume`,
// resumeFrom()).

import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { completeCheckpoints } from './checkpoint.ts';
import { CONFIG_CHANGES_FILE, RUN_CONFIG_FILE } from './config-changes.ts';
import { METRICS_ARROW, METRICS_JSONL, MetricsLog } from '../ppo/metrics-log.ts';
import type { Trainer } from '../ppo/trainer.ts';

export interface RunDirContents {
  dir: string;
  metricsRows: number;
  /** The highest iteration in the metrics rows (null without rows). */
  lastIteration: number | null;
  /** Iterations of the complete checkpoints, oldest first. */
  checkpoints: number[];
  rollouts: number;
}

/** Reads what `runDir` holds (a missing directory holds nothing). A corrupt metrics.jsonl throws, naming it. */
export async function inspectRunDir(runDir: string): Promise<RunDirContents> {
  const dir = resolve(runDir);
  const rows = existsSync(join(dir, METRICS_JSONL)) ? (await MetricsLog.open(dir)).rows : [];
  const iterations = rows.map((r) => r['iteration']).filter((i): i is number => typeof i === 'number');
  const rolloutsDir = join(dir, 'rollouts');
  const rollouts = existsSync(rolloutsDir) ? (await readdir(rolloutsDir)).filter((n) => /^iter-\d+\.arrow$/.test(n)).length : 0;
  return {
    dir,
    metricsRows: rows.length,
    lastIteration: iterations.length ? Math.max(...iterations) : null,
    checkpoints: (await completeCheckpoints(dir)).map((c) => c.iteration),
    rollouts,
  };
}

/** True when the directory holds the record of a run (metrics rows, checkpoints or rollouts). */
export function holdsRun(c: RunDirContents): boolean {
  return c.metricsRows > 0 || c.checkpoints.length > 0 || c.rollouts > 0;
}

/** True when the directory holds finished training iterations (beyond an iteration-0 evaluation row). */
export function holdsFinishedIterations(c: RunDirContents): boolean {
  return (c.lastIteration ?? 0) > 0 || c.rollouts > 0;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** e.g. "5 metrics rows up to iteration 4, checkpoints iter-2 and iter-4, 4 rollout files". */
export function describeRunDir(c: RunDirContents): string {
  const parts: string[] = [];
  parts.push(c.metricsRows ? `${plural(c.metricsRows, 'metrics row')}${c.lastIteration !== null ? ` up to iteration ${c.lastIteration}` : ''}` : 'no metrics rows');
  const names = c.checkpoints.map((i) => `iter-${i}`);
  parts.push(names.length === 0 ? 'no checkpoint' : names.length === 1 ? `checkpoint ${names[0]}` : `checkpoints ${names.slice(0, -1).join(', ')} and ${names.at(-1)}`);
  if (c.rollouts) parts.push(plural(c.rollouts, 'rollout file'));
  return parts.join(', ');
}

/** The files and directories a run writes; --overwrite removes these and nothing else the directory holds. */
const RUN_ENTRIES = [METRICS_JSONL, METRICS_ARROW, 'rollouts', 'checkpoints', 'report.html', RUN_CONFIG_FILE, CONFIG_CHANGES_FILE];

export async function removeRunFiles(runDir: string): Promise<void> {
  for (const name of RUN_ENTRIES) await rm(join(runDir, name), { recursive: true, force: true });
}

// The run directory each trainer's in-memory state belongs to: set by resumeFrom() and by run() itself, so
// that run() can tell its own run (or one it was resumed from) from another run's files.
const ownRunDirs = new WeakMap<Trainer, string>();

export function claimRunDir(trainer: Trainer, runDir: string): void {
  ownRunDirs.set(trainer, resolve(runDir));
}

export function ownsRunDir(trainer: Trainer, runDir: string): boolean {
  return ownRunDirs.get(trainer) === resolve(runDir);
}
