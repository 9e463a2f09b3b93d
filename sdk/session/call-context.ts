// What an operation knows about the call it serves: who asked, how to stream progress back to them, how to
// ask them to score rollouts (controller rewards), and the signal that a cancel request aborts.

import type { RolloutBatch } from '../rollout/rollout-batch.ts';

/** The way back to the client of one call; provided by the transport (zeromq or in-process). */
export interface ClientLink {
  /** Stable id of the client connection (ROUTER identity in hex, or "in-process"). */
  readonly client: string;
  progress(callId: string, kind: string, data: unknown): void;
  /** Sends rollouts to the client, which runs the user's RewardFn and answers with one reward per sample. */
  score(callId: string, handle: string, batch: RolloutBatch, signal: AbortSignal): Promise<number[]>;
}

export interface CallContext {
  readonly callId: string;
  readonly op: string;
  readonly handle: string | null;
  readonly client: string;
  readonly started: number;
  readonly signal: AbortSignal;
  progress(kind: string, data: unknown): void;
  score(handle: string, batch: RolloutBatch): Promise<number[]>;
}

export function callContext(link: ClientLink, callId: string, op: string, handle: string | null, signal: AbortSignal): CallContext {
  return {
    callId, op, handle, signal, client: link.client, started: Date.now(),
    progress: (kind, data) => link.progress(callId, kind, data),
    score: (h, batch) => link.score(callId, h, batch, signal),
  };
}
