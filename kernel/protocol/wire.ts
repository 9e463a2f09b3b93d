// The Jupyter wire format (messaging protocol 5.x): one message = several zeromq frames
//   [routing identities..., "<IDS|MSG>", signature, header, parent_header, metadata, content, buffers...]
// The signature is an HMAC (sha256) in hex over the four JSON frames exactly as sent; an empty key means
// messages are not signed. Verification is constant-time so a peer cannot learn the signature byte by byte.

import { FrameMac } from '../../sdk/util/frame-mac.ts';

export const DELIMITER = '<IDS|MSG>';
const DELIMITER_BYTES = Buffer.from(DELIMITER);

export interface MessageHeader {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
  [extra: string]: unknown;
}

export interface JupyterMessage<C = Record<string, unknown>> {
  /** Routing identities of the sender (ROUTER sockets); replies go back to them. */
  identities: Uint8Array[];
  header: MessageHeader;
  /** The request's header, or {} for messages that answer nothing. */
  parent_header: Partial<MessageHeader>;
  metadata: Record<string, unknown>;
  content: C;
  buffers: Uint8Array[];
}

/** A frame sequence that is not a valid (or not a correctly signed) Jupyter message. */
export class WireError extends Error {
  constructor(message: string, readonly reason: 'malformed' | 'signature') {
    super(message);
    this.name = 'WireError';
  }
}

export class Signer {
  readonly #mac: FrameMac | null;

  /** `scheme` as in the connection file: "hmac-sha256" (or another hmac-<hash> node supports). */
  constructor(key: string, scheme = 'hmac-sha256') {
    if (!scheme.startsWith('hmac-')) throw new Error(`unsupported signature_scheme "${scheme}" (expected hmac-<hash>)`);
    const mac = new FrameMac(key, { algorithm: scheme.slice('hmac-'.length) }); // fails now if node lacks the hash
    this.#mac = key.length > 0 ? mac : null;
  }

  get enabled(): boolean {
    return this.#mac !== null;
  }

  /** Hex signature of the four JSON frames; "" when signing is off. */
  sign(frames: readonly Uint8Array[]): string {
    return this.#mac ? this.#mac.sign(frames) : '';
  }

  verify(signature: Uint8Array, frames: readonly Uint8Array[]): boolean {
    return this.#mac ? this.#mac.verify(signature, frames) : true;
  }
}

function parseJsonFrame(frame: Uint8Array, name: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(frame).toString('utf8'));
  } catch (e) {
    throw new WireError(`${name} frame is not JSON: ${(e as Error).message}`, 'malformed');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new WireError(`${name} frame must be a JSON object`, 'malformed');
  }
  return value as Record<string, unknown>;
}

function indexOfDelimiter(frames: readonly Uint8Array[]): number {
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]!;
    if (f.length === DELIMITER_BYTES.length && DELIMITER_BYTES.equals(f)) return i;
  }
  return -1;
}

/** Parses a received multipart message, verifying its signature. Throws WireError when it is invalid. */
export function parseMessage(frames: readonly Uint8Array[], signer: Signer): JupyterMessage {
  const d = indexOfDelimiter(frames);
  if (d < 0) throw new WireError(`no "${DELIMITER}" delimiter among ${frames.length} frames`, 'malformed');
  if (frames.length < d + 6) throw new WireError(`expected signature and 4 JSON frames after the delimiter, got ${frames.length - d - 1}`, 'malformed');
  const signature = frames[d + 1]!;
  const signed = frames.slice(d + 2, d + 6);
  if (!signer.verify(signature, signed)) throw new WireError('bad message signature', 'signature');
  const header = parseJsonFrame(signed[0]!, 'header');
  if (typeof header['msg_type'] !== 'string' || typeof header['msg_id'] !== 'string') {
    throw new WireError('header lacks msg_type or msg_id', 'malformed');
  }
  return {
    identities: frames.slice(0, d).map((f) => Buffer.from(f)),
    header: header as MessageHeader,
    parent_header: parseJsonFrame(signed[1]!, 'parent_header') as Partial<MessageHeader>,
    metadata: parseJsonFrame(signed[2]!, 'metadata'),
    content: parseJsonFrame(signed[3]!, 'content'),
    buffers: frames.slice(d + 6).map((f) => Buffer.from(f)),
  };
}

/** The frames to send for `msg` (identities first, then delimiter, signature, JSON frames, buffers). */
export function serializeMessage(msg: JupyterMessage<unknown>, signer: Signer): Buffer[] {
  const json = [msg.header, msg.parent_header, msg.metadata, msg.content].map((part) => Buffer.from(JSON.stringify(part), 'utf8'));
  return [
    ...msg.identities.map((id) => Buffer.from(id)),
    DELIMITER_BYTES,
    Buffer.from(signer.sign(json), 'ascii'),
    ...json,
    ...msg.buffers.map((b) => Buffer.from(b)),
  ];
}
