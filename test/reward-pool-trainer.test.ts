// Trainer.score() through the reward pool: the trainer's own samples (token ids, log-probs, record fields) cross
// to the workers, and a reward that blocks fails the score with the sample named instead of hanging training.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { TransformerLM } from '../sdk/model/index.ts';
import { selectBackend } from '../sdk/engine/backend.ts';
import { trainByteLevelBPE } from '../sdk/tokenizer/index.ts';
import type { ProblemRecord } from '../sdk/data/index.ts';
import { Trainer } from '../sdk/ppo/trainer.ts';
import { closeRewardPools, inProcessReward, RewardError, type Sample } from '../sdk/reward/index.ts';

after(closeRewardPools);

const tokenizer = trainByteLevelBPE(['ab ba abc cab 0123456789 xyz'], { vocabSize: 270, specialTokens: ['<|endoftext|>', '<|pad|>'] });
const dataset: ProblemRecord[] = Array.from({ length: 8 }, (_, i) => ({ prompt: `q${i} ab`, groundTruth: String(i), source: { file: 'toy', index: i } }));

function trainer(reward: Trainer['reward']): Trainer {
  const policy = TransformerLM.init({
    model_type: 'orz', vocab_size: tokenizer.vocabSize, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1,
    num_attention_heads: 2, num_key_value_heads: 2, max_position_embeddings: 32, tie_word_embeddings: true, hidden_act: 'silu',
  }, 11);
  return new Trainer({
    policy, tokenizer, dataset, reward,
    config: { seed: 2, template: '{question} >', promptsPerIteration: 4, samplesPerPrompt: 2, generation: { maxNewTokens: 3, stop: [] }, evalEvery: 0, checkpointEvery: 0, saveRollouts: false },
  });
}

test('Trainer.score runs a reward in the workers with the same numbers as in process', async () => {
  await selectBackend();
  const byIds = (s: Sample): number => (s['responseIds'] as number[]).reduce((a, b) => a + b, 0) % 7 + (s['logprobs'] as number[]).length;
  const t = trainer(byIds);
  const batch = await t.generate();
  const pooled = (await t.score(batch)).samples().map((s) => s.reward);
  t.reward = inProcessReward(byIds);
  const local = (await t.score(batch)).samples().map((s) => s.reward);
  assert.equal(pooled.length, 8);
  assert.deepEqual(pooled, local);
});

test('Trainer.score with a reward that blocks fails with a RewardError instead of hanging', async () => {
  await selectBackend();
  const stuck = (s: Sample): number => { if (s['promptIndex'] === 1) { for (;;) { /* a checker that never returns */ } } return 0; };
  const t = trainer(stuck);
  const batch = await t.generate();
  // Trainer.score() passes no options, so this is the default 10 s timeout: the test takes about that long.
  const t0 = performance.now();
  await assert.rejects(t.score(batch), (e: unknown) => e instanceof RewardError && /timed out after 10000 ms/.test(e.message) && e.sample['promptIndex'] === 1);
  assert.ok(performance.now() - t0 < 20_000);
});
