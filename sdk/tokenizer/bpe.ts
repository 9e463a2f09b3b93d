// The BPE model of HF tokenizer.json: a vocabulary and an ordered list of merges.
// Encoding a piece starts from its characters and repeatedly applies the lowest-ranked merge
// present (leftmost first on ties), which is what HF's tokenizers does. With byte_fallback
// (SentencePiece-style BPE: Llama-2, Mistral), a character outside the vocab becomes the tokens
// <0xXX> of its UTF-8 bytes, and unk only when one of those is missing too.

import { asArray, asObject, boolField, fail, type JsonObject } from './fields.ts';
import { MinHeap } from './heap.ts';
import { utf8Bytes } from './bytes.ts';

/** SentencePiece's name of the token for one byte: <0x0A>. */
export function byteTokenName(byte: number): string {
  return `<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`;
}

const MAX_ID = 2 ** 26; // pair keys a * MAX_ID + b stay exact in a double
const CACHE_LIMIT = 50_000;
const CACHE_MAX_PIECE = 256; // without a pre-tokenizer a piece is a whole text: not worth keeping

interface Candidate {
  rank: number;
  pos: number; // index of the left symbol
  left: number;
  right: number;
  id: number;
}

const pairKey = (a: number, b: number) => a * MAX_ID + b;

export class BpeModel {
  readonly idToToken = new Map<number, string>();
  private readonly mergeRank = new Map<number, number>(); // pair key -> rank (the first listing wins)
  private readonly mergedId: Int32Array; // rank -> id of the merged token
  private readonly unkId: number | undefined;
  private readonly cache = new Map<string, number[]>();

  constructor(
    readonly vocab: ReadonlyMap<string, number>,
    /** "a b" strings or [a, b] pairs, as tokenizer.json lists them. */
    merges: readonly unknown[],
    private readonly opts: { unkToken?: string; fuseUnk: boolean; ignoreMerges: boolean; byteFallback: boolean },
    where: string,
  ) {
    for (const [token, id] of vocab) {
      if (!Number.isInteger(id) || id < 0 || id >= MAX_ID) fail(where, `vocab id ${id} of ${JSON.stringify(token)} is not an integer in [0, ${MAX_ID})`);
      this.idToToken.set(id, token);
    }
    this.mergedId = new Int32Array(merges.length);
    for (let rank = 0; rank < merges.length; rank++) {
      const [a, b] = mergeParts(merges[rank], rank, `${where}: merges`);
      const left = vocab.get(a);
      const right = vocab.get(b);
      const merged = vocab.get(a + b);
      if (left === undefined || right === undefined || merged === undefined) {
        const missing = left === undefined ? a : right === undefined ? b : a + b;
        fail(where, `merge ${rank} (${JSON.stringify(a)} ${JSON.stringify(b)}): token ${JSON.stringify(missing)} is not in the vocab`);
      }
      const key = pairKey(left, right);
      if (!this.mergeRank.has(key)) this.mergeRank.set(key, rank);
      this.mergedId[rank] = merged;
    }
    if (opts.unkToken !== undefined) {
      this.unkId = vocab.get(opts.unkToken);
      if (this.unkId === undefined) fail(where, `unk_token ${JSON.stringify(opts.unkToken)} is not in the vocab`);
    }
  }

  /** Token ids of one pre-tokenized piece. */
  encodePiece(piece: string): number[] {
    if (this.opts.ignoreMerges) {
      const whole = this.vocab.get(piece);
      if (whole !== undefined) return [whole];
    }
    const cached = this.cache.get(piece);
    if (cached) return cached;
    const ids = this.merge(this.initialSymbols(piece));
    if (piece.length > CACHE_MAX_PIECE) return ids;
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(piece, ids);
    return ids;
  }

  /**
   * One symbol per character; a character outside the vocab becomes its byte tokens (byte_fallback),
   * else unk (consecutive unks fused into one with fuse_unk), else is dropped, as HF does.
   */
  private initialSymbols(piece: string): number[] {
    const ids: number[] = [];
    let previousWasUnk = false;
    for (const ch of piece) {
      const id = this.vocab.get(ch);
      const byteIds = id === undefined && this.opts.byteFallback ? this.byteTokenIds(ch) : undefined;
      if (id !== undefined) {
        ids.push(id);
        previousWasUnk = false;
      } else if (byteIds) {
        ids.push(...byteIds);
        previousWasUnk = false;
      } else if (this.unkId !== undefined) {
        if (!(this.opts.fuseUnk && previousWasUnk)) ids.push(this.unkId);
        previousWasUnk = true;
      }
    }
    return ids;
  }

