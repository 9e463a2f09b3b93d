// How a client reaches a session: over zeromq (zmq-transport.ts) or directly in this process
// (inprocess-transport.ts). Both carry values through the same codec, so results look the same either way.

import type { RolloutBatch } from '../rollout/rollout-batch.ts';

export interface CallOptions {
  /** Aborting sends a cancel request; the session aborts the call's own AbortSignal. */
  signal?: AbortSignal;
  /** Progress the session streams for this call (kind: "iteration", "log", "generate"). */
  onProgress?: (kind: string, data: unknown) => void;
}

/** Scores rollouts for a trainer whose reward lives in this client (controller rewards). */
export type Scorer = (handle: string, batch: RolloutBatch) => Promise<number[]>;

export type EventListener = (event: string, data: unknown) => void;

export interface Transport {
  call(op: string, handle: string | null, args: object, opts?: CallOptions): Promise<unknown>;
  onEvent(fn: EventListener): void;
  setScorer(fn: Scorer): void;
  close(): Promise<void>;
}

let counter = 0;
export function newCallId(): string {
  return `${process.pid}-${Date.now().toString(36)}-${(++counter).toString(36)}`;
}
