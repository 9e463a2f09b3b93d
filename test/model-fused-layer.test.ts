// The fused layer kernels (OrzLayerForward / OrzLayerBackward on the onnxruntime backend) against
// the composite path (the same model op by op, fused kernels off): hidden states and the loss
// gradient of every parameter, over MHA and GQA, biases on and off, silu and gelu, RMSNorm and
// LayerNorm, sequential and parallel residual, full and partial rotary, left padding
// with explicit positions; KV-cache decoding on the fused path against a full recompute.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../sdk/engine/tf.ts';
import { Rng } from '../sdk/engine/rng.ts';
import { setFusedKernels } from '../sdk/engine/fused.ts';
import { registerOnnxBackend } from '../sdk/engine/onnx/index.ts';
import { TransformerLM, type ModelConfig } from '../sdk/model/index.ts';
import { sharpModel } from './support/sharp-model.ts';

before(async () => {
  registerOnnxBackend();
  await tf.setBackend('onnxruntime');
});
after(async () => {
  setFusedKernels(null);
  await tf.setBackend('cpu');
});

const BASE: ModelConfig = {
  model_type: 'orz', vocab_size: 97, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2,
  num_attention_heads: 4, max_position_embeddings: 64, hidden_act: 'silu', tie_word_embeddings: true,
};
const VARIANTS: [string, ModelConfig][] = [
  ['MHA silu (SwiGLU), no biases', BASE],
  ['GQA 4/2 heads', { ...BASE, num_key_value_heads: 2 }],
  ['llama with q/k/v/o biases, GQA, untied head', { ...BASE, model_type: 'llama', attention_bias: true, num_key_value_heads: 2, tie_word_embeddings: false }],
  ['qwen2 (q/k/v biases, no o bias)', { ...BASE, model_type: 'qwen2', attention_bias: true }],
  ['ungated gelu (orz)', { ...BASE, hidden_act: 'gelu' }],
  ['gated gelu (llama), one KV head', { ...BASE, model_type: 'llama', hidden_act: 'gelu', num_key_value_heads: 1 }],
  ['head_dim 12 (heads * head_dim != hidden_size)', { ...BASE, head_dim: 12, num_key_value_heads: 2 }],
  ['gpt_neox: LayerNorm, parallel residual, rotary_pct 0.5, biases everywhere', {
    ...BASE, model_type: 'gpt_neox', hidden_act: 'gelu', tie_word_embeddings: false, use_parallel_residual: true, rotary_pct: 0.5,
  }],
  ['gpt_neox: sequential residual, full rotary, no attention biases', {
    ...BASE, model_type: 'gpt_neox', hidden_act: 'gelu', tie_word_embeddings: false, use_parallel_residual: false, rotary_pct: 1, attention_bias: false,
  }],
];

/** Left-padded rows: ids, keyMask (0 on pads) and positions = cumsum(mask) - 1 (pads at 0). */
function paddedBatch(lengths: number[], T: number, vocab: number, seed: number): { ids: number[][]; mask: number[][]; pos: number[][] } {
  const rng = new Rng(seed);
  const ids = lengths.map((n) => Array.from({ length: T }, (_, t) => (t < T - n ? 0 : rng.int(1, vocab - 1))));
  const mask = lengths.map((n) => Array.from({ length: T }, (_, t) => (t < T - n ? 0 : 1)));
  const pos = lengths.map((n) => Array.from({ length: T }, (_, t) => Math.max(0, t - (T - n))));
  return { ids, mask, pos };
}

function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  assert.equal(got.length, want.length);
  let diff = 0, scale = 1e-12;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return diff / scale;
}

interface Result { hidden: Float32Array; loss: number; grads: Record<string, Float32Array> }

/** Hidden states and d(sum(logits * R))/d(every weight), with fused kernels on or off. */
function run(model: TransformerLM, fused: boolean, batch: ReturnType<typeof paddedBatch>): Result {
  setFusedKernels(fused);
  try {
    return tf.tidy(() => {
      const [B, T] = [batch.ids.length, batch.ids[0]!.length];
      const ids = tf.tensor2d(batch.ids, [B, T], 'int32');
      const opts = { keyMask: tf.tensor2d(batch.mask, [B, T]), positions: tf.tensor2d(batch.pos, [B, T], 'int32') };
      const hidden = model.hidden(ids, opts).dataSync() as Float32Array;
      const rng = new Rng(5);
      const R = tf.tensor3d(Float32Array.from({ length: B * T * model.config.vocab_size }, () => rng.next() * 2 - 1), [B, T, model.config.vocab_size]);
      const vars = [...model.weights.values()];
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(model.logits(model.hidden(ids, opts)), R)) as tf.Scalar, vars);
      const byName: Record<string, Float32Array> = {};
      for (const [name, v] of model.weights) byName[name] = grads[v.name]!.dataSync() as Float32Array;
      return { hidden, loss: value.dataSync()[0]!, grads: byName };
    });
  } finally {
    setFusedKernels(null);
  }
}

for (const [variant, config] of VARIANTS) {
  test(`fused layer == composite: ${variant} (hidden states and every parameter's gradient)`, () => {
    const model = sharpModel(config, 3);
    const batch = paddedBatch([7, 4, 1], 7, config.vocab_size, 11);
    const composite = run(model, false, batch);
    const tensors = tf.memory().numTensors;
    const fused = run(model, true, batch);
    assert.equal(tf.memory().numTensors, tensors, 'the fused forward/backward leaked tensors');
    assert.ok(relErr(fused.hidden, composite.hidden) < 1e-5, `hidden states differ by ${relErr(fused.hidden, composite.hidden)} (relative)`);
    assert.ok(Math.abs(fused.loss - composite.loss) <= 1e-4 * Math.abs(composite.loss) + 1e-4, `loss ${fused.loss} vs ${composite.loss}`);
    assert.equal(Object.keys(fused.grads).length, model.weights.size);
    for (const [name, want] of Object.entries(composite.grads)) {
      const err = relErr(fused.grads[name]!, want);
      assert.ok(err < 1e-4, `gradient of ${name} differs by ${err} (relative to its largest entry)`);
    }
    model.dispose();
  });
}

