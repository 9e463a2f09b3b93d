// What run() writes into its run directory, and in which order: a finished iteration's metrics row and
// rollouts first (before its evaluation or anything else that can fail), then checkpoints by the
// checkpoint policy, and the report, whose failure is a warning and never stops training. After a failure
// the last finished iteration is checkpointed (when the weights are still those of that iteration) and
// the report written, so the error costs at most the iteration in flight.

import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { RUN_CONFIG_FILE } from './config-changes.ts';
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { completeCheckpoints, removeStaleCheckpointTemporaries, saveCheckpoint } from './checkpoint.ts';
import { CheckpointPolicy, pruneCheckpoints, safetyCheckpointsOn, type CheckpointKind } from './checkpoint-policy.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { LATEST_FILE } from '../hub/checkpoint-path.ts';
import { failpoint } from '../util/failpoint.ts';
import { renderReport } from './report.ts';
import type { RolloutSample } from '../rollout/rollout-batch.ts';
import type { MetricsRow } from '../ppo/metrics-log.ts';
import type { Trainer } from '../ppo/trainer.ts';

const REPORT_ITERATIONS = 5; // iterations whose sample rollouts the report shows (the newest)
const REPORT_SAMPLES = 4;

/**
 * `value` with every absolute path string made relative to `dir`, so a report does not show the machine's
 * paths. A path that shares no directory with `dir` but the root would climb all the way up, which spells out
 * the absolute path again: it is shown as its last two components, e.g. "…/mini/base".
 */
export function relativePaths(value: unknown, dir: string): unknown {
  if (typeof value === 'string') return isAbsolute(value) ? relativePath(value, dir) : value;
  if (Array.isArray(value)) return value.map((v) => relativePaths(v, dir));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, relativePaths(v, dir)]));
  return value;
}

function relativePath(path: string, dir: string): string {
  const rel = relative(dir, path);
  const climbs = rel.split(sep).filter((part) => part === '..').length;
  if (climbs < resolve(dir).split(sep).filter(Boolean).length) return rel || '.';
  return `…/${path.split(sep).filter(Boolean).slice(-2).join('/')}`;
}

/** What an entry point adds to the run loop (the session: its checkpoint period, bookkeeping and events). */
export interface RunHooks {
  /**
   * Whether the iteration just finished (which took `iterationSec`) gets a checkpoint. Default: the trainer
   * config's policy (checkpointEvery, checkpointOverhead, checkpointMinutes; see checkpoint-policy.ts).
   */
  checkpointDue?: (iteration: number, iterationSec: number) => CheckpointKind | null;
  /** After every checkpoint written into the run directory (by the policy, at the end, after a failure). */
  onCheckpoint?: (iteration: number, dir: string) => void;
  /** After each finished iteration is on disk, and checkpointed when due (`checkpointed` says whether). */
  afterIteration?: (row: MetricsRow & { iteration: number }, info: { checkpointed: boolean }) => void | Promise<void>;
}

/**
 * Writes checkpoints/iter-N of the trainer's iteration, then the `latest` pointer (for people: resume scans for
 * complete directories), then prunes by the trainer config's retention; returns the directory.
 */
export async function writeRunCheckpoint(trainer: Trainer, runDir: string): Promise<string> {
  const it = trainer.iteration;
  const name = `iter-${it}`;
  const dir = join(runDir, 'checkpoints', name);
  await saveCheckpoint(trainer, dir);
  failpoint('checkpoint-latest', it);
  await writeFileAtomic(join(runDir, 'checkpoints', LATEST_FILE), name);
  await pruneCheckpoints(runDir, trainer.config);
  return dir;
}

export class RunRecorder {
  private readonly policy: CheckpointPolicy;
  private readonly due: (iteration: number, iterationSec: number) => CheckpointKind | null;
  private readonly rollouts: { iteration: number; samples: RolloutSample[] }[] = [];
  /** Iteration of the newest complete checkpoint on disk (null: none). */
  private lastCheckpoint: number | null = null;
  /** Optimizer steps when the last finished iteration was recorded: if they moved, the weights are past it. */
  private stepsAtLastIteration: number;
  /** For the closing line: checkpoint writes and iteration times of this run() call. */
  private readonly spent = { checkpoints: 0, checkpointSec: 0, iterations: 0, iterationSec: 0 };

  constructor(
    private readonly trainer: Trainer,
    readonly runDir: string,
    private readonly opts: { runConfig: object; name?: string; log: (line: string) => void; hooks?: RunHooks; keepConfig?: boolean },
  ) {
    this.policy = new CheckpointPolicy(trainer.config);
    this.due = opts.hooks?.checkpointDue ?? ((it, sec) => this.policy.due(it, sec));
    this.stepsAtLastIteration = this.optimizerSteps();
  }

  /**
   * Creates the layout and writes config.json (the run config as given, with the trainer config filled in),
   * unless `keepConfig` and it exists: a continued run keeps the config it started with (a resume records its
   * changes in config-changes.jsonl).
   */
  async start(): Promise<void> {
    await mkdir(join(this.runDir, 'rollouts'), { recursive: true });
    await mkdir(join(this.runDir, 'checkpoints'), { recursive: true });
    const configPath = join(this.runDir, RUN_CONFIG_FILE);
    if (!this.opts.keepConfig || !existsSync(configPath)) {
      await writeFileAtomic(configPath, JSON.stringify({ ...this.opts.runConfig, trainer: this.trainer.config }, null, 2));
    }
    // a killed writer's temporary directory takes space and is never completed
    for (const stale of await removeStaleCheckpointTemporaries(this.runDir)) this.opts.log(`removed the partial checkpoint ${stale}, left by an earlier process`);
    // a checkpoint newer than the trainer (one resume found unusable) does not count: it is rewritten when reached
    const reached = (await completeCheckpoints(this.runDir)).filter((c) => c.iteration <= this.trainer.iteration);
    this.lastCheckpoint = reached.at(-1)?.iteration ?? null;
  }

