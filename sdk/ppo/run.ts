// Trainer.run(): iterations with a live progress line, periodic evaluation, checkpoints, the run
// directory (metrics, rollouts, report) and a clean stop at an iteration boundary on abort.
// An abort during an iteration's evaluation keeps the finished iteration (without its eval columns).
// Inside a notebook kernel that provides an ambient host (sdk/util/ambient.ts), the cell's interrupt is the
// default abort signal, and a progress bar and a live training chart replace the stderr progress lines.
//
//   runs/<name>/config.json          what was run
//   runs/<name>/metrics.jsonl|arrow  one row per iteration (+ an iteration-0 eval row)
//   runs/<name>/rollouts/iter-N.arrow
//   runs/<name>/checkpoints/iter-N/  and checkpoints/latest (the name of the newest, for people: resume scans
//                                    for complete iter-N directories instead, see resumeFrom)
//   runs/<name>/report.html

import { mkdir, readdir, rm } from 'node:fs/promises';
import { writeFileAtomic as writeAtomic } from '../util/atomic-write.ts';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MetricsLog, type MetricsRow } from './metrics-log.ts';
import { completeCheckpoints, loadCheckpoint, removeStaleCheckpointTemporaries, saveCheckpoint } from './checkpoint.ts';
import { failpoint } from '../util/failpoint.ts';
import type { Trainer } from './trainer.ts';
import { progressLine, renderReport, RunDisplay } from '../viz/index.ts';
import { ambientHost } from '../util/ambient.ts';
import type { RolloutSample } from '../rollout/rollout-batch.ts';

export interface RunOptions {
  /** Total iterations to reach (a resumed run continues up to this number). */
  iterations: number;
  /** Where to write metrics, rollouts, checkpoints and the report; nothing is written without it. */
  runDir?: string;
  /** Stops the run at the next iteration boundary (default: the notebook cell's interrupt, when in a kernel). */
  signal?: AbortSignal;
  /** Called with each iteration's metrics row. */
  onIteration?: (row: MetricsRow) => void;
  /**
   * Where progress lines go (default: stderr, or in a notebook kernel with display support a progress bar
   * and a live chart redrawn at most once a second; pass null for silence).
   */
  log?: ((line: string) => void) | null;
  /** Extra run-level config written to config.json and the report. */
  runConfig?: object;
}

/** The eval columns of a metrics row (the same names in `orz train` runs and sessions, so reports and charts read both). */
export async function evalRow(trainer: Trainer, signal?: AbortSignal): Promise<MetricsRow> {
  const t = performance.now();
  const ev = await trainer.evaluate({ signal });
  const row: MetricsRow = {
    'eval/accuracy': ev.accuracy,
    'eval/response_length': ev.responseLength,
    'eval/truncated_fraction': ev.truncatedFraction,
    'time/eval': (performance.now() - t) / 1000,
  };
  for (const [level, acc] of Object.entries(ev.byLevel)) row[`eval/accuracy/level${level}`] = acc;
  return row;
}

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
 * dropped (on disk too): those iterations run again. Without any checkpoint, the run restarts at iteration 0,
 * keeping only an iteration-0 eval row.
 */
export async function resumeFrom(trainer: Trainer, runDir: string, opts: { log?: (line: string) => void } = {}): Promise<boolean> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  for (const stale of await removeStaleCheckpointTemporaries(runDir)) log(`resume: removed the partial checkpoint ${stale}`);
  const saved = await MetricsLog.open(runDir);
  const failures: string[] = [];
  let restored: number | null = null;
  for (const { iteration, dir } of (await completeCheckpoints(runDir)).reverse()) {
    trainer.metrics.truncateAfter(-1);
    for (const row of saved.rows) trainer.metrics.append(row);
    try {
      await loadCheckpoint(trainer, dir); // truncates metrics after the checkpoint's iteration
      restored = iteration;
      break;
    } catch (e) {
      // a failed load may have assigned some weights already: the older checkpoint's load overwrites all of them
      failures.push(`${dir}: ${(e as Error).message}`);
      log(`warning: resume: checkpoint ${dir} is unusable (${(e as Error).message}); trying the previous one`);
    }
  }
  if (restored === null && failures.length) throw new Error(`resume: no usable checkpoint in ${join(runDir, 'checkpoints')}:\n  ${failures.join('\n  ')}`);
  if (restored === null) {
    trainer.metrics.truncateAfter(-1);
    for (const row of saved.rows) trainer.metrics.append(row);
    trainer.metrics.truncateAfter(0);
  }
  const dropped = saved.rows.length - trainer.metrics.rows.length;
  if (dropped > 0) log(`resume: dropping ${dropped} metrics row(s) after iteration ${restored ?? 0}; those iterations run again`);
  if (saved.rows.length) await trainer.metrics.save(runDir);
  await removeRolloutsAfter(runDir, restored ?? 0);
  return restored !== null;
}

