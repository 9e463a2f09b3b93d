// Packed training (trainer.packingMaxLen): rows laid end to end in sequences with per-sample positions and
// a block-diagonal causal mask give the same PPO losses, log-probs, values and gradients as the padded
// batch, on the cpu backend (composite ops) and on onnxruntime (fused layer and loss-head kernels); a
// sample never attends across a boundary; and optimizeEpoch with micro-batches accumulates the same gradient.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../sdk/engine/tf.ts';
import { selectBackend } from '../sdk/engine/backend.ts';
import { fusedKernel, FUSED } from '../sdk/engine/fused.ts';
import { Rng } from '../sdk/engine/rng.ts';
import { TransformerLM, type ModelConfig } from '../sdk/model/index.ts';
import { Critic } from '../sdk/ppo/critic.ts';
import { resolveTrainerConfig } from '../sdk/ppo/config.ts';
import { experienceColumns, type Experience } from '../sdk/ppo/experience.ts';
import { responseLogprobs } from '../sdk/ppo/forward.ts';
import { maskedMean, policyLoss, valueLoss } from '../sdk/ppo/losses.ts';
import { Adam, ORZ_ADAM } from '../sdk/ppo/optimizer.ts';
import { packRows } from '../sdk/ppo/packing.ts';
import { buildTokenBatch, disposeTokenBatch, type PackingSetting, type TokenBatch } from '../sdk/ppo/token-batch.ts';
import { optimizeEpoch } from '../sdk/ppo/update.ts';
import { RolloutBatch, type RolloutSample } from '../sdk/rollout/rollout-batch.ts';

const CONFIG: ModelConfig = {
  model_type: 'orz', vocab_size: 61, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2,
  num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 96, hidden_act: 'silu', tie_word_embeddings: false,
};
const LIMIT = 48; // the longest row feeds p + r - 1 = 48 tokens: a row at the limit of packingMaxLen 48

/** Long-tailed (prompt, response) lengths: mostly short, one at the limit, one empty response. */
const LENGTHS: [number, number][] = [[5, 2], [3, 44], [7, 1], [2, 3], [6, 0], [4, 9], [3, 1], [8, 41], [2, 2]];

function samples(seed: number) {
  const rng = new Rng(seed);
  const ids = (n: number) => Array.from({ length: n }, () => 1 + Math.floor(rng.next() * (CONFIG.vocab_size - 1)));
  return LENGTHS.map(([p, r]) => ({ promptIds: ids(p), responseIds: ids(r) }));
}

/** Adam that keeps a copy of every gradient it is handed (then steps as Adam does). */
class RecordingAdam extends Adam {
  readonly seen: Record<string, Float32Array>[] = [];
  override apply(grads: Record<string, tf.Tensor>, lr?: number) {
    this.seen.push(Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, Float32Array.from(g.dataSync())])));
    return super.apply(grads, lr);
  }
}

/** |a - b| <= tol * max(1, |b|) element by element (absolute on small values, relative on large). */
function assertClose(what: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: number, mask?: ArrayLike<number>): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    if (mask && mask[i] === 0) continue;
    const err = Math.abs(got[i]! - want[i]!);
    assert.ok(err <= tol * Math.max(1, Math.abs(want[i]!)), `${what}[${i}]: packed ${got[i]} vs padded ${want[i]}`);
  }
}

/** The PPO losses (clipped policy loss - entropy bonus, and the clipped value loss) and every gradient. */
function lossesAndGrads(policy: TransformerLM, critic: Critic, tb: TokenBatch) {
  const rng = new Rng(7);
  const col = (f: () => number) => tf.tensor2d(Float32Array.from({ length: tb.rows * tb.R }, f), [tb.rows, tb.R]);
  const old = col(() => -2 - rng.next()), adv = col(() => rng.next() * 2 - 1), vOld = col(() => rng.next()), ret = col(() => rng.next() * 2);
  const params = [...policy.weights.values(), ...critic.weights().values()];
  const names = new Map<string, string>([...policy.weights].map(([n, v]) => [v.name, `policy/${n}`]));
  for (const [n, v] of critic.weights()) names.set(v.name, `critic/${n}`);
  let logp: Float32Array = new Float32Array(), values: Float32Array = new Float32Array(), policyValue = 0, valueValue = 0;
  const { value, grads } = tf.variableGrads(() => {
    const out = responseLogprobs(policy, tb, true);
    logp = out.logp.dataSync() as Float32Array;
    const pl = tf.sub(policyLoss(out.logp, old, adv, tb.mask, 0.2).loss, tf.mul(maskedMean(out.entropy!, tb.mask), 0.01));
    const v = critic.values(tb);
    values = v.dataSync() as Float32Array;
    const vl = valueLoss(v, vOld, ret, tb.mask, 0.2).loss;
    policyValue = pl.dataSync()[0]!;
    valueValue = vl.dataSync()[0]!;
    return tf.add(pl, vl) as tf.Scalar;
  }, params);
  const g: Record<string, Float32Array> = {};
  for (const [k, t] of Object.entries(grads)) g[names.get(k) ?? k] = t.dataSync() as Float32Array;
  tf.dispose([value, old, adv, vOld, ret, ...Object.values(grads)]);
  return { logp, values, policyValue, valueValue, grads: g, mask: tb.mask.dataSync() };
}