  /** Ids of the <0xXX> tokens of a character's UTF-8 bytes, or undefined if the vocab lacks one. */
  private byteTokenIds(ch: string): number[] | undefined {
    const ids: number[] = [];
    for (const b of utf8Bytes(ch)) {
      const id = this.vocab.get(byteTokenName(b));
      if (id === undefined) return undefined;
      ids.push(id);
    }
    return ids;
  }

  /** Applies merges lowest rank first over a linked list of symbols. */
  private merge(symbols: number[]): number[] {
    const n = symbols.length;
    if (n < 2) return symbols;
    const id = symbols.slice();
    const next = Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
    const prev = Array.from({ length: n }, (_, i) => i - 1);
    const alive = new Array<boolean>(n).fill(true);
    const queue = new MinHeap<Candidate>((a, b) => a.rank < b.rank || (a.rank === b.rank && a.pos < b.pos));
    const consider = (pos: number) => {
      if (pos < 0 || next[pos]! < 0) return;
      const right = next[pos]!;
      const rank = this.mergeRank.get(pairKey(id[pos]!, id[right]!));
      if (rank !== undefined) queue.push({ rank, pos, left: id[pos]!, right: id[right]!, id: this.mergedId[rank]! });
    };
    for (let i = 0; i + 1 < n; i++) consider(i);

    for (let c = queue.pop(); c; c = queue.pop()) {
      const right = next[c.pos]!;
      // skip candidates made stale by earlier merges
      if (!alive[c.pos] || right < 0 || id[c.pos] !== c.left || id[right] !== c.right) continue;
      id[c.pos] = c.id;
      alive[right] = false;
      next[c.pos] = next[right]!;
      if (next[right]! >= 0) prev[next[right]!] = c.pos;
      if (prev[c.pos]! >= 0) consider(prev[c.pos]!);
      consider(c.pos);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0; i = next[i]!) out.push(id[i]!);
    return out;
  }
}

/** The two sides of one merge: "a b" (exactly one space) or ["a", "b"]. */
function mergeParts(m: unknown, rank: number, where: string): [string, string] {
  if (typeof m === 'string') {
    const space = m.indexOf(' ');
    if (space >= 0 && m.indexOf(' ', space + 1) < 0) return [m.slice(0, space), m.slice(space + 1)];
  } else if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') {
    return [m[0], m[1]];
  }
  return fail(where, `merge ${rank} must be "a b" or ["a", "b"], got ${JSON.stringify(m)}`);
}

/** Builds the model from tokenizer.json's "model" object. */
export function bpeFromJSON(spec: unknown, where: string): BpeModel {
  const o: JsonObject = asObject(spec, where);
  if (o.type !== undefined && o.type !== 'BPE') fail(where, `model type ${JSON.stringify(o.type)} is not supported (only BPE)`);
  if (typeof o.dropout === 'number' && o.dropout > 0) fail(where, 'BPE dropout is not supported');
  for (const key of ['continuing_subword_prefix', 'end_of_word_suffix']) {
    if (o[key] !== undefined && o[key] !== null && o[key] !== '') fail(where, `BPE ${key} is not supported`);
  }

  const vocabObj = asObject(o.vocab, `${where}: vocab`);
  const vocab = new Map<string, number>();
  for (const token in vocabObj) {
    const id = vocabObj[token];
    if (typeof id !== 'number') fail(`${where}: vocab`, `id of ${JSON.stringify(token)} is not a number`);
    vocab.set(token, id);
  }
  const merges = asArray(o.merges ?? [], `${where}: merges`);
  const unk = o.unk_token;
  if (unk !== undefined && unk !== null && typeof unk !== 'string') fail(where, 'unk_token must be a string or null');
  return new BpeModel(
    vocab,
    merges,
    {
      unkToken: typeof unk === 'string' ? unk : undefined,
      fuseUnk: boolField(o, 'fuse_unk', where, false),
      ignoreMerges: boolField(o, 'ignore_merges', where, false),
      byteFallback: boolField(o, 'byte_fallback', where, false),
    },
    where,
  );
}
