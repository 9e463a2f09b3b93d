import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../sdk/engine/tf.ts';
import { TransformerLM } from '../sdk/model/index.ts';
import { trainByteLevelBPE, type Tokenizer } from '../sdk/tokenizer/index.ts';
import { RolloutEngine } from '../sdk/rollout/engine.ts';

const tokenizer = trainByteLevelBPE(['<answer> 12 </answer> User: hello there 345 abc'], {
  vocabSize: 280, specialTokens: ['<|endoftext|>', '<|pad|>'], addedTokens: ['<answer>', '</answer>'],
});
const model = TransformerLM.init({
  model_type: 'orz', vocab_size: tokenizer.vocabSize, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2,
  num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64, tie_word_embeddings: false, hidden_act: 'silu',
}, 5);

/** Greedy decoding by recomputing the whole sequence every step (no cache, no batching). */
function greedyNoCache(m: TransformerLM, tok: Tokenizer, prompt: string, steps: number): number[] {
  const ids = tok.encode(prompt);
  const out: number[] = [];
  for (let s = 0; s < steps; s++) {
    const next = tf.tidy(() => {
      const h = m.hidden(tf.tensor2d([...ids, ...out], [1, ids.length + out.length], 'int32'));
      const last = tf.slice(h, [0, ids.length + out.length - 1, 0], [1, 1, -1]).reshape([1, -1]);
      return tf.argMax(m.logits(last as tf.Tensor2D), -1).dataSync()[0]!;
    });
    out.push(next);
  }
  return out;
}

test('cached batched greedy generation equals recomputing the whole sequence', async () => {
  const prompts = ['hello', 'User: hello there 345', 'abc 12']; // different lengths: left padding in the batch
  const engine = new RolloutEngine(model, tokenizer);
  const batch = await engine.generate(prompts, { temperature: 0, maxNewTokens: 12, stop: [], n: 1 });
  prompts.forEach((p, i) => {
    const s = batch.sample(i);
    const eos = tokenizer.eosId;
    const ref = greedyNoCache(model, tokenizer, p, 12);
    const cut = eos !== undefined && ref.includes(eos) ? ref.indexOf(eos) : ref.length;
    assert.deepEqual(s.responseIds, ref.slice(0, cut), `prompt ${i}`);
  });
});

test('log-probs are the model log-softmax at the sampled tokens', async () => {
  const engine = new RolloutEngine(model, tokenizer);
  const batch = await engine.generate(['hello there'], { temperature: 1, maxNewTokens: 5, stop: [], seed: 3 });
  const s = batch.sample(0);
  const ids = [...s.promptIds, ...s.responseIds];
  const logp = tf.tidy(() => {
    const h = model.hidden(tf.tensor2d(ids, [1, ids.length], 'int32'));
    return tf.logSoftmax(model.logits(h) as tf.Tensor3D).arraySync() as number[][][];
  });
  s.responseIds.forEach((t, j) => {
    const expected = logp[0]![s.promptIds.length - 1 + j]![t]!;
    assert.ok(Math.abs(s.logprobs[j]! - expected) < 1e-4, `token ${j}: ${s.logprobs[j]} vs ${expected}`);
  });
});

test('n samples per prompt, seeded: same seed same samples, other seed differs', async () => {
  const engine = new RolloutEngine(model, tokenizer);
  const a = await engine.generate(['abc', 'hello'], { n: 3, maxNewTokens: 6, stop: [], seed: 1 });
  const b = await engine.generate(['abc', 'hello'], { n: 3, maxNewTokens: 6, stop: [], seed: 1 });
  const c = await engine.generate(['abc', 'hello'], { n: 3, maxNewTokens: 6, stop: [], seed: 2 });
  assert.equal(a.length, 6);
  assert.deepEqual(a.samples().map((s) => [s.promptIndex, s.sampleIndex]), [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]]);
  assert.deepEqual(a.samples().map((s) => s.responseIds), b.samples().map((s) => s.responseIds));
  assert.notDeepEqual(a.samples().map((s) => s.responseIds), c.samples().map((s) => s.responseIds));
  for (const s of a.samples()) {
    assert.equal(s.finishReason, 'length');
    assert.equal(s.responseIds.length, 6);
    assert.equal(s.logprobs.length, 6);
  }
});

test('stop strings end a response with the stop text kept; fields ride along', async () => {
  const engine = new RolloutEngine(model, tokenizer);
  const free = (await engine.generate(['abc'], { temperature: 0, maxNewTokens: 6, stop: [] })).sample(0);
  const stopText = tokenizer.decode(free.responseIds.slice(0, 2));
  const batch = await engine.generate([{ prompt: 'abc', groundTruth: '7', level: 2 }], { temperature: 0, maxNewTokens: 6, stop: ['never', stopText] });
  const s = batch.sample(0);
  assert.equal(s.finishReason, 'stop');
  assert.equal(s.response, stopText);
  assert.deepEqual(s.responseIds, free.responseIds.slice(0, 2));
  assert.equal(s.groundTruth, '7');
  assert.equal(s['level'], 2);
});

test('invalid parameters and aborts are reported', async () => {
  const engine = new RolloutEngine(model, tokenizer);
  await assert.rejects(engine.generate(['abc'], { topP: 0 }), /topP must be in \(0, 1\]/);
  await assert.rejects(engine.generate(['abc'], { n: 0 }), /n must be a positive integer/);
  const ac = new AbortController();
  ac.abort(new Error('stop now'));
  await assert.rejects(engine.generate(['abc'], { maxNewTokens: 4, stop: [] }, { signal: ac.signal }), /stop now/);
});

