// A hand-written tokenizer.json with a few merges; expected ids are worked out by hand below.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer, saveTokenizer, tokenizerFromJSON } from '../sdk/tokenizer/index.ts';

// 'Ã' and '©' are the byte-level characters of the UTF-8 bytes C3 A9 of "é".
const VOCAB = [
  'l', 'o', 'w', 'e', 'r', 'n', 's', 't', 'i', 'd', 'Ġ', // 0..10
  'lo', 'low', 'er', 'Ġlow', 'es', 'est', 'ne', 'Ġn', 'Ġne', 'Ġnew', // 11..20
  'lowe', // 21: in the vocab but not reachable by merges (for ignore_merges)
];
const MERGES = ['l o', 'lo w', 'e r', 'Ġ low', 'e s', 'es t', 'n e', 'Ġ n', 'Ġ ne', 'Ġne w'];

function tinyJSON(overrides: { ignoreMerges?: boolean; mergesAsPairs?: boolean } = {}) {
  const vocab = Object.fromEntries([...VOCAB, 'Ã', '©'].map((t, i) => [t, i < VOCAB.length ? i : i + 2]));
  return {
    version: '1.0',
    added_tokens: [
      { id: 22, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
      { id: 23, content: '<think>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: false },
    ],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: overrides.ignoreMerges ?? false,
      vocab, // 'Ã' = 24, '©' = 25
      merges: overrides.mergesAsPairs ? MERGES.map((m) => m.split(' ')) : MERGES,
    },
  };
}

test('merges apply lowest rank first, not left to right', () => {
  const tok = tokenizerFromJSON(tinyJSON());
  // "lower": l o w e r -> (l,o) r0 -> (lo,w) r1 -> (e,r) r2 = [low, er]
  // " newest" = Ġ n e w e s t: (e,s) r4, (es,t) r5, then (n,e) r6 beats (Ġ,n) r7, (Ġ,ne) r8, (Ġne,w) r9 = [Ġnew, est]
  assert.deepEqual(tok.encode('lower newest'), [12, 13, 20, 16]);
  assert.deepEqual(tok.encode('lower newest').map((id) => tok.idToToken(id)), ['low', 'er', 'Ġnew', 'est']);
  assert.equal(tok.decode([12, 13, 20, 16]), 'lower newest');
  // merges given as [a, b] pairs mean the same thing
  assert.deepEqual(tokenizerFromJSON(tinyJSON({ mergesAsPairs: true })).encode('lower newest'), [12, 13, 20, 16]);
});

test('ignore_merges takes a whole piece found in the vocab', () => {
  assert.deepEqual(tokenizerFromJSON(tinyJSON()).encode('lowe'), [12, 3]);
  assert.deepEqual(tokenizerFromJSON(tinyJSON({ ignoreMerges: true })).encode('lowe'), [21]);
});

test('added tokens are matched literally before BPE; special ones can be skipped on decode', () => {
  const tok = tokenizerFromJSON(tinyJSON());
  assert.deepEqual(tok.encode('low<think>lower<|endoftext|>'), [12, 23, 12, 13, 22]);
  assert.equal(tok.decode([12, 23, 12, 13, 22]), 'low<think>lower<|endoftext|>');
  assert.equal(tok.decode([12, 23, 12, 13, 22], { skipSpecial: true }), 'low<think>lower');
  assert.deepEqual([...tok.specialIds], [22]);
  assert.equal(tok.eosId, 22);
  assert.equal(tok.padId, 22); // no <|pad|>: falls back to eos
  assert.equal(tok.vocabSize, 26);
  assert.equal(tok.tokenToId('<think>'), 23);
  assert.equal(tok.tokenToId('Ġnew'), 20);
  assert.equal(tok.idToToken(23), '<think>');
  assert.equal(tok.idToToken(999), undefined);
});

test('decoding half a UTF-8 character gives U+FFFD instead of throwing', () => {
  const tok = tokenizerFromJSON(tinyJSON());
  assert.deepEqual(tok.encode('é'), [24, 25]);
  assert.equal(tok.decode([24]), '\uFFFD');
  assert.equal(tok.decode([25]), '\uFFFD');
  assert.equal(tok.decode([24, 25]), 'é');
  // an id with no token decodes to nothing, as HF tokenizers (and @huggingface/tokenizers) do
  assert.equal(tok.decode([24, 1000, 25]), 'é');
  assert.throws(() => tok.decode([-1]), /id -1 at position 0 is not a token id/);
});

test('characters outside the vocab are dropped when there is no unk_token (as HF does)', () => {
  assert.deepEqual(tokenizerFromJSON(tinyJSON()).encode('lox'), [11]);
});

test('unk_token replaces unknown characters, fused when fuse_unk is set', () => {
  const json = tinyJSON();
  json.model.vocab['<unk>'] = 26;
  (json.model as Record<string, unknown>).unk_token = '<unk>';
  assert.deepEqual(tokenizerFromJSON(json).encode('lxxo'), [0, 26, 26, 1]);
  json.model.fuse_unk = true;
  assert.deepEqual(tokenizerFromJSON(json).encode('lxxo'), [0, 26, 1]);
});

test('toJSON round-trips and save/load gives the same ids; a directory is accepted', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'orz-tok-'));
  try {
    const tok = tokenizerFromJSON(tinyJSON());
    assert.deepEqual(tok.toJSON(), tinyJSON());
    await saveTokenizer(tok, dir);
    assert.deepEqual(await readdir(dir), ['tokenizer.json']); // no temp file left behind
    const loaded = await loadTokenizer(dir);
    assert.deepEqual(loaded.encode('lower newest<think>'), [12, 13, 20, 16, 23]);
    assert.deepEqual(loaded.toJSON(), tok.toJSON());
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('bad files and unsupported components give errors that name the file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'orz-tok-'));
  try {
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{"model": {"type": "BPE", ');
    await assert.rejects(loadTokenizer(broken), (e: Error) => e.message.includes(broken) && /invalid JSON/.test(e.message));

    const noModel = join(dir, 'nomodel.json');
    await writeFile(noModel, JSON.stringify({ added_tokens: [] }));
    await assert.rejects(loadTokenizer(noModel), (e: Error) => e.message.startsWith(`${noModel}: model`));

    const badMerge = tinyJSON();
    badMerge.model.merges = ['l o', 'o q'];
    assert.throws(() => tokenizerFromJSON(badMerge, 'm.json'), /^Error: m\.json: model: merge 1 .*"q"/);

    const wordPiece = { ...tinyJSON(), model: { type: 'WordPiece', vocab: {} } };
    assert.throws(() => tokenizerFromJSON(wordPiece, 'wp.json'), /wp\.json: model: .*WordPiece/);

    const whitespace = { ...tinyJSON(), pre_tokenizer: { type: 'WhitespaceSplit' } };
    assert.throws(() => tokenizerFromJSON(whitespace, 'ws.json'), /ws\.json: pre_tokenizer: .*WhitespaceSplit/);

    const possessive = { ...tinyJSON(), pre_tokenizer: { type: 'Split', pattern: { Regex: 'a++' }, behavior: 'Isolated', invert: false } };
    assert.throws(() => tokenizerFromJSON(possessive, 'px.json'), /px\.json: pre_tokenizer.*possessive/);

    const decoder = { ...tinyJSON(), decoder: { type: 'WordPiece' } };
    assert.throws(() => tokenizerFromJSON(decoder, 'd.json'), /d\.json: decoder: .*WordPiece/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
