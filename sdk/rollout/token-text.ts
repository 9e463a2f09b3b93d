// How a tokenizer's decode(ids) can be rebuilt one token at a time, so the engine appends each new
// token's text instead of re-decoding the whole response every step (O(n) per step, O(n^2) per row).
//
// A Hugging Face tokenizer.json tokenizer (sdk/tokenizer) decodes in one of two ways:
//   ByteLevel decoder:  decode(ids) = UTF-8 decode of bytes(id_1) ++ ... ++ bytes(id_n), where an
//                       added token's bytes are its text's UTF-8 and any other token's are its
//                       byte-level characters mapped back to bytes (or its text's UTF-8 when some
//                       character is outside the byte alphabet);
//   no decoder:         decode(ids) = text(id_1) + ' ' + ... + ' ' + text(id_n).
// The UTF-8 decoding is the WHATWG decoder (TextDecoder, replacement on errors), a state machine:
// wherever it is back in its initial state, the text decoded so far is final and the rest decodes on
// its own. So with a per-row boundary at the last such point, decode(ids) = committed text
// + decode(bytes after the boundary), and bytes after the boundary are always an unfinished multi-byte
// sequence (at most 3 bytes) that decodes at the end of input to exactly one U+FFFD.
//
// Anything else (another tokenizer implementation, an unknown decoder) gets kind 'full': the engine
// then decodes the whole response as before. Each token's model is checked against decode([id]) the
// first time the token is seen; a token that fails sends its row to the 'full' path.

import type { Tokenizer } from '../tokenizer/index.ts';
import { fromByteLevel, utf8Bytes, utf8Text } from '../tokenizer/bytes.ts';

/** One token as the incremental decoder sees it. */
export interface TokenPiece {
  /** Its bytes (ByteLevel) ... */
  bytes: Uint8Array;
  /** ... and, when those bytes decode on their own from the initial state back to it, their text. */
  whole: string | null;
}

export type DecodeModel =
  | { kind: 'bytes'; piece(id: number): TokenPiece | undefined }
  | { kind: 'join'; text(id: number): string | undefined }
  | { kind: 'full' };

const models = new WeakMap<Tokenizer, DecodeModel>();

/** The decode model of `tok` (built once per tokenizer object). */
export function decodeModelOf(tok: Tokenizer): DecodeModel {
  let m = models.get(tok);
  if (!m) {
    m = buildDecodeModel(tok);
    models.set(tok, m);
  }
  return m;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function buildDecodeModel(tok: Tokenizer): DecodeModel {
  let json: unknown;
  try {
    json = tok.toJSON();
  } catch {
    return { kind: 'full' };
  }
  // only the tokenizer.json layout sdk/tokenizer reads: a BPE model with a vocab, added tokens by id
  if (!isObject(json) || !isObject(json['model']) || !isObject(json['model']['vocab'])) return { kind: 'full' };
  const decoder = json['decoder'];
  const added = new Set<number>();
  for (const t of Array.isArray(json['added_tokens']) ? json['added_tokens'] : []) {
    if (isObject(t) && typeof t['id'] === 'number') added.add(t['id']);
  }
  if (decoder === null || decoder === undefined) {
    const texts = new Map<number, string | undefined>();
    return {
      kind: 'join',
      text(id) {
        if (!texts.has(id)) {
          const t = tok.idToToken(id);
          texts.set(id, t !== undefined && decodesAs(tok, id, t) ? t : undefined);
        }
        return texts.get(id);
      },
    };
  }
  if (!isObject(decoder) || decoder['type'] !== 'ByteLevel') return { kind: 'full' };
  const pieces = new Map<number, TokenPiece | undefined>();
  return {
    kind: 'bytes',
    piece(id) {
      if (!pieces.has(id)) pieces.set(id, bytePiece(tok, id, added.has(id)));
      return pieces.get(id);
    },
  };
}

/** True when tok.decode([id]) is `text` (a decode error counts as false: the full path reports it). */
function decodesAs(tok: Tokenizer, id: number, text: string): boolean {
  try {
    return tok.decode([id]) === text;
  } catch {
    return false;
  }
}

function bytePiece(tok: Tokenizer, id: number, isAdded: boolean): TokenPiece | undefined {
  const text = tok.idToToken(id);
  if (text === undefined) return undefined;
  const spelled = isAdded ? undefined : fromByteLevel(text);
  const bytes = spelled ? Uint8Array.from(spelled) : utf8Bytes(text);
  if (!decodesAs(tok, id, utf8Text(bytes))) return undefined;
  return { bytes, whole: lastBoundary(bytes, 0, bytes.length) === bytes.length ? utf8Text(bytes) : null };
}

/**
 * The last index k in [from, to] where the WHATWG UTF-8 decoder, started in its initial state at
 * `from`, is back in its initial state after consuming bytes[from .. k). A byte that breaks a
 * sequence is an error that resets the decoder *before* that byte (which is then read afresh).
 */
export function lastBoundary(bytes: ArrayLike<number>, from: number, to: number): number {
  let needed = 0, seen = 0, lower = 0x80, upper = 0xbf;
  let boundary = from;
  for (let i = from; i < to; i++) {
    const b = bytes[i]!;
    if (needed === 0) {
      if (b <= 0x7f) boundary = i + 1;
      else if (b >= 0xc2 && b <= 0xdf) needed = 1;
      else if (b >= 0xe0 && b <= 0xef) {
        if (b === 0xe0) lower = 0xa0;
        if (b === 0xed) upper = 0x9f;
        needed = 2;
      } else if (b >= 0xf0 && b <= 0xf4) {
        if (b === 0xf0) lower = 0x90;
        if (b === 0xf4) upper = 0x8f;
        needed = 3;
      } else boundary = i + 1; // an invalid lead byte: one U+FFFD, decoder still initial
      continue;
    }
    if (b < lower || b > upper) {
      // error: the unfinished sequence becomes U+FFFD and this byte starts over
      needed = 0; seen = 0; lower = 0x80; upper = 0xbf;
      boundary = i;
      i--;
      continue;
    }
    lower = 0x80; upper = 0xbf;
    if (++seen === needed) {
      needed = 0; seen = 0;
      boundary = i + 1;
    }
  }
  return boundary;
}