async function removeRolloutsAfter(runDir: string, iteration: number): Promise<void> {
  const dir = join(runDir, 'rollouts');
  if (!existsSync(dir)) return;
  for (const name of await readdir(dir)) {
    const m = /^iter-(\d+)\.arrow$/.exec(name);
    if (m && Number(m[1]) > iteration) await rm(join(dir, name), { force: true });
  }
}

function fmt(x: unknown, digits = 3): string {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : '-';
}

/** The compact per-iteration line printed under the progress bar. */
export function metricsLine(row: MetricsRow): string {
  const parts = [
    `iter ${row['iteration']}`,
    `reward ${fmt(row['reward/mean'])}`,
    `len ${fmt(row['response_length/mean'], 1)}`,
    `pass@n ${fmt(row['pass@n'], 2)}`,
  ];
  if (row['eval/accuracy'] !== undefined) parts.push(`eval ${fmt(row['eval/accuracy'])}`);
  if (row['policy/clip_fraction'] !== undefined) parts.push(`clip ${fmt(row['policy/clip_fraction'])}`);
  if (row['policy/entropy'] !== undefined) parts.push(`ent ${fmt(row['policy/entropy'])}`);
  if (row['critic/loss'] !== undefined) parts.push(`vloss ${fmt(row['critic/loss'], 4)}`);
  if (row['throughput/gen_tokens_per_s'] !== undefined) parts.push(`gen ${fmt(row['throughput/gen_tokens_per_s'], 0)} tok/s`);
  if (row['time/iteration'] !== undefined) parts.push(`${fmt(row['time/iteration'], 1)} s`);
  return parts.join(' | ');
}

export async function runTrainer(trainer: Trainer, opts: RunOptions): Promise<MetricsRow[]> {
  const host = ambientHost(); // read once: a later cell may install another host while this run goes on
  const signal = opts.signal ?? host?.signal;
  const stderrLine = (l: string) => process.stderr.write(`${l}\n`);
  const live = opts.log === undefined && host?.display
    ? new RunDisplay(host.display.bind(host), {
      total: Math.max(0, opts.iterations - trainer.iteration),
      rows: () => trainer.metrics.rows,
      onError: (err) => stderrLine(`Trainer.run: live display failed, continuing without it: ${err.message}`),
    })
    : null;
  // With a live display, messages become the status line under the bar instead of stderr lines.
  const log = opts.log === null ? () => {} : live ? (l: string) => live.update(undefined, l) : (opts.log ?? stderrLine);
  try {
    return await runLoop(trainer, opts, signal, log, live);
  } catch (err) {
    live?.update(undefined, `stopped by an error: ${(err as Error)?.message ?? String(err)}`);
    throw err;
  } finally {
    live?.finish();
  }
}

