// One response's text as tokens arrive, and where it first contains a stop string.
//
// The rule (unchanged from re-decoding every step): after each token, text_n = decode(ids_1..n);
// the response stops at the first n where some stop string occurs in text_n, and keeps
// text_n.slice(0, cut), cut = min over stop strings s of (text_n.indexOf(s) + |s|).
//
// Incrementally (see token-text.ts): text_n = C_n + tail_n, where C_n only grows (C_n = C_{n-1} + a_n)
// and tail_n is '' or one U+FFFD for an unfinished UTF-8 sequence. No stop string occurs in text_{n-1},
// hence none inside its prefix C_{n-1}; so an occurrence in text_n ends past |C_{n-1}|, starts at or
// after |C_{n-1}| - |s| + 1, and lies in the window  (last maxStop-1 chars of C_{n-1}) + a_n + tail_n.
// Searching that window finds text_n.indexOf(s) at O(|window|) per token instead of O(|text_n|).

import type { Tokenizer } from '../tokenizer/index.ts';
import { utf8Text } from '../tokenizer/bytes.ts';
import { lastBoundary, type DecodeModel } from './token-text.ts';

const REPLACEMENT = '\uFFFD';

/** Index just past the earliest stop string in `text`, or -1. */
export function firstStop(text: string, stops: readonly string[]): number {
  let best = -1;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && (best < 0 || i + s.length < best)) best = i + s.length;
  }
  return best;
}

export class ResponseText {
  private committed = '';         // C_n: text before the last UTF-8 boundary
  private pending: number[] = []; // bytes after it (an unfinished sequence, at most 3)
  private recent = '';            // the last maxStop-1 characters of `committed`
  private tokens = 0;
  private full: boolean;          // decode the whole response every token (the model does not apply)
  private fullText = '';
  private readonly keepRecent: number;

  /**
   * `ids` is the row's response token array, which the caller appends to before each push (the
   * full path decodes it).
   */
  constructor(
    private readonly tok: Tokenizer, private readonly model: DecodeModel,
    private readonly stops: readonly string[], private readonly ids: readonly number[],
  ) {
    this.full = model.kind === 'full';
    this.keepRecent = Math.max(0, ...stops.map((s) => s.length)) - 1;
  }

  /** Takes the next token; returns the stopped response (cut after its stop string), or null. */
  push(id: number): string | null {
    const before = this.committed;
    const added = this.full ? null : this.append(id);
    if (added === null) {
      this.full = true;
      if (this.stops.length === 0) return null; // nothing to look for: decode once, in text()
      const text = this.tok.decode(this.ids as number[]);
      const cut = firstStop(text, this.stops);
      if (cut >= 0) return text.slice(0, cut);
      this.fullText = text;
      return null;
    }
    if (this.stops.length === 0) return null;
    const tail = this.pending.length > 0 ? REPLACEMENT : '';
    const window = this.recent + added + tail;
    const base = before.length - this.recent.length; // window[0] is text_n[base]
    let cut = -1;
    for (const s of this.stops) {
      let end = 0; // '' occurs at 0 of any text: it stops the first token, with an empty response
      if (s.length > 0) {
        const i = window.indexOf(s, Math.max(0, this.recent.length - s.length + 1));
        if (i < 0) continue;
        end = base + i + s.length;
      }
      if (cut < 0 || end < cut) cut = end;
    }
    if (cut >= 0) return (before + added + tail).slice(0, cut);
    if (this.keepRecent > 0) {
      const r = this.recent + added;
      this.recent = r.length > this.keepRecent ? r.slice(r.length - this.keepRecent) : r;
    }
    return null;
  }

  /** The response's text so far: decode(ids). */
  text(): string {
    if (this.full) return this.stops.length === 0 ? this.tok.decode(this.ids as number[]) : this.fullText;
    return this.pending.length > 0 ? this.committed + REPLACEMENT : this.committed;
  }

  /** Appends token `id` to the committed text; the text added, or null if the model cannot say. */
  private append(id: number): string | null {
    const m = this.model;
    let added: string;
    if (m.kind === 'join') {
      const t = m.text(id);
      if (t === undefined) return null;
      added = this.tokens > 0 ? ' ' + t : t;
    } else if (m.kind === 'bytes') {
      const piece = m.piece(id);
      if (!piece) return null;
      if (this.pending.length === 0 && piece.whole !== null) {
        added = piece.whole;
      } else {
        const buf = Uint8Array.from([...this.pending, ...piece.bytes]);
        const k = lastBoundary(buf, 0, buf.length);
        added = k > 0 ? utf8Text(buf.subarray(0, k)) : '';
        this.pending = Array.from(buf.subarray(k));
      }
    } else {
      return null;
    }
    this.tokens++;
    this.committed += added;
    return added;
  }
}
