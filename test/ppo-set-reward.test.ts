// Trainer.setReward: a reward swapped between iterations takes effect at the next one, and its timeout bounds a
// reward that hangs, failing the iteration with the sample named and nothing consumed.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { TransformerLM } from '../sdk/model/index.ts';
import { selectBackend } from '../sdk/engine/backend.ts';
import { trainByteLevelBPE } from '../sdk/tokenizer/index.ts';
import type { ProblemRecord } from '../sdk/data/index.ts';
import { Trainer } from '../sdk/ppo/trainer.ts';
import { closeRewardPools, RewardError, type Sample } from '../sdk/reward/index.ts';

after(closeRewardPools);

const tokenizer = trainByteLevelBPE(['ab ba abc cab 0123456789 xyz'], { vocabSize: 270, specialTokens: ['<|endoftext|>', '<|pad|>'] });
const dataset: ProblemRecord[] = Array.from({ length: 8 }, (_, i) => ({ prompt: `q${i} ab`, groundTruth: String(i), source: { file: 'toy', index: i } }));

function trainer(): Trainer {
  const policy = TransformerLM.init({
    model_type: 'orz', vocab_size: tokenizer.vocabSize, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1,
    num_attention_heads: 2, num_key_value_heads: 2, max_position_embeddings: 32, tie_word_embeddings: true, hidden_act: 'silu',
  }, 11);
  return new Trainer({
    policy, tokenizer, dataset, reward: () => 0,
    config: { seed: 2, template: '{question} >', promptsPerIteration: 4, samplesPerPrompt: 2, generation: { maxNewTokens: 3, stop: [] }, criticUpdateSteps: 1, evalEvery: 0, checkpointEvery: 0, saveRollouts: false },
  });
}

test('setReward swaps the reward for the next step, and its timeout fails a hanging one naming the sample', async () => {
  await selectBackend();
  const t = trainer();
  const hangs = (s: Sample): number => { if (s['promptIndex'] === 2) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); return 0; };
  assert.equal(t.setReward(hangs, { timeoutMs: 600 }), t);
  const t0 = performance.now();
  await assert.rejects(t.step(), (e: unknown) => e instanceof RewardError && /timed out after 600 ms on sample \d+/.test(e.message) && e.sample['promptIndex'] === 2);
  assert.ok(performance.now() - t0 < 8_000, 'the timeout given to setReward was not used (the default is 10 s)');
  assert.equal(t.iteration, 0);
  assert.equal(t.dataCursor, 0);
  t.setReward((s: Sample) => (s['sampleIndex'] === 0 ? 1 : 0));
  const row = await t.step();
  assert.equal(row.iteration, 1);
  assert.equal(row['reward/mean'], 0.5);   // sample 0 of each of the 4 prompts scores 1 under the new reward
  assert.equal(t.dataCursor, 4);
});

test('setReward refuses what is not a reward, and a timeout that is not a positive number', () => {
  const t = trainer();
  assert.throws(() => t.setReward(42 as unknown as Trainer['reward']), /Trainer.setReward: the reward must be a function.*got number/);
  assert.throws(() => t.setReward(() => 1, { timeoutMs: 0 }), /timeoutMs must be a positive number of milliseconds, got 0/);
});
