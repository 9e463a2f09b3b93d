// The fused loss head (OrzTokenLogprobs on the onnxruntime backend) against the composite tfjs path:
// per-token log-probs, entropies and the gradients of a loss through both, for tied and untied heads
// and padded batches. Plus the ORZ_FUSED switch.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../sdk/engine/tf.ts';
import { FUSED, fusedKernel, setFusedKernels } from '../sdk/engine/fused.ts';
import { ortRunCount, registerOnnxBackend } from '../sdk/engine/onnx/index.ts';
import { TransformerLM, type ModelConfig } from '../sdk/model/index.ts';
import { responseLogprobs } from '../sdk/ppo/forward.ts';
import { buildTokenBatch, disposeTokenBatch } from '../sdk/ppo/token-batch.ts';
import { Rng } from '../sdk/engine/rng.ts';

before(async () => {
  registerOnnxBackend();
  await tf.setBackend('onnxruntime');
});
after(async () => {
  setFusedKernels(null);
  await tf.setBackend('cpu');
});

const base: ModelConfig = {
  model_type: 'orz', vocab_size: 61, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 1,
  num_attention_heads: 4, max_position_embeddings: 64, hidden_act: 'silu', tie_word_embeddings: true,
};

function samples(seed: number, V: number) {
  const rng = new Rng(seed);
  const ids = (n: number) => Array.from({ length: n }, () => 1 + Math.floor(rng.next() * (V - 1)));
  // ragged prompts and responses: left padding, right padding, a one-token response
  return [[5, 9], [3, 1], [7, 12], [4, 6]].map(([p, r]) => ({ promptIds: ids(p!), responseIds: ids(r!) }));
}

/** logp, entropy and the gradient of sum(logp * a + entropy * b) for every weight. */
function run(model: TransformerLM, fused: boolean) {
  setFusedKernels(fused);
  const tb = buildTokenBatch(samples(3, model.config.vocab_size), 0);
  const ortBefore = ortRunCount();
  try {
    const a = tf.randomNormal([tb.rows, tb.R], 0, 1, 'float32', 5);
    const b = tf.randomNormal([tb.rows, tb.R], 0, 1, 'float32', 6);
    let logp: Float32Array = new Float32Array(), entropy: Float32Array = new Float32Array();
    const { grads } = tf.variableGrads(() => {
      const out = responseLogprobs(model, tb, true);
      logp = out.logp.dataSync() as Float32Array;
      entropy = out.entropy!.dataSync() as Float32Array;
      return tf.add(tf.sum(tf.mul(out.logp, a)), tf.sum(tf.mul(out.entropy!, b))) as tf.Scalar;
    }, [...model.weights.values()]);
    const hfName = new Map([...model.weights].map(([name, v]) => [v.name, name]));
    const g = Object.fromEntries(Object.entries(grads).map(([k, t]) => [hfName.get(k) ?? k, t.dataSync() as Float32Array]));
    tf.dispose([a, b, ...Object.values(grads)]);
    return { logp, entropy, grads: g, ortRuns: ortRunCount() - ortBefore };
  } finally {
    disposeTokenBatch(tb);
  }
}

function assertClose(what: string, got: Float32Array, want: Float32Array, tol: number): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let scale = 1e-6;
  for (const w of want) scale = Math.max(scale, Math.abs(w));
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(got[i]! - want[i]!) <= tol * scale, `${what}[${i}]: fused ${got[i]} vs composite ${want[i]} (scale ${scale})`);
  }
}

for (const tied of [true, false]) {
  test(`fused loss head equals the composite path (${tied ? 'tied' : 'untied'} head)`, () => {
    const model = TransformerLM.init({ ...base, tie_word_embeddings: tied }, 11);
    try {
      const composite = run(model, false);
      const fused = run(model, true);
      assertClose('logp', fused.logp, composite.logp, 1e-5);
      assertClose('entropy', fused.entropy, composite.entropy, 1e-5);
      assert.deepEqual(Object.keys(fused.grads).sort(), Object.keys(composite.grads).sort());
      for (const k of Object.keys(composite.grads)) assertClose(`d/d ${k}`, fused.grads[k]!, composite.grads[k]!, 1e-4);
      // entropy of a 61-way softmax lies in (0, log 61]
      for (const h of fused.entropy) assert.ok(h > 0 && h <= Math.log(61) + 1e-5);
    } finally {
      model.dispose();
    }
  });
}

test('fusedKernel follows the backend and the switch', async () => {
  setFusedKernels(null);
  assert.equal(fusedKernel(FUSED.tokenLogprobs, FUSED.tokenLogprobsGrad), true);
  setFusedKernels(false);
  assert.equal(fusedKernel(FUSED.tokenLogprobs), false);
  setFusedKernels(null);
  const saved = process.env['ORZ_FUSED'];
  try {
    process.env['ORZ_FUSED'] = '0';
    assert.equal(fusedKernel(FUSED.tokenLogprobs), false);
    process.env['ORZ_FUSED'] = 'yes';
    assert.throws(() => fusedKernel(FUSED.tokenLogprobs), /ORZ_FUSED must be 0 or 1, got "yes"/);
  } finally {
    if (saved === undefined) delete process.env['ORZ_FUSED'];
    else process.env['ORZ_FUSED'] = saved;
  }
  await tf.setBackend('cpu');
  try {
    assert.equal(fusedKernel(FUSED.tokenLogprobs), false, 'the cpu backend has no fused kernels');
  } finally {
    await tf.setBackend('onnxruntime');
  }
});
