// When run() checkpoints, and which checkpoints it keeps (TrainerConfig: checkpointEvery, checkpointOverhead,
// checkpointMinutes, keepCheckpoints). Milestones stay forever; safety checkpoints exist so that a crash
// loses at most one iteration, and roll so that the disk does not fill.

import { rename, rm } from 'node:fs/promises';
import { completeCheckpoints } from './checkpoint.ts';
import type { TrainerConfig } from '../ppo/config.ts';

export type CheckpointKind = 'milestone' | 'safety';

type PolicyConfig = Pick<TrainerConfig, 'checkpointEvery' | 'checkpointOverhead' | 'checkpointMinutes' | 'keepCheckpoints'>;

export function isMilestone(config: PolicyConfig, iteration: number): boolean {
  return config.checkpointEvery > 0 && iteration > 0 && iteration % config.checkpointEvery === 0;
}

/** Safety checkpoints are on when either the cost rule or the time rule can ask for one. */
export function safetyCheckpointsOn(config: PolicyConfig): boolean {
  return config.checkpointOverhead > 0 || config.checkpointMinutes > 0;
}

export class CheckpointPolicy {
  /** Seconds the last checkpoint write took; null until one was written in this process. */
  private lastWriteSec: number | null = null;
  private lastWriteAt: number;

  constructor(private readonly config: PolicyConfig, private readonly now: () => number = () => performance.now()) {
    this.lastWriteAt = now();
  }

  /**
   * Whether the iteration just finished (which took `iterationSec`, its evaluation included) gets a
   * checkpoint. Before any write has been timed the cost rule assumes a cheap checkpoint: one write tells.
   */
  due(iteration: number, iterationSec: number): CheckpointKind | null {
    const c = this.config;
    if (isMilestone(c, iteration)) return 'milestone';
    if (c.checkpointOverhead > 0 && (this.lastWriteSec === null || this.lastWriteSec <= c.checkpointOverhead * iterationSec)) return 'safety';
    if (c.checkpointMinutes > 0 && this.now() - this.lastWriteAt >= c.checkpointMinutes * 60_000) return 'safety';
    return null;
  }

  /** Records a finished checkpoint write that took `sec` seconds. */
  wrote(sec: number): void {
    this.lastWriteSec = sec;
    this.lastWriteAt = this.now();
  }
}

/**
 * Removes the checkpoints of `runDir` that are neither milestones nor among the newest `keepCheckpoints`
 * (milestones included in that count); returns the removed directories.
 */
export async function pruneCheckpoints(runDir: string, config: PolicyConfig): Promise<string[]> {
  const newestFirst = (await completeCheckpoints(runDir)).reverse();
  const removed: string[] = [];
  for (const [rank, { iteration, dir }] of newestFirst.entries()) {
    if (rank < config.keepCheckpoints || isMilestone(config, iteration)) continue;
    // renamed first, so a kill mid-removal leaves a temporary directory (which resume removes), not a torn iter-N
    const doomed = `${dir}.tmp-prune-${process.pid}`;
    await rename(dir, doomed);
    await rm(doomed, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}
