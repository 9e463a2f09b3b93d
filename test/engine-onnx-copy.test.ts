// The onnxruntime backend's block-copy kernels (Slice, PadV2, StridedSlice) against the cpu
// backend: random shapes, begins and sizes at ranks 0-6, size -1, empty tensors, float32/int32/
// bool, string falling back, and gradients through tf.slice (whose gradient is a Pad).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../sdk/engine/tf.ts';
import { Rng } from '../sdk/engine/rng.ts';
import { registerOnnxBackend } from '../sdk/engine/onnx/index.ts';
import { blockCopyCount } from '../sdk/engine/onnx/copy-kernels.ts';

before(() => registerOnnxBackend());
after(async () => { await tf.setBackend('cpu'); });

type Dtype = 'float32' | 'int32' | 'bool';

function randTensor(shape: number[], rng: Rng, dtype: Dtype): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const vals = Array.from({ length: n }, () => rng.next());
  if (dtype === 'float32') return tf.tensor(Float32Array.from(vals, (v) => v * 2 - 1), shape, 'float32');
  if (dtype === 'int32') return tf.tensor(Int32Array.from(vals, (v) => Math.floor(v * 2000) - 1000), shape, 'int32');
  return tf.tensor(Uint8Array.from(vals, (v) => (v < 0.5 ? 1 : 0)), shape, 'bool');
}

/** fn's outputs (shape, dtype, values) on a backend, and how many block copies it did. */
async function runOn(backend: string, fn: () => tf.Tensor | tf.Tensor[]): Promise<{ outs: [number[], string, unknown[]][]; copies: number }> {
  await tf.setBackend(backend);
  const c0 = blockCopyCount();
  let outs: [number[], string, unknown[]][] = [];
  tf.tidy(() => {
    const r = fn();
    outs = (Array.isArray(r) ? r : [r]).map((t) => [t.shape, t.dtype, Array.from(t.dataSync() as ArrayLike<unknown>)]);
  });
  return { outs, copies: blockCopyCount() - c0 };
}

/** Exactly equal on both backends (copies are exact); `copied`: whether a block copy must have run (null: don't care). */
async function same(what: string, fn: () => tf.Tensor | tf.Tensor[], copied: boolean | null = true, tol = 0): Promise<void> {
  const cpu = await runOn('cpu', fn);
  const ort = await runOn('onnxruntime', fn);
  if (copied !== null) assert.equal(ort.copies > 0, copied, `${what}: block copies ${ort.copies}`);
  assert.equal(ort.outs.length, cpu.outs.length, what);
  cpu.outs.forEach(([shape, dtype, want], o) => {
    const [gs, gd, got] = ort.outs[o]!;
    assert.deepEqual(gs, shape, `${what}[${o}] shape`);
    assert.equal(gd, dtype, `${what}[${o}] dtype`);
    if (tol === 0) assert.deepEqual(got, want, `${what}[${o}] values`);
    else want.forEach((w, i) => assert.ok(Math.abs((got[i] as number) - (w as number)) <= tol, `${what}[${o}] index ${i}: ${got[i]} vs ${w}`));
  });
}

test('Slice: random shapes, begins and sizes at ranks 1-6, all dtypes, equal to cpu', async () => {
  const rng = new Rng(7);
  const dtypes: Dtype[] = ['float32', 'int32', 'bool'];
  let copiedCases = 0;
  for (let c = 0; c < 120; c++) {
    const rank = 1 + (c % 6);
    const shape = Array.from({ length: rank }, () => 1 + Math.floor(rng.next() * (rank > 4 ? 4 : 7)));
    const begin = shape.map((d) => Math.floor(rng.next() * d));
    const size = shape.map((d, i) => {
      const r = rng.next();
      if (r < 0.2) return -1; // to the end
      if (r < 0.3) return 0; // empty
      return 1 + Math.floor(rng.next() * (d - begin[i]!));
    });
    const dtype = dtypes[c % 3]!;
    const x = randTensor(shape, rng, dtype);
    const cpu = await runOn('cpu', () => tf.slice(x, begin, size));
    const ort = await runOn('onnxruntime', () => tf.slice(x, begin, size));
    assert.deepEqual(ort.outs, cpu.outs, `shape [${shape}] begin [${begin}] size [${size}] ${dtype}`);
    if (ort.copies > 0) copiedCases++;
    x.dispose();
  }
  assert.ok(copiedCases > 50, `block copies ran in only ${copiedCases} of 120 cases`);
});

test('Slice: edge cases (rank 0, empty input, whole tensor, single element, short runs, number begin)', async () => {
  const rng = new Rng(11);
  const x0 = tf.scalar(3.5);
  // tf.slice rejects scalars before the kernel; the kernel itself copies one element
  await same('rank 0 kernel', () => tf.engine().runKernel('Slice', { x: x0 }, { begin: [], size: [] }) as tf.Tensor, null);
  const empty = tf.zeros([3, 0, 4]);
  await same('empty input', () => tf.slice(empty, [1, 0, 1], [2, 0, 2]), null);
  const x = randTensor([4, 5, 6], rng, 'float32');
  await same('whole', () => tf.slice(x, [0, 0, 0], [-1, -1, -1]), null);
  await same('one element', () => tf.slice(x, [2, 3, 4], [1, 1, 1]), null);
  await same('inner run of 1 (scalar loop)', () => tf.slice(x, [0, 0, 5], [4, 5, 1]));
  await same('middle axis', () => tf.slice(x, [1, 2, 0], [2, 2, -1]));
  await same('number begin (axis 0 only, contiguous)', () => tf.slice(x, 1, 2), null);
  // a long inner run (> the subarray threshold) with strided outer axes
  const big = randTensor([3, 9, 40], rng, 'float32');
  await same('long runs', () => tf.slice(big, [1, 2, 3], [2, 5, 30]));
  const s = tf.tensor(['a', 'b', 'c', 'd', 'e', 'f'], [2, 3], 'string');
  await same('string falls back to cpu', () => tf.slice(s, [0, 1], [2, 2]), false);
  for (const t of [x0, empty, x, big, s]) t.dispose();
});

