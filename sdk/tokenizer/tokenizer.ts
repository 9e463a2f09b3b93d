// A Hugging Face tokenizer.json tokenizer: added tokens, normalizer, pre-tokenizer, BPE model, decoder.
// encode() does what HF's encode(text, add_special_tokens=False) does: the post_processor (BOS/EOS
// templates) is kept in toJSON() but not applied. Simplification: all added tokens are matched on the
// raw text (HF matches `normalized: true` ones after normalization).
//
// Families: byte-level BPE (GPT-2, GPT-NeoX, Qwen2.5, Llama-3) and SentencePiece-style BPE with
// byte_fallback (Llama-2, Mistral: Prepend/Replace normalizers or a Metaspace pre-tokenizer).
// Why orz serves users with this tokenizer rather than @huggingface/tokenizers (kept as a dev dependency,
// the reference test/tokenizer-reference.test.ts compares against):
// - correctness: both give the same ids on the Qwen2.5, Llama-3 and Llama-2 files over MATH500 and the
//   hand texts; the package cannot do Split's MergedWithPrevious/MergedWithNext/Contiguous behaviours
//   (its README says so; orz does), its decode throws on an empty id list and by default rewrites
//   spaces before punctuation (clean_up_tokenization_spaces), so decode(encode(x)) is not x;
// - speed (bench/tokenizers.ts, bench/results/tokenizers-2026-12-03.json, same texts, one run): orz
//   encodes x1.3 to x4.4 faster, builds in about the same time, decodes faster except on Llama-2;
// - maintenance: the package is at 0.2 and moving; orz's is about 1,200 lines with no runtime dependency,
//   and its errors name the file and component it refuses.

import { mkdir, readFile, stat } from 'node:fs/promises';
import { resolveModelPath } from '../hub/resolve.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { dirname, join } from 'node:path';
import { bpeFromJSON, type BpeModel } from './bpe.ts';
import { buildDecoder } from './decoders.ts';
import { asArray, asObject, boolField, fail, stringField, type JsonObject } from './fields.ts';
import { buildNormalizer, buildPreTokenizer, type Normalizer, type PreTokenizer } from './pretokenize.ts';

export interface Tokenizer {
  /** Max id + 1 over the model vocab and the added tokens. */
  readonly vocabSize: number;
  /** Added/special tokens are matched literally first; the text between them is normalized, pre-tokenized and BPE-encoded. */
  encode(text: string): number[];
  /** Bytes that do not form valid UTF-8 (e.g. half a character) become U+FFFD, as in HF. */
  decode(ids: number[], opts?: { skipSpecial?: boolean }): string;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  readonly specialIds: ReadonlySet<number>;
  /** "<|pad|>" if present, else eos, else 0. */
  readonly padId: number;
  /** "<|endoftext|>", "</s>" or "<|end_of_text|>", whichever is present first. */
  readonly eosId: number | undefined;
  /** The HF tokenizer.json object. */
  toJSON(): object;
}

interface AddedToken {
  id: number;
  content: string;
  special: boolean;
  lstrip: boolean;
  rstrip: boolean;
  singleWord: boolean;
}

const EOS_NAMES = ['<|endoftext|>', '</s>', '<|end_of_text|>'];
const PAD_NAME = '<|pad|>';

function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, (ch) => `\\${ch}`);
}

function parseAddedTokens(value: unknown, where: string): AddedToken[] {
  return asArray(value ?? [], where).map((entry, i) => {
    const at = `${where}[${i}]`;
    const o = asObject(entry, at);
    const id = o.id;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) fail(at, 'field "id" must be a non-negative integer');
    const content = stringField(o, 'content', at);
    if (content === '') fail(at, 'field "content" is empty');
    return {
      id,
      content,
      special: boolField(o, 'special', at, false),
      lstrip: boolField(o, 'lstrip', at, false),
      rstrip: boolField(o, 'rstrip', at, false),
      singleWord: boolField(o, 'single_word', at, false),
    };
  });
}

/** One regex that finds any added token, one group per token. Pass longest first: JS takes the first alternative that matches. */
function addedTokenRegex(longestFirst: AddedToken[]): RegExp | undefined {
  if (longestFirst.length === 0) return undefined;
  const alternatives = longestFirst.map((t) => {
      let p = escapeRegex(t.content);
      if (t.singleWord) p = `(?<![\\p{L}\\p{N}_])${p}(?![\\p{L}\\p{N}_])`;
      if (t.lstrip) p = `\\p{White_Space}*${p}`;
      if (t.rstrip) p = `${p}\\p{White_Space}*`;
      return `(${p})`;
    });
  return new RegExp(alternatives.join('|'), 'gu');
}

class HfTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly specialIds: ReadonlySet<number>;
  readonly padId: number;
  readonly eosId: number | undefined;
  private readonly json: JsonObject;
  private readonly model: BpeModel;
  private readonly added: AddedToken[];
  private readonly addedLongestFirst: AddedToken[]; // the order of addedRegex's groups
  private readonly addedById = new Map<number, AddedToken>();
  private readonly addedByContent = new Map<string, AddedToken>();
  private readonly addedRegex: RegExp | undefined;
  private readonly normalize: Normalizer;
  private readonly preTokenize: PreTokenizer;
  private readonly decodeTokens: (tokens: string[]) => string;

  /** `owned`: the caller hands the object over (freshly parsed), so it need not be copied. */
  constructor(json: unknown, source: string, owned = false) {
    this.json = owned ? asObject(json, source) : structuredClone(asObject(json, source));
    const o = this.json;
    this.model = bpeFromJSON(o.model, `${source}: model`);
    this.added = parseAddedTokens(o.added_tokens, `${source}: added_tokens`);
    for (const t of this.added) {
      this.addedById.set(t.id, t);
      this.addedByContent.set(t.content, t);
    }
    this.addedLongestFirst = [...this.added].sort((a, b) => b.content.length - a.content.length);
    this.addedRegex = addedTokenRegex(this.addedLongestFirst);
    this.normalize = buildNormalizer(o.normalizer, `${source}: normalizer`);
    this.preTokenize = buildPreTokenizer(o.pre_tokenizer, `${source}: pre_tokenizer`);
    this.decodeTokens = buildDecoder(o.decoder, `${source}: decoder`);

    let maxId = -1;
    for (const id of this.model.idToToken.keys()) maxId = Math.max(maxId, id);
    for (const t of this.added) maxId = Math.max(maxId, t.id);
    this.vocabSize = maxId + 1;
    this.specialIds = new Set(this.added.filter((t) => t.special).map((t) => t.id));
    this.eosId = EOS_NAMES.map((name) => this.tokenToId(name)).find((id) => id !== undefined);
    this.padId = this.tokenToId(PAD_NAME) ?? this.eosId ?? 0;
  }

  encode(text: string): number[] {
    const ids: number[] = [];
    const encodeSegment = (segment: string, atTextStart: boolean) => {
      if (segment === '') return;
      const normalized = this.normalize(segment);
      for (const piece of this.preTokenize([normalized], atTextStart)) {
        if (piece !== '') for (const id of this.model.encodePiece(piece)) ids.push(id);
      }
    };
    if (!this.addedRegex) {
      encodeSegment(text, true);
      return ids;
    }
    let prev = 0;
    for (const m of text.matchAll(this.addedRegex)) {
      const token = this.addedLongestFirst[m.slice(1).findIndex((g) => g !== undefined)]!; // which group matched
      encodeSegment(text.slice(prev, m.index!), prev === 0);
      ids.push(token.id);
      prev = m.index! + m[0].length;
    }
    encodeSegment(text.slice(prev), prev === 0);
    return ids;
  }

  decode(ids: number[], opts: { skipSpecial?: boolean } = {}): string {
    const tokens: string[] = [];
    ids.forEach((id, i) => {
      if (!Number.isInteger(id) || id < 0) throw new Error(`decode: id ${id} at position ${i} is not a token id`);
      if (opts.skipSpecial && this.specialIds.has(id)) return;
      // An id with no token decodes to nothing, as in HF tokenizers: models pad their embedding past
      // the tokenizer (pythia's has more rows than its tokenizer has tokens), and sampling can pick them.
      const text = this.idToToken(id);
      if (text !== undefined) tokens.push(text);
    });
    return this.decodeTokens(tokens);
  }

  tokenToId(token: string): number | undefined {
    return this.addedByContent.get(token)?.id ?? this.model.vocab.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.addedById.get(id)?.content ?? this.model.idToToken.get(id);
  }

  toJSON(): object {
    return structuredClone(this.json);
  }
}

/** Builds a tokenizer from a parsed tokenizer.json; `source` (a file name) prefixes every error. */
export function tokenizerFromJSON(json: unknown, source = 'tokenizer.json'): Tokenizer {
  return new HfTokenizer(json, source);
}

/** Loads a tokenizer.json file, the tokenizer.json inside a directory, or a hub id's ("owner/name[@revision]"). */
export async function loadTokenizer(pathDirOrId: string): Promise<Tokenizer> {
  const pathOrDir = await resolveModelPath(pathDirOrId, 'tokenizer');
  const path = (await stat(pathOrDir)).isDirectory() ? join(pathOrDir, 'tokenizer.json') : pathOrDir;
  const text = await readFile(path, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}: invalid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  return new HfTokenizer(json, path, true);
}

/** Writes tokenizer.json atomically (temp file in the same directory, then rename). A directory gets dir/tokenizer.json. */
export async function saveTokenizer(tok: Tokenizer, path: string): Promise<void> {
  const isDir = await stat(path).then((s) => s.isDirectory(), () => false);
  const target = isDir ? join(path, 'tokenizer.json') : path;
  await mkdir(dirname(target), { recursive: true });
  await writeFileAtomic(target, JSON.stringify(tok.toJSON(), null, 2) + '\n');
}
