// Errors across the wire: a session-side error travels as {name, message, code?, ...details} and is rebuilt
// on the client as the closest local class (RewardError keeps its sample index), else a SessionError.

import { RewardError, type Sample } from '../reward/index.ts';

export interface WireErrorInfo {
  name: string;
  message: string;
  /** Protocol-level reason: unauthenticated, malformed, too_large, replay, protocol, unknown_op, no_handle, busy, shutting_down, disconnected. */
  code?: string;
  sampleIndex?: number;
  sample?: Partial<Sample>;
}

export class SessionError extends Error {
  constructor(message: string, readonly code: string | undefined = undefined, readonly remoteName: string | undefined = undefined) {
    super(message);
    this.name = 'SessionError';
  }
}

/** The innermost RewardError in a cause chain: the one that names the user's sample. */
function innermostRewardError(e: unknown): RewardError | null {
  let found: RewardError | null = null;
  for (let cur = e, n = 0; cur instanceof Error && n < 8; cur = (cur as Error).cause, n++) if (cur instanceof RewardError) found = cur;
  return found;
}

export function errorToWire(e: unknown, code?: string): WireErrorInfo {
  const err = e instanceof Error ? e : new Error(String(e));
  const out: WireErrorInfo = { name: err.name || 'Error', message: err.message };
  const c = code ?? (err as { code?: unknown }).code;
  if (typeof c === 'string') out.code = c;
  const reward = innermostRewardError(err);
  if (reward) {
    out.name = 'RewardError';
    out.sampleIndex = reward.sampleIndex;
    const s = reward.sample ?? {};
    out.sample = { prompt: s.prompt, response: s.response, groundTruth: s.groundTruth, finishReason: s.finishReason };
  }
  return out;
}

export function errorFromWire(info: unknown): Error {
  if (typeof info !== 'object' || info === null) return new SessionError(`session error (unreadable details: ${JSON.stringify(info)})`);
  const i = info as Partial<WireErrorInfo>;
  const message = typeof i.message === 'string' ? i.message : 'session error';
  if (i.name === 'RewardError') {
    const sample = { prompt: '', response: '', groundTruth: '', finishReason: 'stop', ...(i.sample ?? {}) } as Sample;
    return new RewardError(message, typeof i.sampleIndex === 'number' ? i.sampleIndex : 0, sample);
  }
  const e = new SessionError(message, typeof i.code === 'string' ? i.code : undefined, typeof i.name === 'string' ? i.name : undefined);
  if (typeof i.name === 'string' && i.name !== 'Error') e.name = i.name === 'SessionError' ? 'SessionError' : `${i.name}`;
  return e;
}
