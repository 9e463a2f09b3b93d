// Failures inside an iteration, in-process: a reward that throws gives the prompts back (and a retry is
// the uninterrupted run), an abort during evaluation keeps the finished iteration, and a NaN/Inf loss or
// gradient skips the optimizer step without touching weights or Adam state (composite and fused paths).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '../sdk/engine/tf.ts';
import { selectBackend } from '../sdk/engine/backend.ts';
import { TransformerLM } from '../sdk/model/index.ts';
import { trainByteLevelBPE } from '../sdk/tokenizer/index.ts';
import type { ProblemRecord } from '../sdk/data/index.ts';
import { Trainer } from '../sdk/ppo/trainer.ts';
import { Adam } from '../sdk/ppo/optimizer.ts';
import { FUSED, fusedKernel } from '../sdk/engine/fused.ts';
import type { TrainerConfigInput } from '../sdk/ppo/config.ts';
import { inProcessReward, type RewardFn, type Sample } from '../sdk/reward/index.ts';

const tokenizer = trainByteLevelBPE(['ab ba abc cab 0123456789 xyz'], { vocabSize: 270, specialTokens: ['<|endoftext|>', '<|pad|>'] });
const dataset: ProblemRecord[] = Array.from({ length: 16 }, (_, i) => ({ prompt: `q${i} ab`, groundTruth: '', source: { file: 'toy', index: i } }));
const evalDataset: ProblemRecord[] = dataset.slice(0, 3);
const baseConfig: TrainerConfigInput = {
  seed: 3, template: '{question} >', promptsPerIteration: 4, samplesPerPrompt: 2,
  generation: { maxNewTokens: 3, stop: [] }, policyLr: 3e-2, criticLr: 1e-2, warmupSteps: 0,
  criticUpdateSteps: 2, policyUpdateSteps: 1, evalEvery: 0, checkpointEvery: 0, saveRollouts: false,
};
const evenFirst = (s: Sample) => (((s['responseIds'] as number[])[0] ?? 1) % 2 === 0 ? 1 : 0);

function makeTrainer(config: TrainerConfigInput = {}, reward: RewardFn = evenFirst, withEval = false) {
  const policy = TransformerLM.init({
    model_type: 'orz', vocab_size: tokenizer.vocabSize, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1,
    num_attention_heads: 2, num_key_value_heads: 2, max_position_embeddings: 32, tie_word_embeddings: true, hidden_act: 'silu',
  }, 11);
  return new Trainer({ policy, tokenizer, dataset, evalDataset: withEval ? evalDataset : [], reward, config: { ...baseConfig, ...config } });
}

/** Every weight of the policy and the critic, and both optimizers' state, as bytes. */
function snapshot(t: Trainer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const add = (prefix: string, ws: Map<string, tf.Variable>) => {
    for (const [k, v] of ws) out.set(`${prefix}.${k}`, Buffer.from((v.dataSync() as Float32Array).slice().buffer));
  };
  add('policy', t.policy.weights);
  if (t.critic) add('critic', t.critic.weights());
  for (const [who, opt] of [['policyAdam', t.policyOptimizer], ['criticAdam', t.criticOptimizer]] as const) {
    if (!opt) continue;
    const st = opt.state();
    out.set(`${who}.step`, Buffer.from(String(st.step)));
    for (const [k, m] of Object.entries(st.m)) out.set(`${who}.m.${k}`, Buffer.from(m.slice().buffer));
    for (const [k, v] of Object.entries(st.v)) out.set(`${who}.v.${k}`, Buffer.from(v.slice().buffer));
  }
  return out;
}

function assertSameBytes(a: Map<string, Buffer>, b: Map<string, Buffer>, what: string) {
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [k, buf] of a) assert.ok(buf.equals(b.get(k)!), `${what}: ${k} changed`);
}

const KEYS = ['reward/mean', 'response_length/mean', 'policy/loss', 'critic/loss', 'advantage/mean'];

test('a reward that throws on the 2nd iteration gives its prompts back; the retry is the uninterrupted run', async () => {
  const whole = makeTrainer();
  const wholeRows = [await whole.step(), await whole.step(), await whole.step()];
  whole.dispose();

  let failNext = false;
  const flaky = (s: Sample) => {
    if (failNext) throw new Error('reward backend down');
    return evenFirst(s);
  };
  const t = makeTrainer({}, inProcessReward(flaky)); // its state (failNext) lives in this file
  const rows = [await t.step()];
  const cursor = t.dataCursor;
  const weights = snapshot(t);
  failNext = true;
  await assert.rejects(t.step(), /reward backend down/);
  assert.equal(t.dataCursor, cursor, 'the failed iteration consumed its prompts');
  assert.equal(t.iteration, 1);
  assertSameBytes(weights, snapshot(t), 'a failed scoring');
  failNext = false;
  rows.push(await t.step(), await t.step());
  for (let i = 0; i < 3; i++) for (const k of KEYS) assert.equal(rows[i]![k], wholeRows[i]![k], `iteration ${i + 1} ${k}`);
  assert.deepEqual(t.metrics.rows.map((r) => r['iteration']), [1, 2, 3]);
  t.dispose();
});

test('an update that fails after an optimizer step says the weights are partly updated, and gives the prompts back', async () => {
  const t = makeTrainer();
  await t.step();
  const cursor = t.dataCursor;
  const critic = t.critic!;
  const values = critic.values.bind(critic);
  let calls = 0;
  // call 1 is makeExperience()'s forward, call 2 the first critic minibatch (applied), call 3 the second one
  critic.values = (tb) => {
    if (++calls === 3) throw new Error('backend lost');
    return values(tb);
  };
  await assert.rejects(t.step(), /iteration 2 failed after 1 optimizer step\(s\) were applied; the weights are partly updated.*backend lost/);
  assert.equal(t.dataCursor, cursor);
  assert.equal(t.iteration, 1);
  t.dispose();
});

