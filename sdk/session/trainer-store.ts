// A session trainer on disk: its own run directory under the session, in the formats `orz train` uses
//
//   checkpoints/<handle id>/metrics.jsonl|arrow, rollouts/iter-N.arrow, checkpoints/iter-N/ (+ latest)
//
// Order after every iteration: metrics (fsync'd line) -> rollouts -> checkpoint when due. The iteration event
// goes out only after that, so an iteration a client has seen complete survives kill -9 (with K = 1).
// Restoring takes the newest complete checkpoint directory rather than trusting the `latest` pointer: a
// checkpoint directory appears by an atomic rename, so any iter-N present is whole, while a crash can fall
// between the rename and the update of `latest`.

import { rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { MetricsLog } from '../ppo/metrics-log.ts';
import { completeCheckpoints, loadCheckpoint, saveCheckpoint } from '../run/checkpoint.ts';
import type { Trainer } from '../ppo/trainer.ts';

/** Complete checkpoints kept per trainer (older ones are pruned: a checkpoint is several model copies). */
const KEEP_CHECKPOINTS = 2;

export async function checkpointTrainer(trainer: Trainer, runDir: string): Promise<string> {
  const name = `iter-${trainer.iteration}`;
  const dir = join(runDir, 'checkpoints', name);
  await trainer.metrics.save(runDir);
  await saveCheckpoint(trainer, dir);
  await writeFileAtomic(join(runDir, 'checkpoints', 'latest'), name);
  const all = await completeCheckpoints(runDir);
  for (const old of all.slice(0, Math.max(0, all.length - KEEP_CHECKPOINTS))) await rm(old.dir, { recursive: true, force: true });
  return dir;
}

/** Loads the newest checkpoint and the metrics up to it; returns its iteration, or null if there is none. */
export async function restoreTrainer(trainer: Trainer, runDir: string): Promise<number | null> {
  const newest = (await completeCheckpoints(runDir)).at(-1);
  if (!newest) return null;
  const log = await MetricsLog.open(runDir);
  await loadCheckpoint(trainer, newest.dir, log.rows); // the rows up to the checkpoint's iteration
  await trainer.metrics.save(runDir); // the file on disk may hold rows of iterations that are now redone
  return newest.iteration;
}

/** Persists one finished iteration: metrics always, rollouts if the config says so. */
export async function recordIteration(trainer: Trainer, runDir: string): Promise<void> {
  await trainer.metrics.save(runDir);
  if (trainer.config.saveRollouts && trainer.lastBatch) {
    await trainer.lastBatch.save(join(runDir, 'rollouts', `iter-${trainer.iteration}.arrow`));
  }
}
