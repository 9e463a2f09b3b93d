// A small byte-level BPE trainer that writes a Hugging Face tokenizer.json.
//
// Pre-tokenizer: Split on TRAIN_SPLIT_PATTERN (Isolated), then ByteLevel without its own regex.
// The pattern makes every numeric character its own piece, so digits are never merged: a number is
// always spelled digit by digit, which arithmetic needs. Other pieces are a run of letters (with
// combining marks) with at most one leading space, a run of punctuation/symbols with at most one
// leading space, or whitespace (a space before a word is left to that word, as GPT-2 does).
//
// Vocabulary: special tokens get ids 0..k-1, then the 256 byte characters in byte order, then one
// token per merge; added tokens (non-special, literal text) come last. Merges are learned the usual
// way: repeatedly merge the most frequent adjacent pair, ties going to the smaller (left id, right id).

import { BYTE_TO_CHAR } from './bytes.ts';
import { MinHeap } from './heap.ts';
import { buildPreTokenizer } from './pretokenize.ts';
import { tokenizerFromJSON, type Tokenizer } from './tokenizer.ts';

export const TRAIN_SPLIT_PATTERN = "\\p{N}| ?[\\p{L}\\p{M}]+| ?[^\\s\\p{L}\\p{M}\\p{N}]+|\\s+(?!\\S)|\\s+";

export interface TrainOptions {
  /** Total size: special tokens + 256 bytes + merges + added tokens. */
  vocabSize: number;
  /** e.g. "<|endoftext|>", "<|pad|>": ids 0, 1, ...; skipped by decode({ skipSpecial: true }). */
  specialTokens?: string[];
  /** e.g. "<think>", "\\boxed{": always one id each, decoded back to their text. */
  addedTokens?: string[];
  /** Pairs seen fewer times than this are not merged (default 2). */
  minFrequency?: number;
}

const MAX_ID = 2 ** 26;
const pairKey = (a: number, b: number) => a * MAX_ID + b;

interface PairEntry {
  count: number;
  left: number;
  right: number;
}

function validateOptions(opts: TrainOptions): { special: string[]; added: string[]; minFrequency: number } {
  const special = opts.specialTokens ?? [];
  const added = opts.addedTokens ?? [];
  const seen = new Set<string>();
  for (const t of [...special, ...added]) {
    if (typeof t !== 'string' || t === '') throw new Error(`trainByteLevelBPE: special/added tokens must be non-empty strings, got ${JSON.stringify(t)}`);
    if (seen.has(t)) throw new Error(`trainByteLevelBPE: token ${JSON.stringify(t)} is listed twice`);
    if (BYTE_TO_CHAR.includes(t)) throw new Error(`trainByteLevelBPE: token ${JSON.stringify(t)} collides with a byte token`);
    seen.add(t);
  }
  const least = special.length + 256 + added.length;
  if (!Number.isInteger(opts.vocabSize) || opts.vocabSize < least) {
    throw new Error(`trainByteLevelBPE: vocabSize must be an integer >= ${least} (specials + 256 bytes + added tokens), got ${opts.vocabSize}`);
  }
  const minFrequency = opts.minFrequency ?? 2;
  if (!(minFrequency >= 1)) throw new Error(`trainByteLevelBPE: minFrequency must be >= 1, got ${minFrequency}`);
  return { special, added, minFrequency };
}

function tokenizerSkeleton(): Record<string, unknown> {
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [{ type: 'Split', pattern: { Regex: TRAIN_SPLIT_PATTERN }, behavior: 'Isolated', invert: false }, byteLevel],
    },
    post_processor: null,
    decoder: byteLevel,
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab: {}, merges: [],
    },
  };
}