test('an abort during the evaluation after an iteration keeps the iteration and checkpoints it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'orz-evalabort-'));
  try {
    const ac = new AbortController();
    let armed = false;
    // Aborts while the 2nd iteration's batch is scored: that iteration completes (nothing after generation
    // looks at the signal), and its evaluation then starts with the signal aborted.
    const reward = (s: Sample) => {
      if (armed) ac.abort(new Error('stop'));
      return evenFirst(s);
    };
    const t = makeTrainer({ evalEvery: 1, checkpointEvery: 5, saveRollouts: true }, inProcessReward(reward), true);
    const lines: string[] = [];
    const onIteration = (row: { iteration?: unknown }) => { if (row.iteration === 1) armed = true; };
    const rows = await t.run({ iterations: 5, runDir: dir, signal: ac.signal, log: (l) => lines.push(l), onIteration });
    assert.equal(t.iteration, 2);
    assert.deepEqual(rows.map((r) => r['iteration']), [1, 2]);
    assert.equal(typeof rows[0]!['eval/accuracy'], 'number');
    assert.equal(rows[1]!['eval/accuracy'], undefined);
    assert.ok(lines.some((l) => /stopping at iteration 2 \(aborted during its evaluation/.test(l)), lines.join('\n'));
    const onDisk = (await readFile(join(dir, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(onDisk.map((r) => r.iteration), [0, 1, 2]);
    assert.equal(onDisk[2]['eval/accuracy'], undefined);
    for (const f of ['rollouts/iter-2.arrow', 'checkpoints/iter-2/orz.json', 'report.html']) assert.ok(existsSync(join(dir, f)), `missing ${f}`);
    assert.equal((await readFile(join(dir, 'checkpoints', 'latest'), 'utf8')).trim(), 'iter-2');
    t.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an abort during the base-model evaluation stops cleanly', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'orz-evalabort0-'));
  try {
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    const t = makeTrainer({ evalEvery: 1 }, evenFirst, true);
    const lines: string[] = [];
    const rows = await t.run({ iterations: 3, runDir: dir, signal: ac.signal, log: (l) => lines.push(l) });
    assert.deepEqual(rows, []);
    assert.equal(t.iteration, 0);
    assert.equal(t.dataCursor, 0);
    assert.ok(lines.some((l) => /stopping at iteration 0 \(aborted during the base-model evaluation\)/.test(l)), lines.join('\n'));
    t.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

for (const backend of ['onnxruntime', 'cpu'] as const) {
  describe(`non-finite losses and gradients on the ${backend} backend`, () => {
    test('select backend', async () => {
      await selectBackend(backend);
      // the onnxruntime backend takes the fused OrzSumSquares path for the norm, cpu the composite one
      assert.equal(Boolean(fusedKernel(FUSED.sumSquares)), backend === 'onnxruntime');
    });

    test('Adam.apply skips a NaN or Inf gradient and changes nothing', () => {
      const p = new Map([['w', tf.variable(tf.tensor1d([1, 2, 3, 4]))], ['b', tf.variable(tf.tensor1d([0.5]))]]);
      const opt = new Adam({ lr: 0.1, betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0, gradClip: 1, warmupSteps: 0 }, p);
      const good = () => ({ w: tf.tensor1d([0.1, -0.2, 0.3, 0.1]), b: tf.tensor1d([0.2]) });
      assert.equal(opt.apply(good()).skipped, false);
      const before = { w: p.get('w')!.dataSync().slice(), b: p.get('b')!.dataSync().slice(), state: opt.state() };
      for (const bad of [NaN, Infinity, -Infinity]) {
        const r = opt.apply({ w: tf.tensor1d([0.1, bad, 0.3, 0.1]), b: tf.tensor1d([0.2]) });
        assert.equal(r.skipped, true, `gradient with ${bad}`);
        assert.ok(!Number.isFinite(r.gradNorm));
        assert.deepEqual(p.get('w')!.dataSync(), before.w);
        assert.deepEqual(p.get('b')!.dataSync(), before.b);
        assert.deepEqual(opt.state(), before.state);
        assert.equal(opt.step, 1);
      }
      assert.equal(opt.apply(good()).skipped, false);
      assert.equal(opt.step, 2);
      opt.dispose();
      for (const v of p.values()) v.dispose();
    });

    test('an update with a NaN advantage and return skips both optimizers and reports it', async () => {
      const t = makeTrainer();
      await t.step(); // moments and step counts that are not zero
      const exp = t.makeExperience(await t.score(await t.generate()));
      // every row, so that every minibatch of both updates sees a non-finite loss
      for (let i = 0; i < exp.N; i++) {
        exp.advantages[i * exp.R] = NaN;
        exp.returns![i * exp.R] = Infinity;
      }
      const before = snapshot(t);
      const stats = await t.update(exp);
      assert.equal(stats['policy/skipped_steps'], 1);
      assert.equal(stats['critic/skipped_steps'], 2);
      assert.equal(stats['policy/steps'], 0);
      assert.equal(stats['critic/steps'], 0);
      assertSameBytes(before, snapshot(t), 'a NaN update');
      // the same trainer goes on with finite experience
      const next = await t.update(t.makeExperience(await t.score(await t.generate())));
      assert.equal(next['policy/skipped_steps'], 0);
      assert.equal(next['policy/steps'], 1);
      t.dispose();
    });

    test('back to cpu', async () => { await selectBackend('cpu'); });
  });
}
