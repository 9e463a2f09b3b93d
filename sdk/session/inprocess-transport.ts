// A session in this very process (Session.local({inProcess: true})): the same SessionService, called directly.
// Arguments and results still go through the codec, so an in-process handle returns fresh copies exactly like a
// remote one, and code written against one works against the other.

import { decodeValue, encodeValue } from './codec.ts';
import type { ClientLink } from './call-context.ts';
import type { SessionService } from './service.ts';
import { newCallId, type CallOptions, type EventListener, type Scorer, type Transport } from './transport.ts';
import { SessionError } from './errors.ts';

export const IN_PROCESS_CLIENT = 'in-process';

const copy = (v: unknown, where: string) => {
  const { json, buffers } = encodeValue(v);
  return decodeValue(json, buffers, where);
};

export class InProcessTransport implements Transport {
  readonly #listeners: EventListener[] = [];
  readonly #progress = new Map<string, CallOptions['onProgress']>();
  #scorer: Scorer | null = null;
  #service: SessionService | null = null;
  #closed = false;

  attach(service: SessionService): void {
    this.#service = service;
  }

  /** The service's event sink (given to SessionService.open before this transport has the service). */
  readonly emit = (event: string, data: unknown): void => {
    for (const fn of this.#listeners) {
      try {
        fn(event, copy(data, `event ${event}`));
      } catch {
        // a listener's error is its own
      }
    }
  };

  readonly #link: ClientLink = {
    client: IN_PROCESS_CLIENT,
    progress: (callId, kind, data) => this.#progress.get(callId)?.(kind, copy(data, 'progress')),
    score: async (_callId, handle, batch) => {
      if (!this.#scorer) throw new Error('no reward functions in this client');
      return this.#scorer(handle, batch);
    },
  };

  async call(op: string, handle: string | null, args: object, opts: CallOptions = {}): Promise<unknown> {
    const service = this.#service;
    if (!service || this.#closed) throw new SessionError('the in-process session is closed', 'closed');
    const callId = newCallId();
    const onAbort = () => service.cancel(callId, IN_PROCESS_CLIENT);
    if (opts.onProgress) this.#progress.set(callId, opts.onProgress);
    try {
      const pending = service.call(this.#link, callId, op, handle, copy(args, 'arguments'));
      if (opts.signal?.aborted) onAbort();
      else opts.signal?.addEventListener('abort', onAbort, { once: true });
      return copy(await pending, 'reply');
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      this.#progress.delete(callId);
    }
  }

  onEvent(fn: EventListener): void {
    this.#listeners.push(fn);
  }

  setScorer(fn: Scorer): void {
    this.#scorer = fn;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
