// Gradients: the hand-written ones against tfjs autograd of the textbook formulas, every model
// weight reached, and central finite differences on a few scalar weights of the whole model.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../sdk/engine/tf.ts';
import { Rng } from '../sdk/engine/rng.ts';
import { TransformerLM, type ModelConfig } from '../sdk/model/index.ts';
import { embeddingLookup, projectHeads, rmsNorm } from '../sdk/model/ops.ts';
import { attend } from '../sdk/model/attention.ts';

function rand(shape: number[], seed: number, scale = 1): tf.Tensor {
  const rng = new Rng(seed);
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (rng.next() * 2 - 1) * scale), shape);
}

function assertClose(a: tf.Tensor, b: tf.Tensor, tol: number, what: string) {
  const x = a.dataSync(), y = b.dataSync();
  assert.deepEqual(a.shape, b.shape, `${what}: shapes`);
  let scale = 0, err = 0;
  for (let i = 0; i < x.length; i++) {
    scale = Math.max(scale, Math.abs(y[i]!));
    err = Math.max(err, Math.abs(x[i]! - y[i]!));
  }
  assert.ok(scale > 0, `${what}: reference is all zero`);
  assert.ok(err <= tol * scale, `${what}: max diff ${err} vs scale ${scale}`);
}

test('rmsNorm: value and gradients equal autograd of x / sqrt(mean(x^2) + eps) * w', () => {
  tf.tidy(() => {
    const x = rand([6, 8], 1, 2), w = rand([8], 2), dy = rand([6, 8], 3);
    const naive = (x: tf.Tensor, w: tf.Tensor) => tf.mul(tf.div(x, tf.sqrt(tf.add(tf.mean(tf.square(x), -1, true), 1e-5))), w);
    assertClose(rmsNorm(x as tf.Tensor2D, w as tf.Tensor1D, 1e-5), naive(x, w), 1e-6, 'value');
    const [gx, gw] = tf.grads((x, w) => tf.sum(tf.mul(rmsNorm(x as tf.Tensor2D, w as tf.Tensor1D, 1e-5), dy)))([x, w]);
    const [nx, nw] = tf.grads((x, w) => tf.sum(tf.mul(naive(x, w), dy)))([x, w]);
    assertClose(gx!, nx!, 1e-5, 'dx');
    assertClose(gw!, nw!, 1e-5, 'dw');
  });
});

test('attention core: value and gradients equal autograd of softmax(QK^T + M) V', () => {
  tf.tidy(() => {
    const [B, T, S, d] = [2, 3, 5, 4];
    const q = rand([B, T, d], 4, 1.5), k = rand([B, S, d], 5, 1.5), v = rand([B, S, d], 6), dy = rand([B, T, d], 7);
    // causal over the last T of S keys, and key 1 of row 0 is padding
    const m = new Float32Array(B * T * S);
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let s = 0; s < S; s++) {
      if (s > S - T + t || (b === 0 && s === 1)) m[(b * T + t) * S + s] = -1e9;
    }
    const mask = tf.tensor3d(m, [B, T, S]);
    const naive = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => tf.matMul(tf.softmax(tf.add(tf.matMul(q as tf.Tensor3D, k as tf.Tensor3D, false, true), mask)) as tf.Tensor3D, v as tf.Tensor3D);
    assertClose(attend(q as tf.Tensor3D, k as tf.Tensor3D, v as tf.Tensor3D, mask), naive(q, k, v), 1e-5, 'value');
    const got = tf.grads((q, k, v) => tf.sum(tf.mul(attend(q as tf.Tensor3D, k as tf.Tensor3D, v as tf.Tensor3D, mask), dy)))([q, k, v]);
    const want = tf.grads((q, k, v) => tf.sum(tf.mul(naive(q, k, v), dy)))([q, k, v]);
    ['dQ', 'dK', 'dV'].forEach((name, i) => assertClose(got[i]!, want[i]!, 1e-5, name));
  });
});

