// Trainer.run(): iterations with a live progress line, periodic evaluation, checkpoints, the run
// directory (metrics, rollouts, report) and a clean stop at an iteration boundary on abort.
// An abort during an iteration's evaluation keeps the finished iteration (without its eval columns); a stop
// request (LoopOptions.stop) lets the iteration in progress finish, evaluation included, and checkpoints it.
// Inside a notebook kernel that provides an ambient host (sdk/util/ambient.ts), the cell's interrupt is the
// default abort signal, and a progress bar and a live training chart replace the stderr progress lines.
// What is written when, and what a failure leaves behind: recorder.ts; when checkpoints are written
// and which are kept: checkpoint-policy.ts; continuing a run: resume.ts.
//
//   runs/<name>/config.json          what was run (written when the run starts, never by a resume)
//   runs/<name>/config-changes.jsonl what resumes changed in it (config-changes.ts)
//   runs/<name>/metrics.jsonl|arrow  one row per iteration (+ an iteration-0 eval row)
//   runs/<name>/rollouts/iter-N.arrow
//   runs/<name>/checkpoints/iter-N/  and checkpoints/latest (the name of the newest, for people: resume scans
//                                    for complete iter-N directories instead, see resumeFrom)
//   runs/<name>/report.html

import type { MetricsRow } from '../ppo/metrics-log.ts';
import { METRIC } from '../ppo/metric-names.ts';
import type { RunOptions } from '../ppo/run-options.ts';
import type { Trainer } from '../ppo/trainer.ts';
import { progressLine } from '../viz/index.ts';
import { RunDisplay } from './run-display.ts';
import { ambientHost } from '../util/ambient.ts';
import { interruptPoint } from '../util/failpoint.ts';
import { RunRecorder, type RunHooks } from './recorder.ts';
import { evalSetsOf, evalSetsRow } from './eval-sets.ts';
import { claimRunDir, describeRunDir, holdsRun, inspectRunDir, ownsRunDir, removeRunFiles } from './run-dir.ts';

export { latestCheckpoint, resumeFrom } from './resume.ts';
export type { RunOptions } from '../ppo/run-options.ts';
export type { RunHooks } from './recorder.ts';

/** RunOptions plus what an entry point adds to the loop (a session: its checkpoint period, persistence and events). */
export interface LoopOptions extends RunOptions {
  hooks?: RunHooks;
  /** Told what the loop starts on next (`orz train` names the work a second Ctrl-C loses). */
  onPhase?: (phase: LoopPhase) => void;
}

/** What the loop is doing: evaluating the base model, running iteration N, evaluating it, or ending the run. */
export type LoopPhase = { kind: 'base-eval' } | { kind: 'iteration' | 'eval'; iteration: number } | { kind: 'finish' };

export function describePhase(p: LoopPhase): string {
  if (p.kind === 'base-eval') return 'the base-model evaluation';
  if (p.kind === 'iteration') return `iteration ${p.iteration}`;
  if (p.kind === 'eval') return `the evaluation of iteration ${p.iteration}`;
  return 'the final checkpoint and report';
}

/**
 * The eval columns of a metrics row (the same names in `orz train` runs and sessions, so reports and charts read
 * both): eval/accuracy... for the trainer's eval dataset, eval/<name>/... for each of its eval sets (eval-sets.ts).
 */
export async function evalRow(trainer: Trainer, signal?: AbortSignal): Promise<MetricsRow> {
  const t = performance.now();
  const row: MetricsRow = {};
  if (trainer.evalDataset.length > 0) {
    const ev = await trainer.evaluate({ signal });
    row[METRIC.evalAccuracy] = ev.accuracy;
    row[METRIC.evalResponseLength] = ev.responseLength;
    row[METRIC.evalTruncatedFraction] = ev.truncatedFraction;
    for (const [level, acc] of Object.entries(ev.byLevel)) row[`${METRIC.evalAccuracyLevelPrefix}${level}`] = acc;
  }
  const sets = evalSetsOf(trainer);
  if (sets) Object.assign(row, await evalSetsRow(trainer, sets, signal));
  row[METRIC.evalTime] = (performance.now() - t) / 1000;
  return row;
}

