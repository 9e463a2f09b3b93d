// End-to-end PPO on a toy problem small enough for a unit test, plus exact resume.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TransformerLM } from '../sdk/model/index.ts';
import { selectBackend } from '../sdk/engine/backend.ts';
import { trainByteLevelBPE } from '../sdk/tokenizer/index.ts';
import type { ProblemRecord } from '../sdk/data/index.ts';
import { Trainer } from '../sdk/ppo/trainer.ts';
import type { TrainerConfigInput } from '../sdk/ppo/config.ts';
import type { Sample } from '../sdk/reward/index.ts';

const tokenizer = trainByteLevelBPE(['ab ba abc cab 0123456789 xyz'], { vocabSize: 270, specialTokens: ['<|endoftext|>', '<|pad|>'] });
const dataset: ProblemRecord[] = Array.from({ length: 16 }, (_, i) => ({ prompt: `q${i} ab`, groundTruth: '', source: { file: 'toy', index: i } }));
const baseConfig: TrainerConfigInput = {
  seed: 2, template: '{question} >', promptsPerIteration: 8, samplesPerPrompt: 4,
  generation: { maxNewTokens: 3, stop: [] }, policyLr: 3e-2, criticLr: 1e-2, warmupSteps: 0,
  criticUpdateSteps: 2, policyUpdateSteps: 2, evalEvery: 0, checkpointEvery: 0, saveRollouts: false,
};
// Toy reward: 1 when the first response token has an even id (about half of them at random init).
const evenFirst = (s: Sample) => (((s['responseIds'] as number[])[0] ?? 1) % 2 === 0 ? 1 : 0);

function makeTrainer(config: TrainerConfigInput = {}) {
  const policy = TransformerLM.init({
    model_type: 'orz', vocab_size: tokenizer.vocabSize, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1,
    num_attention_heads: 2, num_key_value_heads: 2, max_position_embeddings: 32, tie_word_embeddings: true, hidden_act: 'silu',
  }, 11);
  return new Trainer({ policy, tokenizer, dataset, reward: evenFirst, config: { ...baseConfig, ...config } });
}

test('GRPO also raises it, without a critic', async () => {
  const trainer = makeTrainer({ advantageEstimator: 'grpo' });
  assert.equal(trainer.critic, null);
  const rows = [];
  for (let i = 0; i < 12; i++) rows.push(await trainer.step());
  const first = ((rows[0]!['reward/mean'] as number) + (rows[1]!['reward/mean'] as number)) / 2;
  const last = ((rows[10]!['reward/mean'] as number) + (rows[11]!['reward/mean'] as number)) / 2;
  assert.ok(last > first + 0.3, `reward ${first.toFixed(2)} -> ${last.toFixed(2)}`);
  trainer.dispose();
});

test('the parts are callable one by one and agree with step()', async () => {
  const a = makeTrainer();
  const batch = await a.generate();
  assert.equal(batch.length, 32);
  const scored = await a.score(batch);
  const exp = a.makeExperience(scored);
  assert.equal(exp.N, 32);
  assert.equal(exp.advantages.length, 32 * exp.R);
  scored.samples().forEach((s, i) => {
    const len = s.responseIds.length;
    assert.equal(exp.lengths[i], len);
    assert.deepEqual([...exp.responseIds.subarray(i * exp.R, i * exp.R + len)], s.responseIds);
    assert.deepEqual([...exp.oldLogprobs.subarray(i * exp.R, i * exp.R + len)], [...Float32Array.from(s.logprobs)]);
    assert.equal(exp.rewards[i], s.reward);
    // gamma = lambda = 1: before whitening A_t = R - V_t, so the return is R on every token
    for (let t = 0; t < len; t++) assert.ok(Math.abs(exp.returns![i * exp.R + t]! - s.reward!) < 1e-5);
    // beyond the response every column is 0, so a minibatch gather pads with 0
    for (const col of [exp.advantages, exp.values!, exp.returns!, exp.oldLogprobs, exp.actionMask]) {
      assert.ok(col.subarray(i * exp.R + len, (i + 1) * exp.R).every((x) => x === 0));
    }
  });
  const stats = await a.update(exp);
  assert.ok(Number.isFinite(stats['policy/loss'] as number));
  a.dispose();
});

test('an iteration aborted during generation gives its prompts back', async () => {
  const t = makeTrainer();
  const ac = new AbortController();
  ac.abort(new Error('stop'));
  await assert.rejects(t.step({ signal: ac.signal }), /stop/);
  assert.equal(t.dataCursor, 0);
  assert.equal(t.iteration, 0);
  t.dispose();
});

test('an abort stops at an iteration boundary', async () => {
  const t = makeTrainer();
  const ac = new AbortController();
  const rows = await t.run({ iterations: 10, log: null, signal: ac.signal, onIteration: (r) => { if (r['iteration'] === 2) ac.abort(); } });
  assert.equal(rows.length, 2);
  assert.equal(t.iteration, 2);
  t.dispose();
});

for (const backend of ['cpu', 'onnxruntime'] as const) {
  describe(`on the ${backend} backend`, () => {
    test('select backend', async () => { await selectBackend(backend); });
    test('PPO raises a binary reward end to end (fixed seed)', async () => {
      const trainer = makeTrainer();
      const rows = [];
      for (let i = 0; i < 12; i++) rows.push(await trainer.step());
      const first = rows.slice(0, 2).reduce((a, r) => a + (r['reward/mean'] as number), 0) / 2;
      const last = rows.slice(-2).reduce((a, r) => a + (r['reward/mean'] as number), 0) / 2;
      assert.ok(last > first + 0.3, `reward ${first.toFixed(2)} -> ${last.toFixed(2)}`);
      for (const k of ['policy/clip_fraction', 'policy/entropy', 'critic/loss', 'critic/explained_variance', 'kl/mean', 'pass@n', 'time/generate']) {
        assert.ok(k in rows[0]!, `metric ${k} missing`);
      }
      trainer.dispose();
    });

    test('a run resumed from a checkpoint continues exactly like an uninterrupted one', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'orz-resume-'));
      try {
        const whole = makeTrainer();
        const wholeRows = await whole.run({ iterations: 4, log: null });
        whole.dispose();

        const first = makeTrainer({ checkpointEvery: 2 });
        await first.run({ iterations: 2, runDir: dir, log: null });
        first.dispose();
        assert.ok(existsSync(join(dir, 'checkpoints', 'iter-2', 'orz.json')));
        assert.equal((await readFile(join(dir, 'checkpoints', 'latest'), 'utf8')).trim(), 'iter-2');

        const second = makeTrainer({ checkpointEvery: 2 });
        const { resumeFrom } = await import('../sdk/run/loop.ts');
        assert.equal(await resumeFrom(second, dir), true);
        assert.equal(second.iteration, 2);
        const rest = await second.run({ iterations: 4, runDir: dir, log: null });
        second.dispose();
        const keys = ['reward/mean', 'response_length/mean', 'policy/loss', 'critic/loss', 'advantage/mean', 'kl/mean'];
        for (let i = 0; i < 2; i++) {
          for (const k of keys) assert.equal(rest[i]![k], wholeRows[i + 2]![k], `iteration ${i + 3} ${k}`);
        }
        const lines = (await readFile(join(dir, 'metrics.jsonl'), 'utf8')).trim().split('\n');
        assert.deepEqual(lines.map((l) => JSON.parse(l).iteration), [1, 2, 3, 4]);
        assert.ok(existsSync(join(dir, 'report.html')));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
    test('back to cpu', async () => { await selectBackend('cpu'); });
  });
}