async function runLoop(trainer: Trainer, opts: RunOptions, signal: AbortSignal | undefined, log: (line: string) => void, live: RunDisplay | null): Promise<MetricsRow[]> {
  const c = trainer.config;
  const runDir = opts.runDir;
  const fullConfig = { ...(opts.runConfig ?? {}), trainer: c };
  if (runDir) {
    await mkdir(join(runDir, 'rollouts'), { recursive: true });
    await mkdir(join(runDir, 'checkpoints'), { recursive: true });
    await writeAtomic(join(runDir, 'config.json'), JSON.stringify(fullConfig, null, 2));
  }
  const record = async () => {
    if (runDir) await trainer.metrics.save(runDir);
  };
  const evaluate = () => evalRow(trainer, signal);
  const recordedRollouts: { iteration: number; samples: RolloutSample[] }[] = [];
  const writeReport = async () => {
    if (!runDir) return;
    const html = renderReport({ title: `orz run ${(opts.runConfig as { name?: string } | undefined)?.name ?? runDir}`, config: fullConfig, metrics: [...trainer.metrics.rows], rollouts: recordedRollouts.slice(-5) });
    await writeAtomic(join(runDir, 'report.html'), html);
  };
  const checkpoint = async () => {
    if (!runDir) return;
    const name = `iter-${trainer.iteration}`;
    await saveCheckpoint(trainer, join(runDir, 'checkpoints', name));
    failpoint('checkpoint-latest', trainer.iteration);
    await writeAtomic(join(runDir, 'checkpoints', 'latest'), name);
  };

  const hasEval = trainer.evalDataset.length > 0 && c.evalEvery > 0;
  live?.show();
  if (hasEval && trainer.iteration === 0 && !trainer.metrics.rows.some((r) => r['iteration'] === 0)) {
    log('evaluating the base model...');
    let ev: MetricsRow;
    try {
      ev = await evaluate();
    } catch (e) {
      if (!signal?.aborted) throw e;
      log('stopping at iteration 0 (aborted during the base-model evaluation)');
      return [];
    }
    const row: MetricsRow = { iteration: 0, ...ev };
    trainer.metrics.append(row);
    await record();
    log(`iter 0 | eval ${fmt(row['eval/accuracy'])}`);
  }
  const start = performance.now();
  const first = trainer.iteration;
  let lastCheckpoint = trainer.iteration;
  const rows: MetricsRow[] = [];
  while (trainer.iteration < opts.iterations) {
    if (signal?.aborted) { log(`stopping at iteration ${trainer.iteration} (aborted)`); break; }
    const last = rows.at(-1);
    if (!live) {
      log(progressLine({
        label: 'iter', done: trainer.iteration - first, total: opts.iterations - first,
        elapsedSec: (performance.now() - start) / 1000, extra: last ? `reward=${fmt(last['reward/mean'])}` : undefined,
      }));
    }
    let row: MetricsRow;
    try {
      row = await trainer.step({ signal });
    } catch (e) {
      if (signal?.aborted) { log(`stopping at iteration ${trainer.iteration} (aborted mid-iteration; its work is discarded)`); break; }
      throw e;
    }
    const skipped = ['policy', 'critic'].map((who) => [who, row[`${who}/skipped_steps`]] as const).filter(([, n]) => typeof n === 'number' && n > 0);
    for (const [who, n] of skipped) log(`warning: iteration ${trainer.iteration}: skipped ${n} ${who} optimizer step(s) with a NaN or Inf loss or gradient (weights and optimizer state unchanged)`);
    let evalAborted = false;
    if (hasEval && (trainer.iteration % c.evalEvery === 0 || trainer.iteration === opts.iterations)) {
      try {
        const ev = await evaluate();
        Object.assign(row, ev);
        trainer.metrics.amendLast(ev);
      } catch (e) {
        if (!signal?.aborted) throw e;
        evalAborted = true; // the iteration itself is complete: keep it (row, rollouts, checkpoint), without its eval
      }
    }
    rows.push(row);
    await record();
    if (runDir && c.saveRollouts && trainer.lastBatch) {
      await trainer.lastBatch.save(join(runDir, 'rollouts', `iter-${trainer.iteration}.arrow`));
      recordedRollouts.push({ iteration: trainer.iteration, samples: trainer.lastBatch.samples().slice(0, 4) });
    }
    if (live) live.update(trainer.iteration - first, metricsLine(row));
    else log(metricsLine(row));
    opts.onIteration?.(row);
    if (evalAborted) { log(`stopping at iteration ${trainer.iteration} (aborted during its evaluation; the iteration is kept without eval)`); break; }
    if (c.checkpointEvery > 0 && trainer.iteration % c.checkpointEvery === 0) {
      await checkpoint();
      lastCheckpoint = trainer.iteration;
      await writeReport();
    }
  }
  if (trainer.iteration !== lastCheckpoint || !(runDir && (await latestCheckpoint(runDir)))) await checkpoint();
  await writeReport();
  return rows;
}