function fmt(x: unknown, digits = 3): string {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : '-';
}

/** "eval 0.912" for the eval dataset, "math500 mean@4 0.250" for each eval set (its eval/<name>/mean@n column). */
function evalParts(row: MetricsRow): string[] {
  const parts = row[METRIC.evalAccuracy] !== undefined ? [`eval ${fmt(row[METRIC.evalAccuracy])}`] : [];
  for (const [key, v] of Object.entries(row)) {
    const m = /^eval\/([^/]+)\/(mean@\d+)$/.exec(key);
    if (m) parts.push(`${m[1]} ${m[2]} ${fmt(v)}`);
  }
  return parts;
}

/** The compact per-iteration line printed under the progress bar. */
export function metricsLine(row: MetricsRow): string {
  const parts = [
    `iter ${row[METRIC.iteration]}`,
    `reward ${fmt(row[METRIC.rewardMean])}`,
    `len ${fmt(row[METRIC.responseLengthMean], 1)}`,
    `pass@n ${fmt(row[METRIC.passAtN], 2)}`,
  ];
  parts.push(...evalParts(row));
  if (row[METRIC.policyClipFraction] !== undefined) parts.push(`clip ${fmt(row[METRIC.policyClipFraction])}`);
  if (row[METRIC.policyEntropy] !== undefined) parts.push(`ent ${fmt(row[METRIC.policyEntropy])}`);
  if (row[METRIC.criticLoss] !== undefined) parts.push(`vloss ${fmt(row[METRIC.criticLoss], 4)}`);
  if (row[METRIC.genTokensPerSec] !== undefined) parts.push(`gen ${fmt(row[METRIC.genTokensPerSec], 0)} tok/s`);
  if (row[METRIC.iterationTime] !== undefined) parts.push(`${fmt(row[METRIC.iterationTime], 1)} s`);
  return parts.join(' | ');
}

/** The loop of trainer.run(), `orz train` and a session's trainer.run (see RunOptions). */
export async function runTrainer(trainer: Trainer, opts: LoopOptions): Promise<MetricsRow[]> {
  const host = ambientHost(); // read once: a later cell may install another host while this run goes on
  const signal = opts.signal ?? host?.signal;
  const stderrLine = (l: string) => process.stderr.write(`${l}\n`);
  const live = opts.log === undefined && host?.display
    ? new RunDisplay(host.display.bind(host), {
      total: opts.iterations,
      start: Math.min(trainer.iteration, opts.iterations),
      rows: () => trainer.metrics.rows,
      onError: (err) => stderrLine(`Trainer.run: live display failed, continuing without it: ${err.message}`),
    })
    : null;
  // With a live display, messages become the status line under the bar instead of stderr lines.
  const log = opts.log === null ? () => {} : live ? (l: string) => live.update(undefined, l) : (opts.log ?? stderrLine);
  try {
    const recorder = opts.runDir ? await openRunDir(trainer, opts, log) : null;
    return await runLoop(trainer, opts, { signal, log, live, recorder, hooks: opts.hooks ?? {} });
  } catch (err) {
    live?.update(undefined, `stopped by an error: ${(err as Error)?.message ?? String(err)}`);
    throw err;
  } finally {
    live?.finish();
  }
}