function withBatch<T>(data: ReturnType<typeof samples>, packing: PackingSetting, fn: (tb: TokenBatch) => T): T {
  const tb = buildTokenBatch(data, 0, packing);
  try { return fn(tb); } finally { disposeTokenBatch(tb); }
}

test('packRows: first-fit decreasing, every fed row placed once, within capacity unless alone', () => {
  const fed = [3, 10, 0, 7, 12, 2, 5];
  const pk = packRows(fed, 10);
  const placed = pk.sequences.flat().sort((a, b) => a - b);
  assert.deepEqual(placed, [0, 1, 3, 4, 5, 6]); // the empty row is not fed
  assert.equal(pk.seqOf[2], -1);
  for (const seq of pk.sequences) {
    const used = seq.reduce((a, i) => a + fed[i]!, 0);
    assert.ok(used <= 10 || seq.length === 1, `sequence [${seq}] holds ${used} tokens`);
  }
  assert.deepEqual(pk.sequences, [[4], [1], [3, 0], [6, 5]]); // 12 alone (over capacity), 10, 7+3, 5+2
  assert.equal(pk.width, 12);
  assert.deepEqual(packRows(fed, 10), pk, 'deterministic');
  assert.throws(() => packRows(fed, 0), /capacity must be a positive integer/);
});

test('trainer.packingMaxLen: "auto" by default, 0 or a count accepted, anything else refused by name', () => {
  assert.equal(resolveTrainerConfig({}).packingMaxLen, 'auto');
  assert.equal(resolveTrainerConfig({ packingMaxLen: 0 }).packingMaxLen, 0);
  assert.equal(resolveTrainerConfig({ packingMaxLen: 4096 }).packingMaxLen, 4096);
  assert.throws(() => resolveTrainerConfig({ packingMaxLen: 'full' as never }, 'c.json'), /c\.json: packingMaxLen must be "auto" or a non-negative integer \(0 = padded rows\), got the string "full"/);
  assert.throws(() => resolveTrainerConfig({ packingMaxLen: -1 }), /packingMaxLen must be "auto" or a non-negative integer/);
});

test('a packed row with an empty prompt is refused with its row named', () => {
  assert.throws(() => buildTokenBatch([{ promptIds: [1], responseIds: [2] }, { promptIds: [], responseIds: [3] }], 0, 'auto'), /row 1 has an empty prompt/);
});

