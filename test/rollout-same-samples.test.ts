// The faster sampling loop draws what the previous one drew: these values were recorded with the
// previous sampleToken/tokenLogprob and RolloutEngine (whole-response decode every token, per-row
// allocations) on the cpu backend. If the model's numerics change on purpose, re-record them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Rng } from '../sdk/engine/rng.ts';
import { tf } from '../sdk/engine/tf.ts';
import { registerOnnxBackend } from '../sdk/engine/onnx/index.ts';
import { TransformerLM } from '../sdk/model/index.ts';
import { trainByteLevelBPE } from '../sdk/tokenizer/index.ts';
import { RolloutEngine } from '../sdk/rollout/engine.ts';
import { firstStop } from '../sdk/rollout/response-text.ts';
import { TokenSampler, sampleToken, tokenLogprob } from '../sdk/rollout/sampling.ts';

test('TokenSampler draws the recorded tokens and log-probs (ties, top-k, top-p, temperatures, greedy)', () => {
  const V = 300;
  const logitsRng = new Rng(42);
  const logits = Float32Array.from({ length: 8 * V }, () => (logitsRng.next() * 2 - 1) * 6);
  for (let i = 0; i < 20; i++) logits[V + i * 7] = 3; // ties in row 1
  const recorded = [
    { p: { temperature: 1, topP: 1, topK: 0 }, first: [52, 188, 192, 109, 19, 125, 123, 194, 22, 188, 171, 197, 217, 55, 151, 212], sum: 53983, lpSum: -1674.0222365804154 },
    { p: { temperature: 0.7, topP: 1, topK: 0 }, first: [51, 188, 179, 109, 19, 131, 121, 194, 17, 188, 156, 197, 218, 64, 135, 212], sum: 53040, lpSum: -1564.026938299104 },
    { p: { temperature: 1, topP: 1, topK: 20 }, first: [103, 40, 66, 249, 72, 216, 101, 39, 92, 40, 163, 154, 224, 230, 245, 118], sum: 53806, lpSum: -1412.3574900426122 },
    { p: { temperature: 1.5, topP: 0.8, topK: 0 }, first: [2, 186, 202, 109, 72, 167, 162, 4, 164, 34, 285, 101, 68, 216, 43, 21], sum: 53797, lpSum: -1639.6782915391168 },
    { p: { temperature: 0.9, topP: 0.5, topK: 40 }, first: [107, 127, 55, 76, 72, 74, 114, 110, 22, 110, 55, 140, 141, 178, 123, 80], sum: 47599, lpSum: -1357.5697474278663 },
    { p: { temperature: 0, topP: 1, topK: 0 }, first: [116, 51, 49, 126, 72, 121, 299, 212, 116, 51, 49, 126, 72, 121, 299, 212], sum: 52300, lpSum: -1278.037785986827 },
  ];
  for (const { p, first, sum, lpSum } of recorded) {
    const sampler = new TokenSampler(V, p);
    const rng = new Rng(7), rngOneOff = new Rng(7);
    const tokens: number[] = [];
    let lps = 0;
    for (let k = 0; k < 400; k++) {
      const row = (k % 8) * V;
      const t = sampler.sample(logits, row, rng);
      assert.equal(sampler.logprob, tokenLogprob(logits, row, V, t), 'logprob is the temperature-1 log-softmax at the token');
      assert.equal(sampleToken(logits, row, V, p, rngOneOff), t, 'the one-off function agrees');
      tokens.push(t);
      lps += sampler.logprob;
    }
    assert.deepEqual(tokens.slice(0, 16), first, JSON.stringify(p));
    assert.equal(tokens.reduce((a, b) => a + b, 0), sum, JSON.stringify(p));
    assert.equal(lps, lpSum, JSON.stringify(p));
  }
});

const tokenizer = trainByteLevelBPE(['<answer> 12 </answer> User: hello there 345 abc', 'é€ 😀 日本 ü ü € €'], {
  vocabSize: 300, specialTokens: ['<|endoftext|>', '<|pad|>'], addedTokens: ['<answer>', '</answer>'],
});
const model = TransformerLM.init({
  model_type: 'orz', vocab_size: tokenizer.vocabSize, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2,
  num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64, tie_word_embeddings: false, hidden_act: 'silu',
}, 9);
const prompts = ['hello', 'User: hello there 345', 'abc 12 é', '<answer> 12', '€ 日本'];