/** Checks that runDir is this trainer's to write (see RunOptions.overwrite), then lays it out. */
async function openRunDir(trainer: Trainer, opts: LoopOptions, log: (line: string) => void): Promise<RunRecorder> {
  const runDir = opts.runDir!;
  const continuing = ownsRunDir(trainer, runDir); // resumed from it, or run in it before: its config.json stays
  if (!continuing) {
    const found = await inspectRunDir(runDir);
    if (holdsRun(found) && !opts.overwrite) {
      throw new Error(`Trainer.run: ${runDir} already holds a run (${describeRunDir(found)}); pass overwrite: true to replace it, ` +
        'or call resumeFrom(trainer, runDir) first to continue it');
    }
    if (holdsRun(found)) {
      await removeRunFiles(runDir);
      log(`overwrite: removed the previous run in ${runDir} (${describeRunDir(found)})`);
    }
    claimRunDir(trainer, runDir);
  }
  const recorder = new RunRecorder(trainer, runDir, {
    runConfig: opts.runConfig ?? {}, name: (opts.runConfig as { name?: string } | undefined)?.name, log, hooks: opts.hooks ?? {},
    keepConfig: continuing,
  });
  await recorder.start();
  return recorder;
}

/**
 * One iteration as trainer.step() runs it (no evaluation), recorded in `opts.runDir` like an iteration of
 * run(): metrics and rollouts, a checkpoint when due, then hooks.afterIteration. A session's trainer.step.
 */
export async function stepTrainer(trainer: Trainer, opts: Omit<LoopOptions, 'iterations' | 'onIteration'> & { runDir: string }): Promise<MetricsRow & { iteration: number }> {
  const log = opts.log === null ? () => {} : (opts.log ?? ((l: string) => process.stderr.write(`${l}\n`)));
  const recorder = await openRunDir(trainer, { ...opts, iterations: trainer.iteration + 1 }, log);
  try {
    await recorder.checkpointStart();
    const t = performance.now();
    const row = await trainer.step({ signal: opts.signal });
    await recorder.recordIteration();
    warnSkippedSteps(trainer, row, log);
    const checkpointed = await recorder.afterIteration((performance.now() - t) / 1000);
    await opts.hooks?.afterIteration?.(row, { checkpointed });
    return row;
  } catch (e) {
    await recorder.afterFailure();
    throw e;
  }
}

interface LoopContext {
  signal: AbortSignal | undefined;
  log: (line: string) => void;
  live: RunDisplay | null;
  recorder: RunRecorder | null;
  hooks: RunHooks;
}

async function runLoop(trainer: Trainer, opts: LoopOptions, ctx: LoopContext): Promise<MetricsRow[]> {
  const { recorder } = ctx;
  const rows: MetricsRow[] = [];
  ctx.live?.show();
  try {
    if (!(await baseEvaluation(trainer, opts, ctx))) return rows;
    await recorder?.checkpointStart();
    await iterations(trainer, opts, ctx, rows);
  } catch (e) {
    await trainer.discardPrefetch('the run failed');
    await recorder?.afterFailure();
    throw e;
  }
  // a stop or an abort leaves the next iteration's prefetched generation unconsumed: stop it, its prompts are not spent
  await trainer.discardPrefetch('the run stopped');
  opts.onPhase?.({ kind: 'finish' });
  await recorder?.finish();
  return rows;
}

function hasEval(trainer: Trainer): boolean {
  return (trainer.evalDataset.length > 0 || evalSetsOf(trainer) !== undefined) && trainer.config.evalEvery > 0;
}

/** The iteration-0 eval row of a fresh run; false when an abort stopped it (the run then ends). */
async function baseEvaluation(trainer: Trainer, opts: LoopOptions, { signal, log, recorder }: LoopContext): Promise<boolean> {
  if (!hasEval(trainer) || trainer.iteration !== 0 || trainer.metrics.rows.some((r) => r[METRIC.iteration] === 0)) return true;
  opts.onPhase?.({ kind: 'base-eval' });
  log('evaluating the base model...');
  let ev: MetricsRow;
  try {
    await interruptPoint('evaluate', 0);
    ev = await evalRow(trainer, signal);
  } catch (e) {
    if (!signal?.aborted) throw e;
    log('stopping at iteration 0 (aborted during the base-model evaluation)');
    return false;
  }
  const row: MetricsRow = { iteration: 0, ...ev };
  trainer.metrics.append(row);
  await recorder?.recordMetrics();
  log(['iter 0', ...evalParts(row)].join(' | '));
  return true;
}