for (const backend of ['cpu', 'onnxruntime'] as const) {
  describe(`on the ${backend} backend`, () => {
    test('select backend', async () => {
      await selectBackend(backend);
      assert.equal(fusedKernel(FUSED.layerForward, FUSED.layerBackward), backend === 'onnxruntime');
    });

    for (const packing of ['auto', LIMIT, 20] as const) {
      test(`packing ${packing}: same losses, log-probs, values and gradients as the padded batch`, () => {
        const policy = TransformerLM.init(CONFIG, 3);
        const critic = Critic.fromPolicy(policy, 4);
        try {
          const data = samples(1);
          const padded = withBatch(data, 0, (tb) => lossesAndGrads(policy, critic, tb));
          const packed = withBatch(data, packing, (tb) => {
            assert.ok(tb.packed, 'packed layout');
            assert.ok(tb.inputIds.shape[1] <= Math.max(LIMIT, typeof packing === 'number' ? packing : 0));
            assert.ok(tb.packed.sequences < data.length, `${tb.packed.sequences} sequences for ${data.length} rows`);
            return lossesAndGrads(policy, critic, tb);
          });
          assert.deepEqual(packed.mask, padded.mask);
          assertClose('policy loss', [packed.policyValue], [padded.policyValue], 1e-5);
          assertClose('value loss', [packed.valueValue], [padded.valueValue], 1e-5);
          assertClose('logp', packed.logp, padded.logp, 1e-5, padded.mask);
          assertClose('values', packed.values, padded.values, 1e-5, padded.mask);
          assert.deepEqual(Object.keys(packed.grads).sort(), Object.keys(padded.grads).sort());
          for (const k of Object.keys(padded.grads)) assertClose(`d/d ${k}`, packed.grads[k]!, padded.grads[k]!, 1e-5);
        } finally {
          policy.dispose();
          critic.backbone.dispose();
          critic.valueHead.dispose();
        }
      });
    }

    test('a packed sample never attends across a boundary, and sees what it sees alone', () => {
      const policy = TransformerLM.init(CONFIG, 5);
      try {
        const data = samples(2);
        const logp = (d: ReturnType<typeof samples>) => withBatch(d, 'auto', (tb) => {
          const out = responseLogprobs(policy, tb);
          const v = out.logp.dataSync() as Float32Array;
          out.logp.dispose();
          return { v, R: tb.R, seqs: tb.packed!.sequences };
        });
        const before = logp(data);
        assert.ok(before.seqs < data.length);
        // change every token of row 3 (packed beside others): nobody else's log-probs move
        const changed = data.map((s, i) => (i === 3 ? { promptIds: s.promptIds.map((t) => (t % 60) + 1), responseIds: s.responseIds.map((t) => (t % 60) + 1) } : s));
        const after = logp(changed);
        let moved = 0;
        for (let b = 0; b < data.length; b++) {
          for (let j = 0; j < data[b]!.responseIds.length; j++) {
            const d = Math.abs(after.v[b * before.R + j]! - before.v[b * before.R + j]!);
            if (b === 3) moved = Math.max(moved, d);
            else assert.ok(d <= 1e-6, `row ${b} token ${j} moved by ${d} when row 3 changed`);
          }
        }
        assert.ok(moved > 1e-4, 'row 3 itself changed (the test can fail)');
        // each row's packed log-probs equal the row alone (positions restart at 0 in every sample)
        for (const b of [0, 1, 5]) {
          const alone = logp([data[b]!]);
          for (let j = 0; j < data[b]!.responseIds.length; j++) {
            assertClose(`row ${b} alone, token ${j}`, [before.v[b * before.R + j]!], [alone.v[j]!], 1e-5);
          }
        }
      } finally {
        policy.dispose();
      }
    });

    test('optimizeEpoch with micro-batches: packed and padded accumulate the same gradient', () => {
      const rows: RolloutSample[] = samples(3).map((s, i) => ({
        promptIndex: i >> 1, sampleIndex: i & 1, prompt: `p${i}`, response: `r${i}`,
        promptIds: s.promptIds, responseIds: s.responseIds,
        logprobs: s.responseIds.map((_, j) => -2 - ((i + j) % 5) / 10),
        finishReason: 'stop', groundTruth: '', reward: i % 2,
      }));
      const x = experienceColumns(RolloutBatch.fromSamples(rows), 0);
      const advantages = Float32Array.from(x.actionMask, (m, k) => m * (((k * 7) % 11) / 5 - 1));
      const exp: Experience = { ...x, values: null, returns: null, refLogprobs: null, advantages, stats: {} };
      let packedTogether = 0; // micro-batches whose rows share a sequence (so the test exercises packing)
      const run = (packing: PackingSetting) => {
        const policy = TransformerLM.init(CONFIG, 9);
        const optimizer = new RecordingAdam({ ...ORZ_ADAM, lr: 1e-2 }, policy.weights);
        try {
          const stats = optimizeEpoch({
            exp, order: [1, 0, 2, 7, 3, 6, 4, 5, 8], steps: 1, microBatchRows: 3, padId: 0, packing,
            params: policy.weights, optimizer,
            loss: (mb) => {
              if (mb.tokens.packed && mb.tokens.packed.sequences < mb.rows.length) packedTogether += 1;
              const { logp } = responseLogprobs(policy, mb.tokens);
              const clip = policyLoss(logp, mb.oldLogprobs, mb.advantages, mb.mask, 0.2);
              return { loss: clip.loss, stats: { loss: clip.loss } };
            },
          });
          return { stats, grads: optimizer.seen };
        } finally {
          optimizer.dispose();
          policy.dispose();
        }
      };
      const padded = run(0), packed = run('auto');
      assert.equal(packed.stats['steps'], 1);
      assert.ok(packedTogether >= 2, `${packedTogether} micro-batches packed rows together`);
      for (const k of ['loss', 'grad_norm']) assertClose(k, [packed.stats[k]!], [padded.stats[k]!], 1e-5);
      // the accumulated minibatch gradient Adam was handed (not the weights after: Adam's g / sqrt(v)
      // turns float-order noise on a near-zero gradient into a step of up to lr)
      assert.equal(packed.grads.length, 1);
      for (const [n, g] of Object.entries(padded.grads[0]!)) assertClose(`accumulated d/d ${n}`, packed.grads[0]![n]!, g, 1e-5);
    });
  });
}
