// Operations on the session's rollout workers: list them, with the digest of each worker's policy weights on
// request (equal to the trainer's digest once a broadcast has arrived).

import { bool, optional } from '../args.ts';
import { sessionOp, type Operation } from '../op.ts';

export const WORKER_OPERATIONS: Record<string, Operation> = {
  'session.workers': sessionOp({ digests: optional(bool()) }, ({ service }, a) => {
    if (!service.workers) return [];
    return a.digests ? service.workers.infosWithDigests() : service.workers.infos();
  }),
};