test('RolloutEngine produces the recorded samples, stops where decoding every prefix would', async () => {
  const runs = [
    { params: { temperature: 1, maxNewTokens: 40, n: 3, stop: ['</answer>', 'User:', '€', 'ü'], seed: 1 }, hash: 'cdd3a5895be907c6', stops: 7 },
    { params: { temperature: 0.8, topK: 30, topP: 0.9, maxNewTokens: 40, n: 2, stop: ['3', 'é'], seed: 2 }, hash: 'ca99b7652303360a', stops: 3 },
    { params: { temperature: 1, maxNewTokens: 40, n: 2, stop: [], seed: 3 }, hash: '37b7b4887a3fdd4b', stops: 1 },
  ];
  for (const { params, hash, stops } of runs) {
    const samples = (await new RolloutEngine(model, tokenizer, { maxBatchRows: 4 }).generate(prompts, params)).samples();
    // the stop rule, checked directly: no shorter prefix contains a stop string; the kept text ends at one
    for (const s of samples) {
      for (let n = 1; n < s.responseIds.length; n++) assert.equal(firstStop(tokenizer.decode(s.responseIds.slice(0, n)), params.stop), -1);
      const full = tokenizer.decode(s.responseIds);
      const cut = firstStop(full, params.stop);
      assert.equal(s.response, cut >= 0 ? full.slice(0, cut) : full);
      if (cut >= 0) assert.equal(s.finishReason, 'stop');
    }
    assert.equal(samples.filter((s) => s.finishReason === 'stop').length, stops);
    const got = createHash('sha256').update(JSON.stringify(samples.map((s) => [s.responseIds, s.response, s.finishReason]))).digest('hex').slice(0, 16);
    assert.equal(got, hash, `samples of ${JSON.stringify(params)} differ from the recorded ones`);
  }
});

test('keeping finished rows in the cache until a fraction has finished gives the same samples', async () => {
  const params = { temperature: 1, maxNewTokens: 40, n: 3, stop: ['</answer>', 'User:', '€', 'ü', 'e'], seed: 4 };
  const eager = (await new RolloutEngine(model, tokenizer).generate(prompts, params)).samples();
  const lazy = (await new RolloutEngine(model, tokenizer, { finishedRowsFraction: 0.5 }).generate(prompts, params)).samples();
  const lengths = new Set(eager.map((s) => s.responseIds.length));
  assert.ok(lengths.size > 3, `rows finish at different steps (${[...lengths]})`);
  assert.deepEqual(lazy.map((s) => [s.responseIds, s.response, s.finishReason]), eager.map((s) => [s.responseIds, s.response, s.finishReason]));
  lazy.forEach((s, i) => s.logprobs.forEach((l, j) => assert.ok(Math.abs(l - eager[i]!.logprobs[j]!) < 1e-5)));
  assert.throws(() => new RolloutEngine(model, tokenizer, { finishedRowsFraction: 1 }), /finishedRowsFraction must be in \[0, 1\)/);
});

test('on the onnxruntime backend: log-probs are the model log-softmax at the sampled tokens, stops as decoded', async () => {
  const before = tf.getBackend();
  registerOnnxBackend();
  await tf.setBackend('onnxruntime');
  try {
    const params = { temperature: 1, maxNewTokens: 30, n: 2, stop: ['</answer>', 'ü', 'e'], seed: 5 };
    const samples = (await new RolloutEngine(model, tokenizer, { maxBatchRows: 4 }).generate(prompts, params)).samples();
    for (const s of samples) {
      const ids = [...s.promptIds, ...s.responseIds];
      const logp = tf.tidy(() => tf.logSoftmax(model.logits(model.hidden(tf.tensor2d(ids, [1, ids.length], 'int32'))) as tf.Tensor3D).arraySync() as number[][][]);
      s.responseIds.forEach((t, j) => assert.ok(Math.abs(s.logprobs[j]! - logp[0]![s.promptIds.length - 1 + j]![t]!) < 1e-4));
      const full = tokenizer.decode(s.responseIds);
      const cut = firstStop(full, params.stop);
      assert.equal(s.response, cut >= 0 ? full.slice(0, cut) : full);
    }
    assert.ok(samples.some((s) => s.finishReason === 'stop') && samples.some((s) => s.responseIds.length > 10));
  } finally {
    await tf.setBackend(before);
  }
});