  /**
   * Before the first iteration: without any checkpoint yet, and safety checkpoints on (or a caller's period),
   * saves the starting point, so that a crash in the first iteration's checkpoint write still leaves one to
   * resume from.
   */
  async checkpointStart(): Promise<void> {
    const periodic = safetyCheckpointsOn(this.trainer.config) || this.opts.hooks?.checkpointDue !== undefined;
    if (this.lastCheckpoint === null && periodic) await this.checkpoint();
  }

  /** Persists the metrics rows (e.g. an iteration-0 eval row, or eval columns added to the last row). */
  async recordMetrics(): Promise<void> {
    await this.trainer.metrics.save(this.runDir);
  }

  /** The iteration trainer.step() just finished: its metrics row and its rollouts. */
  async recordIteration(): Promise<void> {
    await this.recordMetrics();
    const batch = this.trainer.lastBatch;
    if (this.trainer.config.saveRollouts && batch) {
      await batch.save(join(this.runDir, 'rollouts', `iter-${this.trainer.iteration}.arrow`));
      this.rollouts.push({ iteration: this.trainer.iteration, samples: batch.samples().slice(0, REPORT_SAMPLES) });
      if (this.rollouts.length > REPORT_ITERATIONS) this.rollouts.shift();
    }
    this.stepsAtLastIteration = this.optimizerSteps();
  }

  /**
   * After an iteration that took `iterationSec` (with its eval): a checkpoint when due (the policy, or
   * hooks.checkpointDue), the report at milestones. True when it checkpointed.
   */
  async afterIteration(iterationSec: number): Promise<boolean> {
    this.spent.iterations++;
    this.spent.iterationSec += iterationSec;
    const due = this.due(this.trainer.iteration, iterationSec);
    if (!due) return false;
    await this.checkpoint();
    if (due === 'milestone') await this.writeReport();
    return true;
  }

  /** A checkpoint of the trainer's iteration now, unless it has one; true (it is on disk either way). */
  async checkpointNow(): Promise<boolean> {
    if (this.lastCheckpoint !== this.trainer.iteration) await this.checkpoint();
    return true;
  }

  /** The end of run(): a checkpoint of the last iteration (unless there is one) and the report. */
  async finish(): Promise<void> {
    if (this.lastCheckpoint !== this.trainer.iteration) await this.checkpoint();
    await this.writeReport();
    const { checkpoints, checkpointSec, iterations, iterationSec } = this.spent;
    if (checkpoints && iterations) {
      const mean = checkpointSec / checkpoints;
      this.opts.log(`checkpoints: ${checkpoints} written, ${mean.toFixed(2)} s each on average, ${((100 * mean * iterations) / iterationSec).toFixed(0)}% of a mean iteration (${(iterationSec / iterations).toFixed(2)} s)`);
    }
  }

  /**
   * run() failed: checkpoint the last finished iteration unless it has one or the weights moved past it,
   * then write the report. Failures here are warnings: the caller rethrows the original error.
   */
  async afterFailure(): Promise<void> {
    const it = this.trainer.iteration;
    if (this.lastCheckpoint !== it) {
      if (this.optimizerSteps() !== this.stepsAtLastIteration) {
        this.opts.log(`warning: not checkpointing iteration ${it}: the failed iteration already changed the weights; resume from ${this.lastCheckpoint === null ? 'scratch' : `iter-${this.lastCheckpoint}`}`);
      } else {
        try {
          await this.checkpoint();
          this.opts.log(`checkpointed iteration ${it} after the error`);
        } catch (e) {
          this.opts.log(`warning: cannot checkpoint iteration ${it} after the error: ${(e as Error).message}`);
        }
      }
    }
    await this.writeReport();
  }

  private async checkpoint(): Promise<void> {
    const it = this.trainer.iteration;
    const t = performance.now();
    const dir = await writeRunCheckpoint(this.trainer, this.runDir);
    const sec = (performance.now() - t) / 1000;
    this.policy.wrote(sec);
    this.spent.checkpoints++;
    this.spent.checkpointSec += sec;
    this.lastCheckpoint = it;
    this.opts.hooks?.onCheckpoint?.(it, dir);
  }

  /** report.html; a failure to write it is a warning line. */
  async writeReport(): Promise<void> {
    const path = join(this.runDir, 'report.html');
    try {
      const html = renderReport({
        title: `orz run ${this.opts.name ?? basename(this.runDir)}`,
        config: { ...(relativePaths(this.opts.runConfig, this.runDir) as object), trainer: this.trainer.config },
        metrics: [...this.trainer.metrics.rows],
        rollouts: this.rollouts,
      });
      await writeFileAtomic(path, html);
    } catch (e) {
      this.opts.log(`warning: cannot write the report ${path} (training goes on): ${(e as Error).message}`);
    }
  }

  private optimizerSteps(): number {
    return this.trainer.policyOptimizer.step + (this.trainer.criticOptimizer?.step ?? 0);
  }
}
