// The shape of one operation in the fixed table: the handle kind it applies to (or the session itself), whether
// it waits in the per-weights queue, its argument spec, and the code that runs it. A request can only name an
// operation from the table; nothing else on the wire selects code.

import type { ArgsOf, Spec } from './args.ts';
import type { CallContext } from './call-context.ts';
import type { Entry, HandleKind } from './registry.ts';
import type { OpService } from './service-types.ts';

export interface OpContext { service: OpService; call: CallContext }

export interface Operation {
  kind: HandleKind | 'session';
  /** Queued operations change or compute with shared weights and run one at a time per model. */
  queued: boolean;
  spec: Spec;
  run(c: OpContext, args: Record<string, unknown>, entry: Entry): unknown;
}

export function sessionOp<S extends Spec>(spec: S, run: (c: OpContext, args: ArgsOf<S>) => unknown): Operation {
  return { kind: 'session', queued: false, spec, run: (c, a) => run(c, a as ArgsOf<S>) };
}

export function handleOp<S extends Spec>(kind: HandleKind, opts: { queued: boolean }, spec: S, run: (c: OpContext, args: ArgsOf<S>, entry: Entry) => unknown): Operation {
  return { kind, queued: opts.queued, spec, run: (c, a, e) => run(c, a as ArgsOf<S>, e) };
}