test('projectHeads: value and gradients equal autograd of per-head x W_h^T + b_h', () => {
  tf.tidy(() => {
    const [N, H, heads, d] = [5, 6, 3, 2];
    const x = rand([N, H], 10), w = rand([heads, d, H], 11), b = rand([heads, 1, d], 12), dy = rand([heads, N, d], 13);
    const naive = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.stack(tf.unstack(w).map((wh, h) =>
      tf.add(tf.matMul(x as tf.Tensor2D, wh as tf.Tensor2D, false, true), tf.unstack(b)[h]!)));
    assertClose(projectHeads(x as tf.Tensor2D, w as tf.Tensor3D, b as tf.Tensor3D), naive(x, w, b), 1e-6, 'value');
    const got = tf.grads((x, w, b) => tf.sum(tf.mul(projectHeads(x as tf.Tensor2D, w as tf.Tensor3D, b as tf.Tensor3D), dy)))([x, w, b]);
    const want = tf.grads((x, w, b) => tf.sum(tf.mul(naive(x, w, b), dy)))([x, w, b]);
    ['dx', 'dW', 'db'].forEach((name, i) => assertClose(got[i]!, want[i]!, 1e-5, name));
    const [gx, gw] = tf.grads((x, w) => tf.sum(tf.mul(projectHeads(x as tf.Tensor2D, w as tf.Tensor3D), dy)))([x, w]);
    const [nx, nw] = tf.grads((x, w) => tf.sum(tf.mul(naive(x, w, tf.zeros([heads, 1, d])), dy)))([x, w]);
    assertClose(gx!, nx!, 1e-5, 'dx without bias');
    assertClose(gw!, nw!, 1e-5, 'dW without bias');
  });
});

test('embedding lookup: gradient scatter-adds repeated ids like autograd of tf.gather', () => {
  tf.tidy(() => {
    const table = rand([7, 3], 8), ids = tf.tensor1d([2, 5, 2, 0, 2], 'int32'), dy = rand([5, 3], 9);
    const g = tf.grad((t) => tf.sum(tf.mul(embeddingLookup(t as tf.Tensor2D, ids), dy)))(table);
    const n = tf.grad((t) => tf.sum(tf.mul(tf.gather(t, ids), dy)))(table);
    assertClose(g, n, 1e-6, 'dE');
  });
});

const CONFIGS: [string, ModelConfig][] = [
  ['qwen2 GQA, biases, untied', {
    model_type: 'qwen2', vocab_size: 50, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 2, num_attention_heads: 4,
    num_key_value_heads: 2, max_position_embeddings: 32, tie_word_embeddings: false,
  }],
  ['llama tied, o_proj bias, GELU-gated', {
    model_type: 'llama', vocab_size: 50, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 2, num_attention_heads: 2,
    max_position_embeddings: 32, tie_word_embeddings: true, attention_bias: true, hidden_act: 'gelu',
  }],
  ['orz plain GELU MLP, one KV head', {
    model_type: 'orz', vocab_size: 50, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 4,
    num_key_value_heads: 1, max_position_embeddings: 32, tie_word_embeddings: true, hidden_act: 'gelu',
  }],
];

/** Mean log-likelihood of fixed targets over real tokens of a left-padded batch. */
function lossFn(model: TransformerLM): () => tf.Scalar {
  const ids = tf.tensor2d([[0, 0, 7, 3, 9, 41, 2], [12, 5, 33, 8, 1, 19, 44]], undefined, 'int32');
  const mask = tf.tensor2d([[0, 0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1]]);
  const pos = tf.tensor2d([[0, 0, 0, 1, 2, 3, 4], [0, 1, 2, 3, 4, 5, 6]], undefined, 'int32');
  const targets = tf.tensor1d([0, 0, 3, 9, 41, 2, 17, 5, 33, 8, 1, 19, 44, 6], 'int32');
  return () => tf.tidy(() => {
    const logp = tf.logSoftmax(model.logits(model.hidden(ids, { positions: pos, keyMask: mask })).reshape([14, -1]));
    const picked = tf.sum(tf.mul(logp, tf.oneHot(targets, 50)), -1);
    return tf.div(tf.sum(tf.mul(picked, mask.reshape([14]))), tf.sum(mask)) as tf.Scalar;
  });
}