function warnSkippedSteps(trainer: Trainer, row: MetricsRow, log: (line: string) => void): void {
  const skipped = ([['policy', METRIC.policySkippedSteps], ['critic', METRIC.criticSkippedSteps]] as const).map(([who, name]) => [who, row[name]] as const).filter(([, n]) => typeof n === 'number' && n > 0);
  for (const [who, n] of skipped) log(`warning: iteration ${trainer.iteration}: skipped ${n} ${who} optimizer step(s) with a NaN or Inf loss or gradient (weights and optimizer state unchanged)`);
  const prompts = trainer.lastBatch?.skipped ?? [];
  if (prompts.length > 0) {
    const first = prompts[0]!;
    log(`warning: iteration ${trainer.iteration}: skipped ${prompts.length} prompt(s) with no room for a response under the ${first.limit}-position context (first: prompt ${first.promptIndex} of the batch, ${first.promptTokens} tokens); they have no samples and teach nothing`);
  }
}

async function iterations(trainer: Trainer, opts: LoopOptions, { signal, log, live, recorder, hooks }: LoopContext, rows: MetricsRow[]): Promise<void> {
  const c = trainer.config;
  const start = performance.now();
  const first = Math.min(trainer.iteration, opts.iterations);
  while (trainer.iteration < opts.iterations) {
    if (signal?.aborted) { log(`stopping at iteration ${trainer.iteration} (aborted)`); break; }
    if (opts.stop?.aborted) { log(`stopping at iteration ${trainer.iteration} (asked to stop; it is finished and gets a checkpoint)`); break; }
    const last = rows.at(-1);
    if (!live) {
      // absolute iteration numbers (a resumed run starts at its checkpoint); the pace counts this run's iterations only
      log(progressLine({
        label: 'iter', done: trainer.iteration, total: opts.iterations, start: first,
        elapsedSec: (performance.now() - start) / 1000, extra: last ? `reward=${fmt(last[METRIC.rewardMean])}` : undefined,
      }));
    }
    const iterationStart = performance.now();
    opts.onPhase?.({ kind: 'iteration', iteration: trainer.iteration + 1 });
    let row: MetricsRow & { iteration: number };
    try {
      // asyncRollouts on workers: the next iteration generates during this update, unless this is the last
      row = await trainer.step({ signal, prefetchNext: trainer.iteration + 1 < opts.iterations && !opts.stop?.aborted });
    } catch (e) {
      if (signal?.aborted) { log(`stopping at iteration ${trainer.iteration} (aborted mid-iteration; its work is discarded)`); break; }
      throw e;
    }
    await recorder?.recordIteration(); // the finished iteration is on disk before its evaluation can fail
    warnSkippedSteps(trainer, row, log);
    let evalAborted = false;
    if (hasEval(trainer) && (trainer.iteration % c.evalEvery === 0 || trainer.iteration === opts.iterations)) {
      try {
        opts.onPhase?.({ kind: 'eval', iteration: trainer.iteration });
        await interruptPoint('evaluate', trainer.iteration);
        const ev = await evalRow(trainer, signal);
        Object.assign(row, ev);
        trainer.metrics.amendLast(ev);
        await recorder?.recordMetrics();
      } catch (e) {
        if (!signal?.aborted) throw e;
        evalAborted = true; // the iteration itself is complete: keep it (row, rollouts, checkpoint), without its eval
      }
    }
    rows.push(row);
    if (live) live.update(trainer.iteration, metricsLine(row));
    else log(metricsLine(row));
    opts.onIteration?.(row);
    // an abort during the evaluation ends the run: the finished iteration is checkpointed now, whatever the policy
    const iterationSec = (performance.now() - iterationStart) / 1000;
    const checkpointed = recorder ? await (evalAborted ? recorder.checkpointNow() : recorder.afterIteration(iterationSec)) : false;
    await hooks.afterIteration?.(row, { checkpointed });
    if (evalAborted) { log(`stopping at iteration ${trainer.iteration} (aborted during its evaluation; the iteration is kept without eval)`); break; }
  }
}
