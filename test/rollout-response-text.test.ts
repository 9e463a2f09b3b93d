// Incremental response text and stop detection (sdk/rollout/response-text.ts, token-text.ts) against
// the rule they replace: decode the whole response after every token and look for the stop strings.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../sdk/engine/rng.ts';
import { tokenizerFromJSON, trainByteLevelBPE, type Tokenizer } from '../sdk/tokenizer/index.ts';
import { BYTE_TO_CHAR, utf8Bytes, utf8Text } from '../sdk/tokenizer/bytes.ts';
import { firstStop, ResponseText } from '../sdk/rollout/response-text.ts';
import { decodeModelOf, lastBoundary } from '../sdk/rollout/token-text.ts';

// Multi-byte text (2-, 3- and 4-byte characters), so the vocabulary has tokens that hold part of a
// character and characters that span several tokens.
const corpus = [
  'User: what is 12 + 7? Assistant: <think> 12 + 7 = 19 </think> <answer> \\boxed{19} </answer>',
  'é è ü ß ñ € £ ∑ → ✓ 日本語 中文 한국어 😀 🚀 é€😀 naïve café über straße',
  'Human: hello there, how are you? Assistant: fine, thanks.',
];
const byteLevel = trainByteLevelBPE(corpus, {
  vocabSize: 360, specialTokens: ['<|endoftext|>', '<|pad|>'], addedTokens: ['<answer>', '</answer>', 'é!'],
});
// the same tokenizer without a decoder: decode joins token texts with spaces
const json = byteLevel.toJSON() as Record<string, unknown>;
const joined = tokenizerFromJSON({ ...json, decoder: null }, 'no-decoder');
// a tokenizer the decode model does not know: the engine decodes whole responses as before
const opaque: Tokenizer = {
  ...byteLevel,
  encode: (t) => byteLevel.encode(t),
  decode: (ids) => ids.map((id) => String.fromCharCode(97 + (id % 26))).join(''),
  tokenToId: (t) => byteLevel.tokenToId(t),
  idToToken: (id) => byteLevel.idToToken(id),
  toJSON: () => ({ custom: true }),
};

/** The old rule: after each token decode everything; stop at the first prefix containing a stop string. */
function reference(tok: Tokenizer, ids: number[], stops: string[]): { n: number; text: string } {
  for (let n = 1; n <= ids.length; n++) {
    const text = tok.decode(ids.slice(0, n));
    const cut = firstStop(text, stops);
    if (cut >= 0) return { n, text: text.slice(0, cut) };
  }
  return { n: -1, text: tok.decode(ids) };
}

function incremental(tok: Tokenizer, ids: number[], stops: string[]): { n: number; text: string } {
  const seen: number[] = [];
  const rt = new ResponseText(tok, decodeModelOf(tok), stops, seen);
  for (const id of ids) {
    seen.push(id);
    const stopped = rt.push(id);
    if (stopped !== null) return { n: seen.length, text: stopped };
  }
  return { n: -1, text: rt.text() };
}

/** Random responses: uniform ids (lots of broken UTF-8), or encoded multi-byte text with ids mixed in. */
function randomResponse(tok: Tokenizer, rng: Rng): number[] {
  const len = rng.int(1, 60);
  if (rng.next() < 0.5) return Array.from({ length: len }, () => rng.int(0, tok.vocabSize - 1));
  const src = corpus[rng.int(0, corpus.length - 1)]!;
  const start = rng.int(0, src.length - 1);
  const ids = tok.encode(src.slice(start, start + len));
  for (let i = 0; i < ids.length; i++) if (rng.next() < 0.15) ids[i] = rng.int(0, tok.vocabSize - 1);
  return ids.length > 0 ? ids : [rng.int(0, tok.vocabSize - 1)];
}

/** Stop strings: fixed ones, U+FFFD, and substrings of decoded responses (so some hit mid-token). */
function randomStops(tok: Tokenizer, rng: Rng): string[] {
  const pool = ['</answer>', 'User:', 'Human:', 'Assistant:', '€', 'é', '😀', '\uFFFD', '\uFFFD\uFFFD', 'ü ß', 'e'];
  const stops = Array.from({ length: rng.int(0, 4) }, () => pool[rng.int(0, pool.length - 1)]!);
  if (rng.next() < 0.5) {
    const text = tok.decode(randomResponse(tok, rng));
    const a = rng.int(0, Math.max(0, text.length - 1));
    const piece = text.slice(a, a + rng.int(1, 6));
    if (piece !== '') stops.push(piece);
  }
  return stops;
}

