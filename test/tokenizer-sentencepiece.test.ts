// SentencePiece-style BPE in tokenizer.json (Llama-2, Mistral): byte_fallback, the Prepend/Replace
// normalizers or a Metaspace pre-tokenizer, and the Replace/ByteFallback/Fuse/Strip/Metaspace decoders.
// A hand-written vocabulary; expected ids are worked out by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tokenizerFromJSON } from '../sdk/tokenizer/index.ts';

const BYTES = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
// ids: <unk> 0, <s> 1, </s> 2, bytes 3..258, then pieces
const PIECES = ['▁', 'a', 'b', '▁a', '▁ab', 'ab', 'é'];
const pieceId = (p: string) => 259 + PIECES.indexOf(p);
const byteId = (b: number) => 3 + b;

function spJSON(opts: { metaspace?: 'always' | 'first' | 'never'; byteFallback?: boolean } = {}) {
  const vocab = Object.fromEntries(['<unk>', '<s>', '</s>', ...BYTES, ...PIECES].map((t, i) => [t, i]));
  const legacy = opts.metaspace === undefined;
  return {
    version: '1.0',
    added_tokens: ['<unk>', '<s>', '</s>'].map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: legacy
      ? { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] }
      : null,
    pre_tokenizer: legacy ? null : { type: 'Metaspace', replacement: '▁', prepend_scheme: opts.metaspace, split: false },
    post_processor: null,
    decoder: legacy
      ? {
          type: 'Sequence',
          decoders: [
            { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
            { type: 'ByteFallback' },
            { type: 'Fuse' },
            { type: 'Strip', content: ' ', start: 1, stop: 0 },
          ],
        }
      : { type: 'Sequence', decoders: [{ type: 'Metaspace', replacement: '▁', prepend_scheme: opts.metaspace, split: false }, { type: 'ByteFallback' }, { type: 'Fuse' }] },
    model: {
      type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: true, byte_fallback: opts.byteFallback ?? true, vocab, merges: ['▁ a', 'a b', '▁a b'],
    },
  };
}

test('byte_fallback: a character outside the vocab becomes its UTF-8 byte tokens, and decodes back', () => {
  const tok = tokenizerFromJSON(spJSON(), 'sp.json');
  // "ab 中": Prepend ▁ and spaces to ▁ give "▁ab▁中"; 中 is E4 B8 AD
  const ids = tok.encode('ab 中');
  assert.deepEqual(ids, [pieceId('▁ab'), pieceId('▁'), byteId(0xe4), byteId(0xb8), byteId(0xad)]);
  assert.equal(tok.decode(ids), 'ab 中');
  // é is in the vocab itself, so no fallback for it
  assert.deepEqual(tok.encode('é'), [pieceId('▁'), pieceId('é')]);
});

test('without byte_fallback unknown characters become one fused <unk>', () => {
  const tok = tokenizerFromJSON(spJSON({ byteFallback: false }), 'sp.json');
  assert.deepEqual(tok.encode('a中文b'), [pieceId('▁a'), 0, pieceId('b')]);
});

test('ByteFallback decoder: a byte run that is not UTF-8 gives one U+FFFD per byte token', () => {
  const tok = tokenizerFromJSON(spJSON(), 'sp.json');
  assert.equal(tok.decode([byteId(0xe4), byteId(0xb8)]), '\uFFFD\uFFFD');
  assert.equal(tok.decode([pieceId('a'), byteId(0xff), pieceId('b')]), 'a\uFFFDb');
});

test('legacy normalizers: Prepend adds one mark per segment between added tokens; Strip drops one leading space', () => {
  const tok = tokenizerFromJSON(spJSON(), 'sp.json');
  assert.deepEqual(tok.encode('a<s>a'), [pieceId('▁a'), 1, pieceId('▁a')]);
  assert.deepEqual(tok.encode('  a'), [pieceId('▁'), pieceId('▁'), pieceId('▁a')]);
  assert.equal(tok.decode(tok.encode('  a')), '  a');
  assert.equal(tok.decode([1, pieceId('▁a')]), '<s> a');
  assert.equal(tok.decode([1, pieceId('▁a')], { skipSpecial: true }), 'a');
});

test('Metaspace prepend_scheme: "first" marks only the start of the text, "never" nothing', () => {
  const first = tokenizerFromJSON(spJSON({ metaspace: 'first' }), 'first.json');
  assert.deepEqual(first.encode('a<s>a'), [pieceId('▁a'), 1, pieceId('a')]);
  assert.equal(first.decode(first.encode('ab ab')), 'ab ab');
  const always = tokenizerFromJSON(spJSON({ metaspace: 'always' }), 'always.json');
  assert.deepEqual(always.encode('a<s>a'), [pieceId('▁a'), 1, pieceId('▁a')]);
  const never = tokenizerFromJSON(spJSON({ metaspace: 'never' }), 'never.json');
  assert.deepEqual(never.encode('ab'), [pieceId('ab')]);
  assert.equal(never.decode([pieceId('▁a')]), ' a');
});

test('Strip removes at most start leading and stop trailing content characters from each token; Replace takes a regex', async () => {
  const { buildDecoder } = await import('../sdk/tokenizer/decoders.ts');
  const strip = buildDecoder({ type: 'Strip', content: ' ', start: 2, stop: 1 }, 'strip');
  assert.equal(strip(['   a  ', ' b', 'c ', '  ']), ' a ' + 'b' + 'c' + '');
  const replace = buildDecoder({ type: 'Replace', pattern: { Regex: '_+' }, content: '-' }, 'replace');
  assert.equal(replace(['a__b', '_c']), 'a-b-c');
  assert.throws(() => buildDecoder({ type: 'Strip', content: '  ', start: 1, stop: 0 }, 'bad.json: decoder'), /bad\.json: decoder: Strip needs a one-character "content"/);
});

test('Metaspace split: true cuts before every mark, one piece per mark in a run (HF Rust\'s MergedWithNext)', async () => {
  const { buildPreTokenizer } = await import('../sdk/tokenizer/pretokenize.ts');
  const pre = buildPreTokenizer({ type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true }, 'ms.json');
  assert.deepEqual(pre(['hello  world   ']), ['▁hello', '▁', '▁world', '▁', '▁', '▁']);
  assert.deepEqual(pre(['▁x']), ['▁x']); // already marked: nothing prepended
});