for (const [name, config] of CONFIGS) {
  test(`${name}: every weight gets a finite, non-zero gradient`, () => {
    const model = TransformerLM.init(config, 2);
    const f = lossFn(model);
    const { value, grads } = tf.variableGrads(f, [...model.weights.values()]);
    assert.ok(Number.isFinite(value.dataSync()[0]));
    for (const [wname, v] of model.weights) {
      const g = grads[v.name];
      assert.ok(g, `no gradient for ${wname}`);
      const d = g.dataSync();
      assert.ok(d.every(Number.isFinite), `non-finite gradient for ${wname}`);
      assert.ok(d.some((x) => x !== 0), `all-zero gradient for ${wname}`);
    }
    tf.dispose([value, ...Object.values(grads)]);
    model.dispose();
  });
}

test('finite differences agree with the gradient on scalar weights across the model', () => {
  const config = CONFIGS[0]![1];
  const model = TransformerLM.init(config, 4);
  // sharpen the weights so every path carries a sizeable gradient
  const rng = new Rng(12);
  for (const [n, v] of model.weights) {
    if (!n.endsWith('norm.weight')) v.assign(tf.tidy(() => tf.tensor(Float32Array.from({ length: v.size }, () => (rng.next() * 2 - 1) * 0.3), v.shape)));
  }
  const f = lossFn(model);
  const { value, grads } = tf.variableGrads(f, [...model.weights.values()]);
  value.dispose();
  // one weight of each kind; in each, the entry with the largest gradient (clear of float32 noise)
  const probes = [
    'model.embed_tokens.weight', 'model.layers.0.self_attn.q_proj.weight', 'model.layers.0.self_attn.q_proj.bias',
    'model.layers.0.self_attn.k_proj.weight', 'model.layers.1.self_attn.v_proj.bias', 'model.layers.0.self_attn.o_proj.weight',
    'model.layers.1.input_layernorm.weight', 'model.layers.0.mlp.gate_proj.weight', 'model.layers.1.mlp.down_proj.weight',
    'model.norm.weight', 'lm_head.weight',
  ].map((wname): [string, number] => {
    const g = grads[model.weights.get(wname)!.name]!.dataSync();
    let best = 0;
    g.forEach((x, i) => { if (Math.abs(x) > Math.abs(g[best]!)) best = i; });
    return [wname, best];
  });
  const eps = 1e-2;
  for (const [wname, index] of probes) {
    const v = model.weights.get(wname)!;
    const analytic = grads[v.name]!.dataSync()[index]!;
    const base = Float32Array.from(v.dataSync());
    const lossAt = (delta: number) => {
      const data = base.slice();
      data[index]! += delta;
      v.assign(tf.tidy(() => tf.tensor(data, v.shape)));
      return tf.tidy(() => f().dataSync()[0]!);
    };
    // float32 loss: use a 4-point stencil so the step can stay large against rounding
    const fd = (8 * (lossAt(eps) - lossAt(-eps)) - (lossAt(2 * eps) - lossAt(-2 * eps))) / (12 * eps);
    v.assign(tf.tidy(() => tf.tensor(base, v.shape)));
    assert.ok(Math.abs(analytic) > 1e-3, `${wname}[${index}]: gradient ${analytic} too small to test`);
    assert.ok(Math.abs(fd - analytic) <= 2e-2 * Math.abs(analytic) + 2e-4, `${wname}[${index}]: finite difference ${fd} vs gradient ${analytic}`);
  }
  tf.dispose(Object.values(grads));
  model.dispose();
});
