// HMAC over the frames of one multipart message, verified in constant time: the signature scheme of both
// the Jupyter wire protocol (kernel/protocol/wire.ts) and the session protocol (sdk/session/wire.ts).
//
// The two differ only in what enters the MAC. Jupyter signs the frames' bytes back to back (the spec's
// rule, which clients like jupyter_client check). The session also feeds each frame's length first, so
// bytes cannot be moved from one frame to the next without breaking the signature.

import { createHmac, timingSafeEqual } from 'node:crypto';

export interface FrameMacOptions {
  /** A hash node's crypto supports (default sha256). */
  algorithm?: string;
  /** Feed each frame's byte length (8 bytes, big-endian) before the frame. */
  lengthPrefixed?: boolean;
}

export class FrameMac {
  readonly #key: Buffer;
  readonly #algorithm: string;
  readonly #lengthPrefixed: boolean;

  constructor(key: string | Buffer, opts: FrameMacOptions = {}) {
    this.#key = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
    this.#algorithm = opts.algorithm ?? 'sha256';
    this.#lengthPrefixed = opts.lengthPrefixed ?? false;
    createHmac(this.#algorithm, 'probe'); // an unknown hash fails here, not on the first message
  }

  /** Lowercase hex HMAC of the frames. */
  sign(frames: readonly Uint8Array[]): string {
    const h = createHmac(this.#algorithm, this.#key);
    const len = this.#lengthPrefixed ? Buffer.alloc(8) : null;
    for (const f of frames) {
      if (len) {
        len.writeBigUInt64BE(BigInt(f.byteLength));
        h.update(len);
      }
      h.update(f);
    }
    return h.digest('hex');
  }

  /** Whether `signature` (hex bytes as received) is the MAC of `frames`, compared in constant time. */
  verify(signature: Uint8Array, frames: readonly Uint8Array[]): boolean {
    const expected = Buffer.from(this.sign(frames), 'ascii');
    // timingSafeEqual needs equal lengths; a length mismatch reveals nothing about the key.
    if (signature.byteLength !== expected.length) return false;
    return timingSafeEqual(Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength), expected);
  }
}