test('Slice: out-of-range parameters give tfjs\'s error on both backends', async () => {
  const x = tf.zeros([3, 4]);
  for (const backend of ['cpu', 'onnxruntime']) {
    await tf.setBackend(backend);
    assert.throws(() => tf.slice(x, [2, 1], [2, 2]), /overflow/, backend);
  }
  x.dispose();
});

test('Slice: the PPO response-position slice shape', async () => {
  const rng = new Rng(3);
  const h = randTensor([4, 40, 24], rng, 'float32');
  await same('h[:, P-1:P-1+R, :]', () => tf.slice(h, [0, 15, 0], [4, 20, -1]));
  h.dispose();
});

test('PadV2: random paddings at ranks 1-6, constant values, all dtypes, rank 0 and empty', async () => {
  const rng = new Rng(5);
  const dtypes: Dtype[] = ['float32', 'int32', 'bool'];
  for (let c = 0; c < 60; c++) {
    const rank = 1 + (c % 6);
    const shape = Array.from({ length: rank }, () => (rng.next() < 0.05 ? 0 : 1 + Math.floor(rng.next() * (rank > 4 ? 3 : 6))));
    const pads = shape.map(() => [Math.floor(rng.next() * 3), Math.floor(rng.next() * 3)] as [number, number]);
    const dtype = dtypes[c % 3]!;
    const value = dtype === 'bool' ? (c % 2) : c % 4 === 0 ? 0 : Math.floor(rng.next() * 10) - 5;
    const x = randTensor(shape, rng, dtype);
    await same(`pad [${shape}] ${JSON.stringify(pads)} ${dtype} ${value}`, () => tf.pad(x, pads, value));
    x.dispose();
  }
  const s = tf.scalar(2, 'int32');
  await same('rank 0 kernel', () => tf.engine().runKernel('PadV2', { x: s }, { paddings: [], constantValue: 0 }) as tf.Tensor);
  s.dispose();
});

test('StridedSlice with unit strides (masks, shrink, new axis) equals cpu; other strides fall back', async () => {
  const rng = new Rng(9);
  const x = randTensor([4, 5, 6, 3], rng, 'float32');
  await same('inner box', () => tf.stridedSlice(x, [1, 1, 2, 0], [3, 4, 5, 3], [1, 1, 1, 1]));
  await same('negative begin/end', () => tf.stridedSlice(x, [-3, 0, -4, 1], [-1, 5, -1, 3]));
  await same('begin/end masks', () => tf.stridedSlice(x, [1, 2, 0, 0], [0, 0, 3, 2], [1, 1, 1, 1], 0b0001, 0b0010));
  await same('shrink axis', () => tf.stridedSlice(x, [1, 1, 2, 0], [2, 4, 5, 2], [1, 1, 1, 1], 0, 0, 0, 0, 0b0001));
  await same('new axis', () => tf.stridedSlice(x, [0, 1, 1, 0], [0, 3, 4, 2], [1, 1, 1, 1], 0, 0, 0, 0b0001), null);
  await same('ellipsis', () => tf.stridedSlice(x, [0, 1], [0, 2], [1, 1], 0, 0, 0b01), null);
  await same('empty (end == begin)', () => tf.stridedSlice(x, [1, 3, 0, 0], [3, 3, 6, 3]), null);
  for (const backend of ['cpu', 'onnxruntime']) {
    await tf.setBackend(backend);
    assert.throws(() => tf.stridedSlice(x, [1, 3, 0, 0], [3, 1, 6, 3]), /Negative size/, `end < begin on ${backend}`);
  }
  await same('stride 2 falls back', () => tf.stridedSlice(x, [0, 0, 0, 0], [4, 5, 6, 3], [1, 2, 1, 1]), false);
  const xi = randTensor([3, 7, 5], rng, 'int32');
  await same('int32', () => tf.stridedSlice(xi, [0, 2, 1], [3, 6, 4]));
  x.dispose(); xi.dispose();
});

test('gradients through tf.slice (Pad) equal cpu', async () => {
  const rng = new Rng(13);
  const x = randTensor([3, 8, 5], rng, 'float32');
  const w = randTensor([2, 4, 5], rng, 'float32');
  const f = (t: tf.Tensor) => tf.sum(tf.mul(tf.slice(t, [1, 2, 0], [2, 4, -1]), w));
  await same('grad slice', () => tf.grad(f)(x), true, 1e-6);
  // slice inside a small model, gradients with respect to both inputs
  const h = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.matMul(tf.slice(a, [0, 1, 0], [3, 4, 5]).reshape([12, 5]), b.reshape([5, 8])));
  const b = randTensor([40], rng, 'float32');
  await same('grads slice+matmul', () => tf.grads(h)([x, b]), true, 1e-5);
  x.dispose(); w.dispose(); b.dispose();
});
