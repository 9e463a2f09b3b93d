// Operations on trainers: the in-process Trainer's methods by name, each returning what the method returns
// (RolloutBatch, metrics rows, MetricsLog), plus checkpoint and a weights digest.

import type { Trainer, Experience } from '../ppo/trainer.ts';
import { MetricsLog } from '../ppo/metrics-log.ts';
import { ArgumentError, arrayOf, int, optional, rollouts, str } from './args.ts';
import { weightsDigest } from './digest.ts';
import { handleOp, type Operation } from './op.ts';
import { promptInput } from './ops-objects.ts';
import type { Entry } from './registry.ts';
import { sessionRun, sessionStep } from './trainer-loop.ts';

const trainerOf = (e: Entry) => e.object as Trainer;

/** Experiences from makeExperience() wait here for update(); a few at most, since each holds a batch of arrays. */
const KEEP_EXPERIENCES = 4;
let experienceCounter = 0;

/** An Experience as it travels: the batch as Arrow, every column as its typed array, plus the id update() names. */
function experienceToWire(id: string, x: Experience) {
  return { id, ...x };
}

export const TRAINER_OPERATIONS: Record<string, Operation> = {
  'trainer.info': handleOp('trainer', { queued: false }, {}, ({ service }, _a, e) => {
    const t = trainerOf(e);
    return { ...service.info(e), config: t.config, datasetSize: t.dataset.length, evalSize: t.evalDataset.length, reward: e.trainer!.reward };
  }),
  'trainer.metrics': handleOp('trainer', { queued: false }, {}, (_c, _a, e) => new MetricsLog([...trainerOf(e).metrics.rows])),
  'trainer.lastBatch': handleOp('trainer', { queued: false }, {}, (_c, _a, e) => trainerOf(e).lastBatch),
  'trainer.digest': handleOp('trainer', { queued: false }, {}, (_c, _a, e) => weightsDigest(trainerOf(e).policy.weights)),

  'trainer.step': handleOp('trainer', { queued: true }, {}, ({ service, call }, _a, e) => sessionStep(service, e, call)),
  'trainer.run': handleOp('trainer', { queued: true }, { iterations: int({ min: 0 }) }, ({ service, call }, a, e) =>
    sessionRun(service, e, call, a.iterations)),

  'trainer.generate': handleOp('trainer', { queued: true }, { prompts: optional(arrayOf(promptInput(), { max: 1 << 16 })) }, ({ call }, a, e) => {
    const prompts = a.prompts?.map((p) => (typeof p === 'string' ? { prompt: p } : p));
    return trainerOf(e).generate(prompts, { signal: call.signal });
  }),
  'trainer.score': handleOp('trainer', { queued: true }, { batch: rollouts() }, (_c, a, e) => trainerOf(e).score(a.batch)),
  'trainer.makeExperience': handleOp('trainer', { queued: true }, { batch: rollouts() }, (_c, a, e) => {
    const x = trainerOf(e).makeExperience(a.batch);
    const id = `exp-${++experienceCounter}`;
    const kept = e.trainer!.experiences;
    kept.set(id, x);
    while (kept.size > KEEP_EXPERIENCES) kept.delete(kept.keys().next().value!);
    return experienceToWire(id, x);
  }),
  'trainer.update': handleOp('trainer', { queued: true }, { experience: str({ maxLength: 64 }) }, async ({ service }, a, e) => {
    const x = e.trainer!.experiences.get(a.experience);
    if (!x) throw new ArgumentError(`trainer.update: argument "experience": ${JSON.stringify(a.experience)} is not a pending experience of ${e.id} (experiences live until used, ${KEEP_EXPERIENCES} at most, and not across restarts)`);
    e.trainer!.experiences.delete(a.experience);
    const stats = await trainerOf(e).update(x);
    e.trainer!.dirty = true;
    await service.workers?.weightsChanged(e.queueKey);
    return stats;
  }),
  'trainer.evaluate': handleOp('trainer', { queued: true }, { limit: optional(int({ min: 1 })) }, ({ call }, a, e) =>
    trainerOf(e).evaluate({ limit: a.limit, signal: call.signal })),
  'trainer.checkpoint': handleOp('trainer', { queued: true }, {}, async ({ service }, _a, e) => ({
    iteration: trainerOf(e).iteration, dir: await service.checkpoint(e),
  })),
};
