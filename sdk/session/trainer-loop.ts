// Trainer.step and Trainer.run as the session runs them: the run layer's loop (sdk/run/loop.ts), the same as
// `orz train` and trainer.run(), in the trainer's run directory inside the session, with the session's
// bookkeeping as hooks: its checkpoint period (--checkpoint-every, else the trainer config's policy), its
// record of the newest checkpoint, and after each iteration (once it is on disk and checkpointed when due)
// the progress to the caller and the event to the watchers, so an iteration a client has seen survives a kill.

import type { MetricsRow } from '../ppo/metrics-log.ts';
import type { Trainer } from '../ppo/trainer.ts';
import { runTrainer, stepTrainer, type LoopOptions } from '../run/loop.ts';
import type { CallContext } from './call-context.ts';
import type { Entry } from './registry.ts';
import type { OpService } from './service-types.ts';

function loopOptions(service: OpService, entry: Entry, ctx: CallContext): Omit<LoopOptions, 'iterations'> & { runDir: string } {
  return {
    runDir: entry.trainer!.dir,
    signal: ctx.signal,
    log: (line) => {
      ctx.progress('log', line);
      service.emit('log', { handle: entry.id, name: entry.name, line });
    },
    hooks: {
      checkpointDue: service.checkpointDue(),
      onCheckpoint: (iteration) => service.checkpointed(entry, iteration),
      afterIteration: (row, { checkpointed }) => service.afterIteration(entry, row, ctx, checkpointed),
    },
  };
}

/**
 * One iteration. A failed iteration (e.g. a RewardError from the controller's reward) gives its prompts back
 * (Trainer.step restores the data cursor), so retrying it draws the same prompts with the same seeds.
 */
export function sessionStep(service: OpService, entry: Entry, ctx: CallContext): Promise<MetricsRow & { iteration: number }> {
  return stepTrainer(entry.object as Trainer, loopOptions(service, entry, ctx));
}

/** Loops up to `iterations` completed iterations; an abort stops it at an iteration boundary, like Trainer.run. */
export function sessionRun(service: OpService, entry: Entry, ctx: CallContext, iterations: number): Promise<MetricsRow[]> {
  return runTrainer(entry.object as Trainer, { ...loopOptions(service, entry, ctx), iterations });
}