/** Distinct pre-tokenized pieces of the corpus with their counts; special/added token text is cut out first. */
function countPieces(corpus: Iterable<string>, literalTokens: string[], skeleton: Record<string, unknown>): Map<string, number> {
  const preTokenize = buildPreTokenizer(skeleton.pre_tokenizer, 'trainByteLevelBPE');
  const escaped = [...literalTokens].sort((a, b) => b.length - a.length).map((t) => t.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&'));
  const cut = escaped.length > 0 ? new RegExp(escaped.join('|'), 'u') : undefined;
  const counts = new Map<string, number>();
  for (const text of corpus) {
    for (const segment of cut ? text.split(cut) : [text]) {
      if (segment === '') continue;
      for (const piece of preTokenize([segment])) counts.set(piece, (counts.get(piece) ?? 0) + 1);
    }
  }
  return counts;
}

export function trainByteLevelBPE(corpus: Iterable<string>, opts: TrainOptions): Tokenizer {
  const { special, added, minFrequency } = validateOptions(opts);
  const json = tokenizerSkeleton();
  const pieceCounts = countPieces(corpus, [...special, ...added], json);

  // base vocabulary: specials, then the 256 byte characters
  const tokens: string[] = [...special, ...BYTE_TO_CHAR];
  const idOf = new Map(tokens.map((t, id) => [t, id]));
  const words: number[][] = [];
  const wordCounts: number[] = [];
  for (const [piece, count] of pieceCounts) {
    words.push([...piece].map((ch) => idOf.get(ch)!));
    wordCounts.push(count);
  }

  // pair statistics, kept up to date incrementally
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>(); // may hold words that lost the pair; harmless
  const changed = new Set<number>();
  const addWordPairs = (w: number, sign: 1 | -1) => {
    const word = words[w]!;
    for (let i = 0; i + 1 < word.length; i++) {
      const key = pairKey(word[i]!, word[i + 1]!);
      pairCount.set(key, (pairCount.get(key) ?? 0) + sign * wordCounts[w]!);
      changed.add(key);
      if (sign > 0) {
        let set = pairWords.get(key);
        if (!set) pairWords.set(key, (set = new Set()));
        set.add(w);
      }
    }
  };
  // most frequent first; ties to the smaller (left, right) ids so training is deterministic
  const heap = new MinHeap<PairEntry>((a, b) =>
    a.count !== b.count ? a.count > b.count : a.left !== b.left ? a.left < b.left : a.right < b.right);
  const pushChanged = () => {
    for (const key of changed) {
      const count = pairCount.get(key)!;
      if (count > 0) heap.push({ count, left: Math.floor(key / MAX_ID), right: key % MAX_ID });
    }
    changed.clear();
  };
  words.forEach((_, w) => addWordPairs(w, 1));
  pushChanged();

  const merges: [string, string][] = [];
  const modelVocabTarget = opts.vocabSize - added.length;
  while (tokens.length < modelVocabTarget) {
    const best = heap.pop();
    if (!best) break;
    const key = pairKey(best.left, best.right);
    if (pairCount.get(key) !== best.count) continue; // stale entry
    if (best.count < minFrequency) break;
    const text = tokens[best.left]! + tokens[best.right]!;
    let newId = idOf.get(text);
    if (newId === undefined) {
      newId = tokens.length;
      tokens.push(text);
      idOf.set(text, newId);
    }
    merges.push([tokens[best.left]!, tokens[best.right]!]);
    for (const w of pairWords.get(key) ?? []) {
      addWordPairs(w, -1);
      const word = words[w]!;
      const merged: number[] = [];
      for (let i = 0; i < word.length; i++) {
        if (i + 1 < word.length && word[i] === best.left && word[i + 1] === best.right) {
          merged.push(newId);
          i++;
        } else {
          merged.push(word[i]!);
        }
      }
      words[w] = merged;
      addWordPairs(w, 1);
    }
    pairWords.delete(key);
    pushChanged();
  }

  const model = json.model as Record<string, unknown>;
  model.vocab = Object.fromEntries(tokens.map((t, id) => [t, id]));
  model.merges = merges.map(([a, b]) => `${a} ${b}`); // byte-level tokens never contain a space
  const addedEntry = (id: number, content: string, isSpecial: boolean) => ({
    id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: isSpecial,
  });
  json.added_tokens = [
    ...special.map((t, id) => addedEntry(id, t, true)),
    ...added.map((t, i) => addedEntry(tokens.length + i, t, false)),
  ];
  return tokenizerFromJSON(json, 'trainByteLevelBPE');
}
