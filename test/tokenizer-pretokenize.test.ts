// Pre-tokenizers and normalizers of tokenizer.json; expected pieces are derived by hand from the regexes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tokenizerFromJSON } from '../sdk/tokenizer/index.ts';
import { buildPreTokenizer, splitText } from '../sdk/tokenizer/pretokenize.ts';
import { translateOnigurumaPattern } from '../sdk/tokenizer/regex.ts';
import { BYTE_TO_CHAR } from '../sdk/tokenizer/bytes.ts';

// Qwen2's pre-tokenizer, as written in its tokenizer.json
const QWEN2_REGEX =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const qwen2PreTokenizer = (regex = QWEN2_REGEX) => ({
  type: 'Sequence',
  pretokenizers: [
    { type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false },
    { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
  ],
});

test('Qwen2 Split regex: case-insensitive contractions, single digits, newline runs', () => {
  const pre = buildPreTokenizer(qwen2PreTokenizer(), 'qwen2.json');
  // byte-level spelling: space = Ġ, "\n" = Ċ, "\r" = č
  assert.deepEqual(pre(["Hello world's HE'S 12345 abc\n\n  x"]), [
    'Hello', 'Ġworld', "'s", 'ĠHE', "'S", 'Ġ', '1', '2', '3', '4', '5', 'Ġabc', 'ĊĊ', 'Ġ', 'Ġx',
  ]);
  assert.deepEqual(pre(['x+=1;\r\n']), ['x', '+=', '1', ';čĊ']);
  // a non-letter, non-newline character may lead a word: "(", "$"
  assert.deepEqual(pre(['f(x) $\\frac']), ['f', '(x', ')', 'Ġ$\\', 'frac']);
});

test('Llama-3 style \\p{N}{1,3} groups digits by three', () => {
  const pre = buildPreTokenizer(qwen2PreTokenizer(QWEN2_REGEX.replace('\\p{N}|', '\\p{N}{1,3}|')), 'llama3.json');
  assert.deepEqual(pre(['x 1234567']), ['x', 'Ġ', '123', '456', '7']);
});

test('ByteLevel with use_regex splits like GPT-2; add_prefix_space adds one leading space', () => {
  const gpt2 = buildPreTokenizer({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true }, 'gpt2.json');
  assert.deepEqual(gpt2(["Hello, world!  It's 2024"]), ['Hello', ',', 'Ġworld', '!', 'Ġ', 'ĠIt', "'s", 'Ġ2024']);
  const prefixed = buildPreTokenizer({ type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true }, 'gpt2.json');
  assert.deepEqual(prefixed(['Hello world']), ['ĠHello', 'Ġworld']);
  assert.deepEqual(prefixed([' Hi']), ['ĠHi']);
});

test('Split behaviors on "the-final--countdown" (the example in HF docs)', () => {
  const dash = /-/gu;
  const text = 'the-final--countdown';
  assert.deepEqual(splitText(text, dash, 'Removed'), ['the', 'final', 'countdown']);
  assert.deepEqual(splitText(text, dash, 'Isolated'), ['the', '-', 'final', '-', '-', 'countdown']);
  assert.deepEqual(splitText(text, dash, 'MergedWithPrevious'), ['the-', 'final-', '-', 'countdown']);
  assert.deepEqual(splitText(text, dash, 'MergedWithNext'), ['the', '-final', '-', '-countdown']);
  assert.deepEqual(splitText(text, dash, 'Contiguous'), ['the', '-', 'final', '--', 'countdown']);
  // invert: the pattern describes what to keep
  assert.deepEqual(splitText('ab12cd', /\p{L}+/gu, 'Removed', true), ['ab', 'cd']);
  const viaJson = buildPreTokenizer({ type: 'Split', pattern: { String: '-' }, behavior: 'MergedWithNext', invert: false }, 'x.json');
  assert.deepEqual(viaJson([text]), ['the', '-final', '-', '-countdown']);
});

test('Digits: individual or contiguous', () => {
  const one = buildPreTokenizer({ type: 'Digits', individual_digits: true }, 'd.json');
  const run = buildPreTokenizer({ type: 'Digits', individual_digits: false }, 'd.json');
  assert.deepEqual(one(['a12b3']), ['a', '1', '2', 'b', '3']);
  assert.deepEqual(run(['a12b3']), ['a', '12', 'b', '3']);
});

test('NFC normalizer composes before bytes are taken', () => {
  const vocab = Object.fromEntries(BYTE_TO_CHAR.map((c, i) => [c, i]));
  const json = (normalizer: unknown) => ({
    added_tokens: [],
    normalizer,
    pre_tokenizer: qwen2PreTokenizer(),
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: { type: 'BPE', vocab, merges: [] },
  });
  const decomposed = 'e\u0301'; // e + combining acute: bytes 65 CC 81
  assert.deepEqual(tokenizerFromJSON(json(null)).encode(decomposed), [0x65, 0xcc, 0x81]);
  assert.deepEqual(tokenizerFromJSON(json({ type: 'NFC' })).encode(decomposed), [0xc3, 0xa9]);
  assert.deepEqual(tokenizerFromJSON(json({ type: 'Sequence', normalizers: [{ type: 'NFC' }] })).encode(decomposed), [0xc3, 0xa9]);
});

test('Oniguruma translation: \\s is White_Space, lone braces are literal, {,n} and \\x{...} work', () => {
  const js = (p: string) => new RegExp(`^(?:${translateOnigurumaPattern(p)})$`, 'u');
  assert.ok(js('\\s').test('\u0085')); // NEL is White_Space (JS \s says no)
  assert.ok(!js('\\s').test('\uFEFF')); // BOM is not (JS \s says yes)
  assert.ok(js('a{b}').test('a{b}'));
  assert.ok(js('x{,2}').test('xx') && !js('x{,2}').test('xxx'));
  assert.ok(js('\\x{4E00}').test('一'));
  assert.ok(js('(?i:ab)c').test('ABc') && !js('(?i:ab)c').test('ABC'));
  assert.ok(js('(?i:[a-c])').test('B'));
  assert.ok(js('^a$\\na').test('a\na')); // Ruby anchors are per line
});
