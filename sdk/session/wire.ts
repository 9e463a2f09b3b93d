// The session wire format. One message = zeromq frames
//
//   [identity (ROUTER side only)] "orz-session/1"  signature  header  payload  buffer...
//
// header and payload are JSON; buffers carry Arrow IPC tables and raw tensor bytes (see codec.ts).
// Authentication is HMAC-SHA256 with the session key over every frame after the signature. Why HMAC and not
// ZeroMQ CURVE: it needs no keypair management and fits the same connection-file model as Jupyter (one secret
// in a 0600 file). It authenticates, it does not encrypt: sessions bind to loopback by default, and remote use
// goes through an SSH tunnel. Each frame enters the MAC with its length, so bytes cannot be moved between
// frames (say from payload to header) without breaking the signature. The header's id and time defeat replays:
// a message older than the window, or an id seen within it, is rejected.

import { randomBytes } from 'node:crypto';
import { FrameMac } from '../util/frame-mac.ts';

export const PROTOCOL = 'orz-session/1';
const PROTOCOL_BYTES = Buffer.from(PROTOCOL);

export type MessageType = 'request' | 'cancel' | 'score_reply' | 'reply' | 'progress' | 'score_request' | 'event';
const TYPES = new Set<string>(['request', 'cancel', 'score_reply', 'reply', 'progress', 'score_request', 'event']);

export interface Header { id: string; type: MessageType; time: number }

export interface WireMessage {
  header: Header;
  payload: Record<string, unknown>;
  buffers: Buffer[];
}

export type WireErrorCode = 'protocol' | 'malformed' | 'unauthenticated' | 'replay' | 'too_large';

/** A frame sequence that is not a valid, correctly signed, fresh message. */
export class WireError extends Error {
  constructor(readonly code: WireErrorCode, message: string, readonly callId: string | null = null) {
    super(message);
    this.name = 'WireError';
  }
}

export const MIN_KEY_LENGTH = 16;

export class Signer {
  readonly #mac: FrameMac;

  constructor(key: string) {
    if (typeof key !== 'string' || key.length < MIN_KEY_LENGTH) throw new Error(`session key must be a string of at least ${MIN_KEY_LENGTH} characters`);
    this.#mac = new FrameMac(key, { lengthPrefixed: true });
  }

  static newKey(): string {
    return randomBytes(32).toString('hex');
  }

  sign(frames: readonly Uint8Array[]): string {
    return this.#mac.sign(frames);
  }

  verify(signature: Uint8Array, frames: readonly Uint8Array[]): boolean {
    return this.#mac.verify(signature, frames);
  }
}

/** Remembers message ids inside the window; anything older than the window is refused outright. */
export class ReplayGuard {
  readonly #seen = new Map<string, number>();
  #lastPrune = 0;

  constructor(readonly windowMs = 5 * 60_000) {}

  check(header: Header, now = Date.now()): string | null {
    if (Math.abs(now - header.time) > this.windowMs) return `message time ${new Date(header.time).toISOString()} is outside the ${this.windowMs / 1000} s replay window`;
    if (this.#seen.has(header.id)) return `message id ${header.id} was already received (replay)`;
    this.#seen.set(header.id, header.time);
    if (now - this.#lastPrune > this.windowMs / 4) {
      for (const [id, t] of this.#seen) if (now - t > this.windowMs) this.#seen.delete(id);
      this.#lastPrune = now;
    }
    return null;
  }
}

export function newMessageId(): string {
  return randomBytes(12).toString('hex');
}

/**
 * Frames of one message (without the ROUTER identity). `signer: null` sends it unsigned (empty signature):
 * used only for the error answering an unauthenticated message, whose sender may not hold the key.
 */
export function encodeMessage(signer: Signer | null, type: MessageType, payload: object, buffers: readonly Uint8Array[] = []): Buffer[] {
  const header: Header = { id: newMessageId(), type, time: Date.now() };
  const body = [Buffer.from(JSON.stringify(header)), Buffer.from(JSON.stringify(payload)), ...buffers.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength))];
  const signature = signer ? signer.sign(body) : '';
  return [PROTOCOL_BYTES, Buffer.from(signature), ...body];
}

function parseJson(frame: Buffer, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(frame.toString('utf8'));
  } catch (e) {
    throw new WireError('malformed', `${what} frame is not JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new WireError('malformed', `${what} frame must be a JSON object`);
  return v as Record<string, unknown>;
}

/** The callId of a payload frame if one can be read, so even a rejected request gets its error. */
function peekCallId(frame: Buffer | undefined): string | null {
  if (!frame || frame.length > 1 << 16) return null;
  try {
    const v = JSON.parse(frame.toString('utf8')) as { callId?: unknown };
    return typeof v?.callId === 'string' && v.callId.length <= 128 ? v.callId : null;
  } catch {
    return null;
  }
}

export interface DecodeOptions {
  /** Largest total size of a message in bytes. */
  maxBytes?: number;
  /** Checked only after the signature, so an attacker cannot fill its memory with ids. */
  replay?: ReplayGuard;
  /** Accept an unsigned message (a client reading the error that answers its unauthenticated request). */
  allowUnsigned?: boolean;
}

export interface DecodedMessage extends WireMessage { signed: boolean }

export function decodeMessage(frames: readonly Buffer[], signer: Signer, opts: DecodeOptions = {}): DecodedMessage {
  if (frames.length < 4) throw new WireError('malformed', `a message has at least 4 frames (protocol, signature, header, payload), got ${frames.length}`);
  if (!PROTOCOL_BYTES.equals(frames[0]!)) {
    const got = frames[0]!.length <= 40 ? JSON.stringify(frames[0]!.toString('utf8')) : `${frames[0]!.length} bytes`;
    throw new WireError('protocol', `first frame must be "${PROTOCOL}", got ${got}`);
  }
  const callId = peekCallId(frames[3]);
  const total = frames.reduce((a, f) => a + f.length, 0);
  if (opts.maxBytes !== undefined && total > opts.maxBytes) throw new WireError('too_large', `message of ${total} bytes exceeds the limit of ${opts.maxBytes} bytes (--max-message-size)`, callId);
  const body = frames.slice(2);
  let signed = true;
  if (frames[1]!.length === 0 && opts.allowUnsigned) signed = false;
  else if (!signer.verify(frames[1]!, body)) throw new WireError('unauthenticated', 'bad signature: the message is not signed with this session\'s key', callId);
  const h = parseJson(frames[2]!, 'header');
  if (typeof h['id'] !== 'string' || h['id'].length === 0 || h['id'].length > 128) throw new WireError('malformed', 'header.id must be a string of 1-128 characters', callId);
  if (typeof h['type'] !== 'string' || !TYPES.has(h['type'])) throw new WireError('malformed', `header.type ${JSON.stringify(h['type'])} is not a message type`, callId);
  if (typeof h['time'] !== 'number' || !Number.isFinite(h['time'])) throw new WireError('malformed', 'header.time must be a number (ms since the epoch)', callId);
  const header: Header = { id: h['id'], type: h['type'] as MessageType, time: h['time'] };
  const payload = parseJson(frames[3]!, 'payload');
  if (signed && opts.replay) {
    const why = opts.replay.check(header);
    if (why) throw new WireError('replay', why, callId);
  }
  return { header, payload, buffers: frames.slice(4), signed };
}
