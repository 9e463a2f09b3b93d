// The fixed table of operations a request may name, by handle kind.

import type { Operation } from './op.ts';
import { SESSION_OPERATIONS } from './ops-session.ts';
import { OBJECT_OPERATIONS } from './ops-objects.ts';
import { TRAINER_OPERATIONS } from './ops-trainer.ts';
import { WORKER_OPERATIONS } from './workers/ops-workers.ts';

export const OPERATIONS: Readonly<Record<string, Operation>> = Object.freeze({
  ...SESSION_OPERATIONS,
  ...OBJECT_OPERATIONS,
  ...TRAINER_OPERATIONS,
  ...WORKER_OPERATIONS,
});