test('the fused kernels really run (forward and backward), and not when turned off', async () => {
  const model = sharpModel({ ...BASE, num_key_value_heads: 2 }, 4);
  const ids = tf.tensor2d([[1, 2, 3, 4], [5, 6, 7, 8]], undefined, 'int32');
  const kernelsOf = async (fused: boolean) => {
    setFusedKernels(fused);
    const info = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(model.hidden(ids)) as tf.Scalar, [...model.weights.values()]);
      value.dispose();
      tf.dispose(Object.values(grads));
    });
    setFusedKernels(null);
    return info.kernelNames;
  };
  const on = await kernelsOf(true);
  assert.ok(on.includes('OrzLayerForward') && on.includes('OrzLayerBackward'), `kernels: ${on.join(', ')}`);
  assert.ok(!on.includes('Softmax'), 'attention ran op by op');
  const off = await kernelsOf(false);
  assert.ok(!off.includes('OrzLayerForward') && !off.includes('OrzLayerBackward'));
  ids.dispose();
  model.dispose();
});

/** Logits of each row's last column by a full forward (no cache) over the whole left-padded rows. */
function fullLastLogits(model: TransformerLM, ids: number[][], mask: number[][]): Float32Array {
  const B = ids.length, L = ids[0]!.length;
  return tf.tidy(() => {
    const positions = mask.map((m) => {
      let seen = 0;
      return m.map((v) => (v ? seen++ : 0));
    });
    const h = model.hidden(tf.tensor2d(ids, [B, L], 'int32'), { positions: tf.tensor2d(positions, [B, L], 'int32'), keyMask: tf.tensor2d(mask, [B, L]) });
    return model.logits(tf.slice(h, [0, L - 1, 0], [B, 1, -1]).reshape([B, -1]) as tf.Tensor2D).dataSync() as Float32Array;
  });
}

for (const capacity of [0, 40]) {
  test(`fused KV-cache decode == full recompute (GQA, left padding, a row dropped; capacity ${capacity || 'grown on demand'})`, async () => {
    const config = { ...BASE, num_key_value_heads: 2, model_type: 'llama', attention_bias: true };
    const model = sharpModel(config, 6);
    const rng = new Rng(2);
    const P = 5;
    const lengths = [5, 2, 3, 1];
    let ids = lengths.map((n) => Array.from({ length: P }, (_, t) => (t < P - n ? 0 : rng.int(1, 96))));
    let mask = lengths.map((n) => Array.from({ length: P }, (_, t) => (t < P - n ? 0 : 1)));
    let nextPos = [...lengths];
    const tensors = tf.memory().numTensors;
    const cache = model.newCache(ids.length, capacity);
    const step = (tokens: number[][], positions: number[][]) => tf.tidy(() => {
      const B = tokens.length, T = tokens[0]!.length;
      const h = model.hidden(tf.tensor2d(tokens, [B, T], 'int32'), {
        positions: tf.tensor2d(positions, [B, T], 'int32'), keyMask: tf.tensor2d(mask, [B, mask[0]!.length]), cache,
      });
      return model.logits(tf.slice(h, [0, T - 1, 0], [B, 1, -1]).reshape([B, -1]) as tf.Tensor2D).dataSync() as Float32Array;
    });
    const fusedRuns = await tf.profile(() => {
      const prefill = step(ids, mask.map((m) => { let s = 0; return m.map((v) => (v ? s++ : 0)); }));
      assert.ok(relErr(prefill, fullLastLogits(model, ids, mask)) < 1e-5, 'prefill');
    });
    assert.ok(fusedRuns.kernelNames.includes('OrzLayerForward'), 'prefill did not run the fused kernel');
    let worst = 0;
    for (let s = 0; s < 13; s++) { // 5 + 14 steps: a cache without capacity grows midway (16 -> 32)
      if (s === 3) {
        const keep = [0, 2, 3];
        cache.select(keep);
        ids = keep.map((r) => ids[r]!);
        mask = keep.map((r) => mask[r]!);
        nextPos = keep.map((r) => nextPos[r]!);
      }
      // a block of 2 tokens at step 5 (decode with T > 1), else one
      const T = s === 5 ? 2 : 1;
      const tokens = ids.map(() => Array.from({ length: T }, () => rng.int(1, 96)));
      ids = ids.map((r, i) => [...r, ...tokens[i]!]);
      mask = mask.map((r) => [...r, ...Array(T).fill(1)]);
      const positions = nextPos.map((p) => Array.from({ length: T }, (_, j) => p + j));
      nextPos = nextPos.map((p) => p + T);
      worst = Math.max(worst, relErr(step(tokens, positions), fullLastLogits(model, ids, mask)));
    }
    assert.equal(cache.length, P + 14);
    if (capacity) assert.equal(cache.capacity, capacity, 'a preallocated cache reallocated');
    assert.ok(worst < 1e-5, `cached decode vs full recompute differ by ${worst} (relative)`);
    cache.dispose();
    assert.equal(tf.memory().numTensors, tensors, 'decoding leaked tensors');
    model.dispose();
  });
}