test('a long prompt in the batch changes no other row: each row has its own budget and positions', async () => {
  const engine = new RolloutEngine(model, tokenizer, { maxBatchRows: 16 });
  const short = ['abc', 'hello', 'User: hello there 345'];
  const long = 'hello there 345 abc '.repeat(2);
  const longTokens = tokenizer.encode(long).length;
  assert.ok(longTokens > 30 && longTokens < 60, `${longTokens} tokens leave the long prompt a budget under maxNewTokens`);
  const params = { temperature: 1, maxNewTokens: 40, n: 2, stop: [], seed: 6 };
  const alone = (await engine.generate(short, params)).samples();
  // the long prompt sits between the short ones; the short ones keep their indices (and so their streams)
  const mixed = (await engine.generate([short[0]!, long, short[1]!, short[2]!], params, { promptIndices: [0, 9, 1, 2] })).samples();
  const others = mixed.filter((s) => s.promptIndex !== 9);
  assert.deepEqual(others.map((s) => [s.promptIndex, s.sampleIndex, s.responseIds, s.finishReason]),
    alone.map((s) => [s.promptIndex, s.sampleIndex, s.responseIds, s.finishReason]));
  others.forEach((s, i) => s.logprobs.forEach((l, j) => assert.ok(Math.abs(l - alone[i]!.logprobs[j]!) < 1e-5)));
  for (const s of others) assert.equal(s.responseIds.length, 40);
  for (const s of mixed.filter((x) => x.promptIndex === 9)) {
    assert.equal(s.responseIds.length, 64 - longTokens, 'the long row stops at its own room');
    assert.equal(s.finishReason, 'length');
  }
});

test('a prompt with no room for a new token is skipped and listed; the other prompts are generated', async () => {
  const engine = new RolloutEngine(model, tokenizer);
  const long = 'hello there 345 abc '.repeat(40); // far more than max_position_embeddings=64 tokens
  const n = tokenizer.encode(long).length;
  assert.ok(n >= 64);
  const batch = await engine.generate(['abc', long, 'hello'], { maxNewTokens: 4, n: 2, stop: [] });
  assert.deepEqual(batch.skipped, [{ promptIndex: 1, promptTokens: n, limit: 64 }]);
  assert.deepEqual(batch.samples().map((s) => [s.promptIndex, s.sampleIndex]), [[0, 0], [0, 1], [2, 0], [2, 1]]);
  // a slice of a larger batch names the prompt's index in that batch; the skip survives withRewards
  const slice = await engine.generate([long], { maxNewTokens: 4 }, { firstPromptIndex: 7 });
  assert.equal(slice.length, 0);
  assert.deepEqual(slice.withRewards([]).skipped, [{ promptIndex: 7, promptTokens: n, limit: 64 }]);
  await assert.rejects(engine.generate([''], { maxNewTokens: 4 }), /prompt 0 encodes to zero tokens/);
});

test('continuous batching (slots refilled as rows finish), with and without shared prefixes, gives the static engine\'s samples on the same seeds', async () => {
  const prompts = ['abc', 'hello there 345 abc '.repeat(2), 'hello', 'User: hello there 345', '12', 'hello there 345 abc '.repeat(40), 'abc 12 abc'];
  const params = { temperature: 1, maxNewTokens: 40, n: 4, stop: ['e', '3'], seed: 8 };
  for (const slots of [3, 8]) {
    const view = (b: Awaited<ReturnType<RolloutEngine['generate']>>) => b.samples().map((s) => [s.promptIndex, s.sampleIndex, s.responseIds, s.response, s.finishReason]);
    const stat = await new RolloutEngine(model, tokenizer, { maxBatchRows: slots, batching: 'static' }).generate(prompts, params);
    let prefilled = 0, prefilledApart = 0;
    const callsApart: number[] = [];
    const cont = await new RolloutEngine(model, tokenizer, { maxBatchRows: slots, onPrefill: (k) => { prefilled += k; } }).generate(prompts, params);
    const apart = await new RolloutEngine(model, tokenizer, { maxBatchRows: slots, sharePrefixes: false, onPrefill: (k) => { prefilledApart += k; callsApart.push(k); } })
      .generate(prompts, params);
    assert.equal(prefilled, 6, 'each prompt that fits is prefilled once for its 4 samples');
    assert.equal(prefilledApart, 24);
    // a refill prefills the rows it needs and a look-ahead of ceil(slots / 4) waiting ones (or all that remain)
    const ahead = Math.ceil(slots / 4);
    callsApart.slice(1).reduce((done, k) => {
      assert.ok(k >= Math.min(1 + ahead, 24 - done), `${slots} slots: refill prefills ${callsApart} (look-ahead ${ahead})`);
      return done + k;
    }, callsApart[0]!);
    assert.deepEqual(view(apart), view(stat), `${slots} slots, prefixes not shared`);
    const lengths = new Set(stat.samples().map((s) => s.responseIds.length));
    assert.ok(lengths.size > 4, `rows finish at different steps (${[...lengths]})`);
    assert.deepEqual(view(cont), view(stat), `${slots} slots`);
    cont.samples().forEach((s, i) => s.logprobs.forEach((l, j) => assert.ok(Math.abs(l - stat.sample(i).logprobs[j]!) < 1e-5)));
    assert.deepEqual(cont.skipped, stat.skipped);
  }
  assert.throws(() => new RolloutEngine(model, tokenizer, { batching: 'paged' as 'static' }), /batching must be 'continuous' or 'static'/);
});
