// Trainer.step and Trainer.run as the session runs them: the same iterations as in-process, plus the session's
// bookkeeping after each one (persist, checkpoint every K, progress to the caller, an event to the watchers).
// The session runs its own loop instead of runTrainer() because the iteration event must follow the
// checkpoint, and the checkpoint period is the session's (--checkpoint-every), not the trainer config's.

import type { MetricsRow } from '../ppo/metrics-log.ts';
import type { Trainer } from '../ppo/trainer.ts';
import { metricsLine } from '../run/loop.ts';
import type { CallContext } from './call-context.ts';
import type { Entry } from './registry.ts';
import type { OpService } from './service-types.ts';
import { evalRow } from '../run/loop.ts';

/**
 * One iteration. A failed iteration (e.g. a RewardError from the controller's reward) gives its prompts back
 * (Trainer.step restores the data cursor), so retrying it draws the same prompts with the same seeds.
 */
export function stepOnce(trainer: Trainer, signal: AbortSignal): Promise<MetricsRow & { iteration: number }> {
  return trainer.step({ signal });
}

export async function sessionStep(service: OpService, entry: Entry, ctx: CallContext): Promise<MetricsRow & { iteration: number }> {
  const row = await stepOnce(entry.object as Trainer, ctx.signal);
  await service.afterIteration(entry, row, ctx);
  return row;
}

/** Loops up to `iterations` completed iterations; an abort stops it at an iteration boundary, like Trainer.run. */
export async function sessionRun(service: OpService, entry: Entry, ctx: CallContext, iterations: number): Promise<MetricsRow[]> {
  const trainer = entry.object as Trainer;
  const c = trainer.config;
  const log = (line: string) => {
    ctx.progress('log', line);
    service.emit('log', { handle: entry.id, name: entry.name, line });
  };
  const hasEval = trainer.evalDataset.length > 0 && c.evalEvery > 0;
  if (hasEval && trainer.iteration === 0 && !trainer.metrics.rows.some((r) => r['iteration'] === 0)) {
    log('evaluating the base model...');
    const row: MetricsRow = { iteration: 0, ...(await evalRow(trainer, ctx.signal)) };
    trainer.metrics.append(row);
    await trainer.metrics.save(entry.trainer!.dir);
    log(metricsLine(row));
  }
  const rows: MetricsRow[] = [];
  while (trainer.iteration < iterations) {
    if (ctx.signal.aborted) { log(`stopping at iteration ${trainer.iteration} (cancelled)`); break; }
    let row: MetricsRow;
    try {
      row = await stepOnce(trainer, ctx.signal);
    } catch (e) {
      if (ctx.signal.aborted) { log(`stopping at iteration ${trainer.iteration} (cancelled mid-iteration; its work is discarded)`); break; }
      throw e;
    }
    let evalCancelled = false;
    if (hasEval && (trainer.iteration % c.evalEvery === 0 || trainer.iteration === iterations)) {
      try {
        const ev = await evalRow(trainer, ctx.signal);
        Object.assign(row, ev);
        trainer.metrics.amendLast(ev);
      } catch (e) {
        if (!ctx.signal.aborted) throw e;
        evalCancelled = true; // the iteration itself is complete: keep it, without its eval
      }
    }
    rows.push(row);
    await service.afterIteration(entry, row, ctx);
    log(metricsLine(row));
    if (evalCancelled) { log(`stopping at iteration ${trainer.iteration} (cancelled during evaluation)`); break; }
  }
  if (trainer.iteration !== entry.trainer!.lastCheckpoint && trainer.iteration > 0) await service.checkpoint(entry);
  return rows;
}