for (const [name, tok] of [['byte-level', byteLevel], ['no decoder', joined], ['unknown tokenizer', opaque]] as const) {
  test(`incremental stop detection equals decoding every prefix (${name})`, () => {
    const rng = new Rng(name.length);
    let stopped = 0;
    for (let k = 0; k < 1500; k++) {
      const ids = randomResponse(tok, rng);
      const stops = randomStops(tok, rng);
      const want = reference(tok, ids, stops);
      assert.deepEqual(incremental(tok, ids, stops), want, `response ${k}: ids ${JSON.stringify(ids)} stops ${JSON.stringify(stops)}`);
      if (want.n >= 0) stopped++;
    }
    assert.ok(stopped > 150 && stopped < 1400, `a fair share of responses hit a stop string (${stopped})`);
  });
}

test('the decode model is recognised: bytes for ByteLevel, join without a decoder, full otherwise', () => {
  assert.equal(decodeModelOf(byteLevel).kind, 'bytes');
  assert.equal(decodeModelOf(joined).kind, 'join');
  assert.equal(decodeModelOf(opaque).kind, 'full');
});

test('a character split across tokens shows as U+FFFD until complete, as decode shows it', () => {
  // one byte token per byte of 'a😀' (every byte-level vocabulary has the 256 byte tokens)
  const ids = [...utf8Bytes('a😀')].map((b) => byteLevel.tokenToId(BYTE_TO_CHAR[b]!)!);
  assert.equal(ids.length, 5);
  const seen: number[] = [];
  const rt = new ResponseText(byteLevel, decodeModelOf(byteLevel), ['a\uFFFD\uFFFD'], seen);
  const shown: string[] = [];
  for (const id of ids) {
    seen.push(id);
    assert.equal(rt.push(id), null, 'an unfinished character is one U+FFFD, never two');
    shown.push(rt.text());
    assert.equal(rt.text(), byteLevel.decode(seen));
  }
  assert.deepEqual(shown, ['a', 'a\uFFFD', 'a\uFFFD', 'a\uFFFD', 'a😀']);
});

test('lastBoundary splits bytes where UTF-8 decoding can restart, leaving one unfinished sequence', () => {
  const rng = new Rng(11);
  const interesting = [0x41, 0x7f, 0x80, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xa0, 0xed, 0x9f, 0xef, 0xf0, 0x90, 0xf4, 0x8f, 0xf5, 0xff];
  for (let k = 0; k < 20000; k++) {
    const bytes = Uint8Array.from({ length: rng.int(0, 9) }, () => (rng.next() < 0.6 ? interesting[rng.int(0, interesting.length - 1)]! : rng.int(0, 255)));
    const cut = lastBoundary(bytes, 0, bytes.length);
    const rest = bytes.subarray(cut);
    assert.ok(rest.length <= 3, `at most one unfinished sequence: ${[...bytes]}`);
    assert.equal(utf8Text(bytes.subarray(0, cut)) + utf8Text(rest), utf8Text(bytes), `split at ${cut}: ${[...bytes]}`);
    assert.equal(utf8Text(rest), rest.length > 0 ? '\uFFFD' : '', `tail ${[...rest]}`);
    // every later split point of a streaming decode is also a restart point
    for (let j = 0; j <= cut; j++) {
      const k2 = lastBoundary(bytes, 0, j);
      assert.equal(utf8Text(bytes.subarray(0, k2)) + utf8Text(bytes.subarray(k2, cut)), utf8Text(bytes.subarray(0, cut)));
    }
  }
});

test('an id past the tokenizer (a padded embedding row, as pythia has) decodes to nothing on both paths', () => {
  const bad = byteLevel.vocabSize + 5;
  const ids = [...byteLevel.encode('User'), bad, ...byteLevel.encode(' hi')];
  assert.equal(byteLevel.decode(ids), 'User hi');
  assert.deepEqual(incremental(byteLevel, ids, ['</answer>']), reference(byteLevel, ids, ['</answer>']));
  assert.deepEqual(incremental(byteLevel, ids, []), reference(byteLevel, ids, []));
  assert.equal(incremental(byteLevel, ids, []).text, 'User hi');
});

test('an empty stop string stops at the first token with an empty response, as before', () => {
  const ids = byteLevel.encode('hello there');
  assert.deepEqual(incremental(byteLevel, ids, ['xyz', '']), { n: 1, text: '' });
  assert.deepEqual(reference(byteLevel, ids, ['xyz', '']), { n: 1, text: '' });
});
