// The byte-level BPE trainer: lossless, digit-preserving, HF-compatible output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer, saveTokenizer, tokenizerFromJSON, trainByteLevelBPE } from '../sdk/tokenizer/index.ts';

const EVAL_DIR = new URL('../../shared/data/orz-eval/', import.meta.url);
const evalPrompts = (name: string): string[] =>
  JSON.parse(readFileSync(new URL(`${name}.json`, EVAL_DIR), 'utf8')).map((r: { prompt: { value: string }[] }) => r.prompt[0]!.value);
const ALL_PROMPTS = ['math500', 'aime2024', 'gpqa_diamond'].flatMap(evalPrompts);

const SPECIAL = ['<|endoftext|>', '<|pad|>'];
const ADDED = ['<think>', '</think>', '<answer>', '</answer>', '\\boxed{'];
const CORPUS = [
  ...evalPrompts('math500').slice(0, 150),
  ...Array.from({ length: 200 }, (_, i) => `User: what is ${i * 37} + ${i * 91}?\nAssistant: <think> add </think> <answer> \\boxed{${i * 128}} </answer>`),
];
const train = (corpus: Iterable<string> = CORPUS) =>
  trainByteLevelBPE(corpus, { vocabSize: 800, specialTokens: SPECIAL, addedTokens: ADDED });

test('encode -> decode is lossless on every ORZ eval prompt (unicode, LaTeX)', () => {
  const tok = train();
  assert.equal(ALL_PROMPTS.length, 728);
  const extra = ['', ' ', '\n\n', '\uFEFFBOM first', 'émoji 🙂 and 中文 and \u0085 and \r\n', 'tab\there  '];
  for (const text of [...ALL_PROMPTS, ...extra]) assert.equal(tok.decode(tok.encode(text)), text);
  // and it compresses: far fewer tokens than bytes
  const bytes = ALL_PROMPTS.reduce((n, p) => n + Buffer.byteLength(p), 0);
  const tokens = ALL_PROMPTS.reduce((n, p) => n + tok.encode(p).length, 0);
  assert.ok(tokens < 0.6 * bytes, `${tokens} tokens for ${bytes} bytes`);
});

test('digits are never merged', () => {
  const tok = train();
  const json = tok.toJSON() as { model: { vocab: Record<string, number> } };
  const withDigit = Object.keys(json.model.vocab).filter((t) => /[0-9]/.test(t));
  assert.deepEqual(withDigit.sort(), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  const ids = tok.encode('12345 + 67890 = 80235');
  const pieces = ids.map((id) => tok.idToToken(id)!);
  assert.deepEqual(pieces.filter((t) => /[0-9]/.test(t)), [...'1234567890', ...'80235']);
});

test('special tokens get the first ids; added tokens are single non-special ids that decode to their text', () => {
  const tok = train();
  assert.equal(tok.tokenToId('<|endoftext|>'), 0);
  assert.equal(tok.tokenToId('<|pad|>'), 1);
  assert.equal(tok.eosId, 0);
  assert.equal(tok.padId, 1);
  assert.deepEqual([...tok.specialIds].sort(), [0, 1]);
  const addedIds = ADDED.map((t) => tok.encode(t));
  for (const ids of addedIds) assert.equal(ids.length, 1);
  assert.equal(new Set(addedIds.flat()).size, ADDED.length);
  for (const [i, t] of ADDED.entries()) {
    assert.ok(!tok.specialIds.has(addedIds[i]![0]!));
    assert.equal(tok.decode(addedIds[i]!), t);
  }
  const text = '<think> 2+2 </think> <answer> \\boxed{4} </answer><|endoftext|>';
  const ids = tok.encode(text);
  assert.ok(ids.includes(tok.tokenToId('\\boxed{')!));
  assert.equal(tok.decode(ids), text);
  assert.equal(tok.decode(ids, { skipSpecial: true }), text.replace('<|endoftext|>', ''));
});

test('vocab size is respected and frequent words become single tokens', () => {
  const tok = train();
  assert.equal(tok.vocabSize, 800);
  assert.equal(tok.encode(' the').length, 1);
  assert.equal(tok.encode('Assistant').length, 1); // appears 200 times in the corpus
  assert.throws(() => trainByteLevelBPE([], { vocabSize: 100 }), /vocabSize must be an integer >= 256/);
  assert.throws(() => trainByteLevelBPE([], { vocabSize: 300, addedTokens: ['<a>', '<a>'] }), /listed twice/);
  // a tiny corpus runs out of pairs before the target size. Pieces "abab" and " abab":
  // (a,b) x4 -> "ab"; (ab,ab) x2 -> "abab"; (Ġ,abab) is seen once, below the default minFrequency 2
  assert.equal(trainByteLevelBPE(['abab abab'], { vocabSize: 1000 }).vocabSize, 256 + 2);
  assert.equal(trainByteLevelBPE(['abab abab'], { vocabSize: 1000, minFrequency: 1 }).vocabSize, 256 + 3);
});

test('training is deterministic and does not depend on corpus order', () => {
  const a = JSON.stringify(train().toJSON());
  const b = JSON.stringify(train([...CORPUS].reverse()).toJSON());
  assert.equal(a, b);
});

test('save -> load gives the same tokenizer; the file is an HF tokenizer.json', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'orz-train-'));
  try {
    const tok = train();
    const path = join(dir, 'sub', 'tokenizer.json');
    await saveTokenizer(tok, path);
    const loaded = await loadTokenizer(path);
    for (const p of ALL_PROMPTS.slice(0, 100)) assert.deepEqual(loaded.encode(p), tok.encode(p));
    assert.deepEqual(loaded.toJSON(), tok.toJSON());
    assert.equal(loaded.vocabSize, tok.vocabSize);

    const json = JSON.parse(await readFile(path, 'utf8'));
    assert.equal(json.model.type, 'BPE');
    assert.equal(json.decoder.type, 'ByteLevel');
    assert.deepEqual(json.pre_tokenizer.pretokenizers.map((p: { type: string }) => p.type), ['Split', 'ByteLevel']);
    for (const m of json.model.merges) assert.equal(m.split(' ').length, 2, m);
    // the model vocab has specials + 256 bytes + merges; added tokens live only in added_tokens, after them
    const modelSize = Object.keys(json.model.vocab).length;
    assert.deepEqual(json.added_tokens.map((t: { id: number }) => t.id), [0, 1, ...ADDED.map((_, i) => modelSize + i)]);
    assert.deepEqual(tokenizerFromJSON(json, path).encode('<answer>'), [modelSize + 2]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
