// The optimizer's memory-bounded paths (bench/scale-memory.ts measured what they save at Qwen2.5-0.5B's
// shape): OrzSumSquares over gradients larger than one run (split into views, small ones packed
// together) equals the float64 sum, and Adam.apply({ releaseGrads }) updates exactly as without it while
// freeing every gradient it was handed.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../sdk/engine/tf.ts';
import { Rng } from '../sdk/engine/rng.ts';
import { ortRunCount, registerOnnxBackend } from '../sdk/engine/onnx/index.ts';
import { setFusedKernels } from '../sdk/engine/fused.ts';
import { SUM_SQUARES_CHUNK } from '../sdk/engine/onnx/fused/adam.ts';
import { sumOfSquares } from '../sdk/ppo/adam-op.ts';
import { Adam, type AdamConfig } from '../sdk/ppo/optimizer.ts';

before(() => registerOnnxBackend());
after(async () => {
  setFusedKernels(null);
  await tf.setBackend('cpu');
});

const values = (n: number, rng: Rng) => Float32Array.from({ length: n }, () => rng.next() * 2 - 1);

test('the fused sum of squares over gradients larger than one run equals the float64 sum, in the expected runs', async () => {
  await tf.setBackend('onnxruntime');
  setFusedKernels(true);
  const rng = new Rng(5);
  // one gradient of two full runs and a bit, then two small ones that pack into the short last run
  const arrays = [values(2 * SUM_SQUARES_CHUNK + 7, rng), values(1000, rng), values(3, rng)];
  const exact = arrays.reduce((a, x) => x.reduce((s, v) => s + v * v, a), 0);
  const grads = arrays.map((a) => tf.tensor1d(a));
  const runs0 = ortRunCount();
  const fused = sumOfSquares(grads);
  assert.equal(ortRunCount() - runs0, 3, 'two full runs of the big gradient, then its tail with both small ones');
  assert.ok(Math.abs(fused - exact) / exact < 1e-6, `fused ${fused} vs float64 ${exact}`);
  // all at one size below a run: one run, as before
  const small = [tf.tensor1d(values(10, rng)), tf.tensor1d(values(20, rng))];
  const runs1 = ortRunCount();
  sumOfSquares(small);
  assert.equal(ortRunCount() - runs1, 1);
  tf.dispose([...grads, ...small]);
});

test('releaseGrads: the same update as without it, and every gradient disposed', async () => {
  const cfg: AdamConfig = { lr: 1e-2, betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.01, gradClip: 0.5, warmupSteps: 0 };
  const shapes: Record<string, number[]> = { emb: [300, 40], w: [40, 40], b: [40] };
  for (const backend of ['onnxruntime', 'cpu']) {
    await tf.setBackend(backend);
    setFusedKernels(backend === 'onnxruntime');
    const step = (release: boolean) => {
      const rng = new Rng(9);
      const params = new Map(Object.entries(shapes).map(([n, s]) => [n, tf.variable(tf.tensor(values(s.reduce((a, b) => a * b), rng), s), true, `${n}.${backend}.${release}`)]));
      const adam = new Adam(cfg, params);
      const grads = Object.fromEntries(Object.entries(shapes).map(([n, s]) => [n, tf.tensor(values(s.reduce((a, b) => a * b), rng), s)]));
      const r = adam.apply(grads, undefined, { releaseGrads: release });
      const out = { norm: r.gradNorm, params: Object.fromEntries([...params].map(([n, p]) => [n, Float32Array.from(p.dataSync())])), state: adam.state(), disposed: Object.values(grads).map((g) => g.isDisposed) };
      tf.dispose(Object.values(grads));
      adam.dispose();
      for (const p of params.values()) p.dispose();
      return out;
    };
    const kept = step(false), released = step(true);
    assert.ok(kept.norm > cfg.gradClip, 'the clip is active, so the norm reaches every update');
    assert.equal(released.norm, kept.norm);
    assert.deepEqual(released.params, kept.params, backend);
    assert.deepEqual(released.state, kept.state, backend);
    assert.deepEqual(kept.disposed, [false, false, false]);
    assert.deepEqual(released.disposed, [true, true, true], `${backend}: every gradient freed`);
  }
});
