// Operations on trainers: one `trainer.<name>` per entry of the remote Trainer API (trainer-api.ts), which
// fixes the names, queueing and argument checks; here is what each does in the session, typed to return
// what the Trainer member returns in-process.

import type { Trainer } from '../ppo/trainer.ts';
import { MetricsLog } from '../ppo/metrics-log.ts';
import { ArgumentError } from './args.ts';
import { weightsDigest } from './digest.ts';
import { handleOp, type OpContext, type Operation } from './op.ts';
import type { Entry } from './registry.ts';
import { TRAINER_API, type TrainerServe } from './trainer-api.ts';
import { sessionRun, sessionStep } from './trainer-loop.ts';

/** Experiences from makeExperience() wait here for update(); a few at most, since each holds a batch of arrays. */
const KEEP_EXPERIENCES = 4;
let experienceCounter = 0;

const SERVE: TrainerServe<OpContext, Entry> = {
  info: ({ service }, _a, e, t) => ({
    ...service.info(e), config: t.config, datasetSize: t.dataset.length, evalSize: t.evalDataset.length, reward: e.trainer!.reward,
  }),
  metrics: (_c, _a, _e, t) => new MetricsLog([...t.metrics.rows]),
  lastBatch: (_c, _a, _e, t) => t.lastBatch,
  digest: (_c, _a, _e, t) => weightsDigest(t.policy.weights),

  step: ({ service, call }, _a, e) => sessionStep(service, e, call),
  run: ({ service, call }, a, e) => sessionRun(service, e, call, a.iterations),

  generate: ({ call }, a, _e, t) => t.generate(a.prompts?.map((p) => (typeof p === 'string' ? { prompt: p } : p)), { signal: call.signal }),
  score: (_c, a, _e, t) => t.score(a.batch),
  makeExperience: (_c, a, e, t) => {
    const x = t.makeExperience(a.batch);
    const id = `exp-${++experienceCounter}`;
    const kept = e.trainer!.experiences;
    kept.set(id, x);
    while (kept.size > KEEP_EXPERIENCES) kept.delete(kept.keys().next().value!);
    return { id, ...x }; // the batch as Arrow, every column as its typed array, plus the id update() names
  },
  update: async ({ service }, a, e, t) => {
    const x = e.trainer!.experiences.get(a.experience);
    if (!x) throw new ArgumentError(`trainer.update: argument "experience": ${JSON.stringify(a.experience)} is not a pending experience of ${e.id} (experiences live until used, ${KEEP_EXPERIENCES} at most, and not across restarts)`);
    e.trainer!.experiences.delete(a.experience);
    const stats = await t.update(x);
    e.trainer!.dirty = true;
    await service.workers?.weightsChanged(e.queueKey);
    return stats;
  },
  evaluate: ({ call }, a, _e, t) => t.evaluate({ limit: a.limit, signal: call.signal }),
  checkpoint: async ({ service }, _a, e, t) => ({ iteration: t.iteration, dir: await service.checkpoint(e) }),
};

function trainerOperation<K extends keyof typeof TRAINER_API>(name: K): Operation {
  const api = TRAINER_API[name];
  const serve = SERVE[name] as (c: OpContext, a: unknown, e: Entry, t: Trainer) => unknown;
  return handleOp('trainer', { queued: api.queued }, api.args, (c, a, e) => serve(c, a, e, e.object as Trainer));
}

export const TRAINER_OPERATIONS: Record<string, Operation> = Object.fromEntries(
  (Object.keys(TRAINER_API) as (keyof typeof TRAINER_API)[]).map((name) => [`trainer.${name}`, trainerOperation(name)]),
);
