// The onnxruntime backend's second batch of kernels (issue 3's list: comparisons, Select, Cast,
// Abs, Relu, Pow, SquaredDifference, Prod, ArgMax/ArgMin, Cumsum, Tile, OneHot,
// UnsortedSegmentSum, ScatterNd) against the cpu backend: broadcasting, ranks 0-6, empty tensors,
// int32 and bool, the special values where ONNX and JS differ, and gradients through tf.grad.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../sdk/engine/tf.ts';
import { registerOnnxBackend, ortRunCount } from '../sdk/engine/onnx/index.ts';
import { scatterAddCount } from '../sdk/engine/onnx/scatter-add.ts';
import { oneHotCount } from '../sdk/engine/onnx/index-kernels.ts';
import { rand, randBool, randInt, runOn, sameOnBoth } from './support/onnx-compare.ts';

before(() => registerOnnxBackend());
after(async () => { await tf.setBackend('cpu'); });

/** Shapes of ranks 1-6 with at least 4096 elements (so they route), and a rank-0 and an empty one. */
const RANKED: number[][] = [[5000], [64, 96], [8, 16, 48], [4, 8, 16, 12], [2, 4, 4, 8, 16], [2, 2, 4, 4, 8, 8]];

/** int32 segment ids for tf.unsortedSegmentSum (typed 1-d). */
function segIds(n: number, seed: number, lo: number, hi: number): tf.Tensor1D {
  return randInt([n], seed, lo, hi) as tf.Tensor1D;
}

/** Values from a small set (ties and exact equalities happen), with NaN and +-inf mixed in. */
function coarse(shape: number[], seed: number, special = true): tf.Tensor {
  return tf.tidy(() => {
    const v = tf.round(tf.mul(rand(shape, seed), 3)).dataSync() as Float32Array;
    if (special) v.forEach((_, i) => { if (i % 97 === 5) v[i] = NaN; else if (i % 89 == 3) v[i] = Infinity; else if (i % 83 === 7) v[i] = -Infinity; });
    return tf.tensor(v, shape);
  });
}

test('comparisons: float with NaN and inf, int32, bool, broadcasting, ranks 0-6, empty', async () => {
  const ops: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
    ['equal', tf.equal], ['notEqual', tf.notEqual], ['greater', tf.greater], ['greaterEqual', tf.greaterEqual], ['less', tf.less], ['lessEqual', tf.lessEqual],
  ];
  const pairs: [number[], number[]][] = [
    [[64, 96], [64, 96]], [[64, 96], [96]], [[64, 96], [64, 1]], [[], [64, 96]], [[4, 1, 16, 64], [1, 8, 1, 64]], [[2, 2, 4, 4, 8, 8], [8]],
  ];
  let seed = 1;
  for (const [name, op] of ops) {
    for (const [sa, sb] of pairs) {
      const s = seed++;
      await sameOnBoth(`${name} float [${sa}] [${sb}]`, () => op(coarse(sa, s), coarse(sb, s + 50)), 0);
      await sameOnBoth(`${name} int32 [${sa}] [${sb}]`, () => op(randInt(sa, s, -3, 4), randInt(sb, s + 50, -3, 4)), 0);
      await sameOnBoth(`${name} bool [${sa}] [${sb}]`, () => op(randBool(sa, s), randBool(sb, s + 50)), 0);
    }
    await sameOnBoth(`${name} rank 0 (cpu)`, () => op(tf.scalar(1), tf.scalar(NaN)), 0, false);
    await sameOnBoth(`${name} empty`, () => op(tf.zeros([0, 64]), rand([64], 1)), 0, null);
  }
});

test('select (tf.where): float, int32, bool, broadcast operands, gradients', async () => {
  for (const shape of RANKED) {
    await sameOnBoth(`where float [${shape}]`, () => tf.where(randBool(shape, 1), coarse(shape, 2), rand(shape, 3)), 0);
  }
  await sameOnBoth('where int32', () => tf.where(randBool([64, 96], 4), randInt([64, 96], 5, -9, 9), randInt([64, 96], 6, -9, 9)), 0);
  await sameOnBoth('where bool', () => tf.where(randBool([64, 96], 4), randBool([64, 96], 5), randBool([64, 96], 6)), 0);
  await sameOnBoth('where broadcasts condition [64, 1], a [64, 96], b [96]', () => tf.where(randBool([64, 1], 7), rand([64, 96], 8), rand([96], 9)), 0);
  // the cpu kernel's rank-1 condition form copies t[i] (not row i) into row i: left to it
  await sameOnBoth('Select kernel with a rank-1 condition (cpu)', () => tf.engine().runKernel('Select', {
    condition: randBool([64], 10), t: rand([64, 8, 12], 11), e: rand([64, 8, 12], 12),
  }) as tf.Tensor, 0, false);
  await sameOnBoth('where rank 0 (cpu)', () => tf.where(tf.scalar(true, 'bool'), tf.scalar(1), tf.scalar(2)), 0, false);
  await sameOnBoth('where empty', () => tf.where(randBool([0, 8], 1), tf.zeros([0, 8]), tf.ones([0, 8])), 0, null);
  await sameOnBoth('where gradients', () => {
    const c = randBool([64, 96], 13);
    return tf.grads((a, b) => tf.sum(tf.mul(tf.where(c, a!, b!), rand([64, 96], 14))))([rand([64, 96], 15), rand([96], 16)]);
  }, 1e-5);
});

test('cast: to bool like x !== 0 (NaN true, -0 false) on ORT; float32 -> int32 and relabels on the cpu', async () => {
  const specials = [NaN, Infinity, -Infinity, 2.7, -2.7, 0.5, -0.5, -0, 2 ** 31, -(2 ** 31), 2 ** 31 + 256, -(2 ** 31) - 256, 3e9, -3e9, 1e10, -1e10, 4294967040, 1e-45, 3.4e38, 16777217];
  const mixed = () => tf.tidy(() => {
    const v = rand([64, 96], 1, 5e9).dataSync() as Float32Array;
    specials.forEach((x, i) => { v[i * 7] = x; });
    return tf.tensor(v, [64, 96]);
  });
  // float32 -> int32 stays on the cpu (its Int32Array.from is faster than an exact ORT graph)
  await sameOnBoth('float -> int32 with special values (cpu)', () => tf.cast(mixed(), 'int32'), 0, false);
  await sameOnBoth('float -> bool with -0, denormals, NaN', () => tf.cast(tf.mul(mixed(), tf.cast(randBool([64, 96], 3), 'float32')), 'bool'), 0);
  await sameOnBoth('int32 -> bool', () => tf.cast(randInt([64, 96], 4, -2, 3), 'bool'), 0);
  // an int32 tensor relabelled float32 keeps its Int32Array on the cpu backend: exact integers
  await sameOnBoth('int32 -> float32 -> int32 keeps 2^24 + 1 (cpu)', () => tf.cast(tf.cast(tf.fill([64, 96], 16777217, 'int32'), 'float32'), 'int32'), 0, false);
  await sameOnBoth('int32 -> float32 is a relabel (cpu)', () => tf.cast(randInt([64, 96], 5, -9, 9), 'float32'), 0, false);
  await sameOnBoth('rank 0 cast (cpu)', () => tf.cast(tf.scalar(-2.5), 'int32'), 0, false);
  await sameOnBoth('empty cast', () => tf.cast(tf.zeros([0, 3]), 'int32'), 0, null);
});

test('abs and relu: ranks 0-6, NaN kept, gradients', async () => {
  for (const [name, op] of [['abs', tf.abs], ['relu', tf.relu]] as const) {
    for (const shape of RANKED) await sameOnBoth(`${name} [${shape}]`, () => op(coarse(shape, 3)), 0);
    await sameOnBoth(`${name} rank 0 (cpu)`, () => op(tf.scalar(-3)), 0, false);
    await sameOnBoth(`${name} int32 (cpu)`, () => op(randInt([64, 96], 1, -5, 5)), 0, false);
    await sameOnBoth(`${name} empty`, () => op(tf.zeros([0, 5])), 0, null);
    await sameOnBoth(`${name} gradient`, () => tf.grad((x) => tf.sum(tf.mul(op(x), rand([64, 96], 4))))(rand([64, 96], 5)), 1e-6);
  }
});

test('pow: JS Math.pow semantics (1^NaN, (-1)^inf are NaN; negative base, fractional exponent), broadcasting, gradients', async () => {
  const specials: [number, number][] = [[1, NaN], [-1, Infinity], [-1, -Infinity], [1, Infinity], [NaN, 0], [-2, 0.5], [-Infinity, 0.5], [-0, -1], [0, 0], [-8, 1 / 3], [2, 3], [-2, 3], [1.5, -Infinity]];
  const withSpecials = (x: tf.Tensor, which: 0 | 1) => tf.tidy(() => {
    const v = x.dataSync().slice() as Float32Array;
    specials.forEach((p, i) => { v[i * 11] = p[which]; });
    return tf.tensor(v, x.shape);
  });
  await sameOnBoth('pow with special pairs', () => tf.pow(withSpecials(rand([64, 96], 1, 3), 0), withSpecials(rand([64, 96], 2, 3), 1)), 1e-6);
  await sameOnBoth('pow [64, 96] ^ [96]', () => tf.pow(tf.abs(rand([64, 96], 3, 4)), rand([96], 4, 3)), 1e-6);
  await sameOnBoth('pow rank 6 ^ scalar 2', () => tf.pow(rand([2, 2, 4, 4, 8, 8], 5, 3), tf.scalar(2)), 1e-6);
  await sameOnBoth('pow rank 0 (cpu)', () => tf.pow(tf.scalar(1), tf.scalar(NaN)), 0, false);
  await sameOnBoth('pow int32 (cpu)', () => tf.pow(randInt([64, 96], 5, -3, 4), randInt([64, 96], 6, 0, 4)), 0, false);
  await sameOnBoth('pow empty', () => tf.pow(tf.zeros([0, 4]), tf.scalar(2)), 0, null);
  await sameOnBoth('pow gradients', () => tf.grads((a, b) => tf.sum(tf.pow(a!, b!)))([tf.add(tf.abs(rand([64, 96], 7, 2)), 0.1), rand([96], 8, 2)]), 1e-5);
});

test('squaredDifference: broadcasting, ranks 0-6, gradients', async () => {
  for (const shape of RANKED) await sameOnBoth(`squaredDifference [${shape}]`, () => tf.squaredDifference(rand(shape, 1, 5), rand(shape.slice(-1), 2, 5)), 1e-6);
  await sameOnBoth('squaredDifference scalar - tensor', () => tf.squaredDifference(tf.scalar(0.5), coarse([64, 96], 3)), 1e-6);
  await sameOnBoth('squaredDifference rank 0 (cpu)', () => tf.squaredDifference(tf.scalar(3), tf.scalar(5)), 0, false);
  await sameOnBoth('squaredDifference empty', () => tf.squaredDifference(tf.zeros([0, 4]), tf.ones([4])), 0, null);
  await sameOnBoth('squaredDifference gradients', () => tf.grads((a, b) => tf.sum(tf.mul(tf.squaredDifference(a!, b!), rand([64, 96], 6))))([rand([64, 96], 4), rand([64, 96], 5)]), 1e-5);
});

test('prod: axes, keepDims, ranks 1-6, int32 on the cpu, gradients', async () => {
  const near1 = (shape: number[], seed: number) => tf.add(tf.scalar(1), rand(shape, seed, 0.2));
  for (const axis of [-1, 0, 1, [0, 2], [1, 2], null] as (number | number[] | null)[]) {
    for (const keep of [false, true]) {
      await sameOnBoth(`prod axis=${JSON.stringify(axis)} keepDims=${keep}`, () => tf.prod(near1([8, 16, 48], 3), axis ?? undefined, keep), 1e-5);
    }
  }
  for (const shape of RANKED) await sameOnBoth(`prod [${shape}] last axis`, () => tf.prod(near1(shape, 4), -1), 1e-5);
  await sameOnBoth('prod with NaN and 0', () => tf.prod(coarse([64, 96], 5), 1), 1e-5);
  await sameOnBoth('prod int32 (cpu)', () => tf.prod(randInt([64, 96], 6, -2, 3), 1), 0, false);
  await sameOnBoth('prod empty', () => tf.prod(tf.zeros([0, 4]), 1), 0, null);
  await sameOnBoth('prod gradient', () => tf.grad((x) => tf.sum(tf.prod(x, 1)))(near1([64, 96], 7)), 1e-5);
});

test('argMax / argMin: ties -> first, NaN never chosen unless first, int32, bool, every axis, ranks 1-6', async () => {
  for (const [name, op] of [['argMax', tf.argMax], ['argMin', tf.argMin]] as const) {
    for (const shape of RANKED) {
      for (const axis of [0, shape.length - 1, -1, Math.floor(shape.length / 2)]) {
        // no NaN (+inf and -inf not both present): ORT; the coarse values tie a lot
        await sameOnBoth(`${name} [${shape}] axis ${axis}`, () => op(coarse(shape, 1, false), axis), 0);
        // NaN present: the graph's sum is NaN and the cpu kernel answers
        await sameOnBoth(`${name} [${shape}] axis ${axis} with NaN`, () => op(coarse(shape, 1), axis), 0, null);
      }
    }
    await sameOnBoth(`${name} with +inf`, () => tf.tidy(() => {
      const v = coarse([128, 48], 3, false).dataSync().slice() as Float32Array;
      for (let c = 0; c < 48; c++) { v[c] = Infinity; v[2 * 48 + c] = 2; }
      v[5 * 48 + 7] = Infinity;
      return op(tf.tensor(v, [128, 48]), 1);
    }), 0);
    // rows that start with NaN, rows that are all NaN, all -inf / +inf, all equal
    await sameOnBoth(`${name} NaN-first and constant rows`, () => tf.tidy(() => {
      const v = coarse([128, 48], 2).dataSync().slice() as Float32Array;
      for (let c = 0; c < 48; c++) { v[c] = NaN; v[48 + c] = NaN; v[2 * 48 + c] = -Infinity; v[3 * 48 + c] = Infinity; v[4 * 48 + c] = 2; }
      v[48 + 47] = 5; v[5 * 48] = NaN;
      return op(tf.tensor(v, [128, 48]), 1);
    }), 0, null);
    await sameOnBoth(`${name} int32`, () => op(randInt([64, 96], 3, -3, 3), 1), 0);
    await sameOnBoth(`${name} bool`, () => op(randBool([64, 96], 4, 0.1), 1), 0);
    await sameOnBoth(`${name} rank 1 small (cpu)`, () => op(tf.tensor1d([1, 3, 3])), 0, false);
    await sameOnBoth(`${name} empty rows`, () => op(tf.zeros([0, 64]), 1), 0, null);
  }
});

test('cumsum: every axis, exclusive and reverse, float / int32 / bool, ranks 1-6, gradients', async () => {
  for (const shape of RANKED) {
    for (const axis of [0, shape.length - 1]) {
      for (const exclusive of [false, true]) {
        for (const reverse of [false, true]) {
          await sameOnBoth(`cumsum [${shape}] axis ${axis} ex=${exclusive} rev=${reverse}`, () => tf.cumsum(rand(shape, axis + 1, 3), axis, exclusive, reverse), 0);
        }
      }
    }
  }
  await sameOnBoth('cumsum int32 (wrapping)', () => tf.cumsum(randInt([64, 96], 1, -(2 ** 30), 2 ** 30), 1), 0);
  await sameOnBoth('cumsum bool -> int32', () => tf.cumsum(randBool([64, 96], 2), 0, true, true), 0);
  await sameOnBoth('cumsum NaN / inf', () => tf.cumsum(coarse([64, 96], 3), 1), 0);
  await sameOnBoth('cumsum small (cpu)', () => tf.cumsum(tf.tensor1d([1, 2, 3])), 0, false);
  await sameOnBoth('cumsum empty', () => tf.cumsum(tf.zeros([0, 8]), 1), 0, null);
  await sameOnBoth('cumsum gradient', () => tf.grad((x) => tf.sum(tf.mul(tf.cumsum(x, 1, true, false), rand([64, 96], 4))))(rand([64, 96], 5)), 1e-5);
});

test('tile: ranks 1-6, float / int32 / bool, gradients', async () => {
  const cases: [number[], number[]][] = [[[100], [50]], [[16, 24], [4, 3]], [[4, 8, 6], [2, 2, 8]], [[2, 3, 4, 5], [3, 2, 4, 2]], [[2, 2, 3, 4, 5], [2, 2, 2, 2, 2]], [[2, 1, 2, 3, 2, 2], [2, 4, 2, 2, 2, 2]]];
  for (const [shape, reps] of cases) await sameOnBoth(`tile float [${shape}] x [${reps}]`, () => tf.tile(rand(shape, 1), reps), 0);
  await sameOnBoth('tile int32', () => tf.tile(randInt([16, 24], 2, -9, 9), [4, 3]), 0);
  await sameOnBoth('tile bool', () => tf.tile(randBool([16, 24], 3), [4, 3]), 0);
  await sameOnBoth('tile with a 0 repeat', () => tf.tile(rand([64, 96], 4), [1, 0]), 0, null);
  await sameOnBoth('tile small (cpu)', () => tf.tile(tf.tensor1d([1, 2]), [3]), 0, false);
  await sameOnBoth('tile gradient', () => tf.grad((x) => tf.sum(tf.mul(tf.tile(x, [4, 3]), rand([64, 72], 5))))(rand([16, 24], 6)), 1e-5);
});

test('oneHot: negative and too large indices give off rows, float32 / int32, 2-d indices', async () => {
  const count = oneHotCount;
  await sameOnBoth('oneHot int32 with out-of-range indices', () => tf.oneHot(randInt([300], 1, -3, 40), 37), 0, true, count);
  await sameOnBoth('oneHot float32 on/off values', () => tf.oneHot(randInt([300], 2, -2, 40), 37, 2.5, -0.5, 'float32'), 0, true, count);
  await sameOnBoth('oneHot int32 with fractional on/off values', () => tf.oneHot(randInt([300], 3, 0, 37), 37, 1.5, -2.7), 0, true, count);
  // the cpu kernel stores on/off in a Float32Array even for int32: 2^24 + 1 comes out as 2^24
  await sameOnBoth('oneHot int32 with on = 2^24 + 1', () => tf.oneHot(randInt([300], 3, 0, 37), 37, 16777217, 0), 0, true, count);
  await sameOnBoth('oneHot 2-d indices', () => tf.oneHot(randInt([10, 30], 4, -1, 33), 33, 1, 0, 'float32'), 0, true, count);
  await sameOnBoth('oneHot scalar (cpu)', () => tf.oneHot(tf.scalar(2, 'int32'), 5), 0, false, count);
  await sameOnBoth('oneHot empty', () => tf.oneHot(tf.zeros([0], 'int32'), 8), 0, null, count);
});

test('unsortedSegmentSum: exactly the cpu kernel, ids out of range, non-finite x, int32 x, 2-d ids, gradients', async () => {
  const count = scatterAddCount;
  await sameOnBoth('segment sum rows', () => tf.unsortedSegmentSum(rand([300, 64], 1, 3), segIds(300, 2, 0, 37), 37), 0, true, count);
  await sameOnBoth('segment sum with ids out of range', () => tf.unsortedSegmentSum(rand([300, 64], 3), segIds(300, 4, -5, 45), 37), 0, true, count);
  await sameOnBoth('segment sum of non-finite values', () => tf.unsortedSegmentSum(coarse([300, 16], 5), segIds(300, 6, -1, 20), 19), 0, true, count);
  await sameOnBoth('segment sum, every inf in one segment', () => tf.tidy(() => {
    const v = rand([40, 8], 7).dataSync().slice() as Float32Array;
    v[3 * 8 + 2] = Infinity; v[9 * 8 + 2] = Infinity;
    const ids = Int32Array.from({ length: 40 }, (_, r) => (r === 3 || r === 9 ? 4 : r % 6));
    return tf.unsortedSegmentSum(tf.tensor(v, [40, 8]), tf.tensor1d(ids, 'int32'), 6);
  }), 0, true, count);
  await sameOnBoth('segment sum of int32 x (a float32 result)', () => tf.unsortedSegmentSum(randInt([300, 8], 8, -(2 ** 26), 2 ** 26), segIds(300, 9, 0, 7), 7), 0, true, count);
  // 2-d ids: the cpu kernel cannot broadcast its mask (it expands the ids at the wrong axis) and raises; so does the route
  for (const backend of ['cpu', 'onnxruntime']) {
    await assert.rejects(() => runOn(backend, () => tf.unsortedSegmentSum(rand([10, 30, 16], 10), randInt([10, 30], 11, 0, 12) as tf.Tensor1D, 12)), /broadcast/, backend);
  }
  await sameOnBoth('segment sum of a 1-d x', () => tf.unsortedSegmentSum(rand([500], 12), segIds(500, 13, 0, 9), 9), 0, true, count);
  await sameOnBoth('segment sum of an empty x', () => tf.unsortedSegmentSum(tf.zeros([0, 4]), tf.zeros([0], 'int32'), 3), 0, null, count);
  await sameOnBoth('segment sum gradient', () => tf.grad((x) => tf.sum(tf.mul(tf.unsortedSegmentSum(x, tf.tensor1d(Int32Array.from({ length: 300 }, (_, i) => (i * 7) % 37), 'int32'), 37), rand([37, 64], 14))))(rand([300, 64], 15)), 1e-5, null);
  // the embedding gradient: tf.gather's gradient is an UnsortedSegmentSum
  await sameOnBoth('gather gradient (the embedding)', () => tf.grad((table) => tf.sum(tf.mul(tf.gather(table, segIds(512, 16, 0, 384)), rand([512, 96], 17))))(rand([384, 96], 18)), 1e-6, true, count);
});

test('scatterND: duplicate indices summed in order, int32, 2-d index rows, bad indices raise', async () => {
  const count = scatterAddCount;
  await sameOnBoth('scatterND rows with duplicates', () => tf.scatterND(randInt([300, 1], 1, 0, 40), rand([300, 64], 2, 3), [40, 64]), 0, true, count);
  await sameOnBoth('scatterND 2-d index rows', () => tf.scatterND(randInt([200, 2], 3, 0, 8), rand([200, 16], 4), [8, 8, 16]), 0, true, count);
  await sameOnBoth('scatterND int32', () => tf.scatterND(randInt([200, 1], 5, 0, 30), randInt([200, 8], 6, -(2 ** 30), 2 ** 30), [30, 8]), 0, true, count);
  await sameOnBoth('scatterND single elements', () => tf.scatterND(randInt([500, 3], 7, 0, 4), rand([500], 8), [4, 4, 4]), 0, true, count);
  for (const backend of ['cpu', 'onnxruntime']) {
    await assert.rejects(() => runOn(backend, () => tf.scatterND(tf.tensor2d([[1], [9]], [2, 1], 'int32'), rand([2, 4], 9), [4, 4])), /Invalid indices/, backend);
  }
});

test('logSoftmax is a composite op in tfjs (no kernel); it runs on routed kernels and matches', async () => {
  assert.ok(!tf.getKernelsForBackend('cpu').some((k) => k.kernelName === 'LogSoftmax'));
  await sameOnBoth('logSoftmax', () => tf.logSoftmax(rand([64, 128], 1, 5)), 1e-5);
  await sameOnBoth('logSoftmax gradient', () => tf.grad((x) => tf.sum(tf.mul(tf.logSoftmax(x), rand([64, 128], 2))))(rand([64, 128], 3, 5)), 1e-5);
});

test('deterministic: the same inputs give bit-identical outputs on repeated runs', async () => {
  const fn = () => [
    tf.unsortedSegmentSum(rand([2048, 64], 1), segIds(2048, 2, 0, 50), 50),
    tf.cumsum(rand([64, 96], 3), 1), tf.prod(tf.add(1, rand([64, 96], 4, 0.1)), 1), tf.argMax(coarse([64, 96], 5), 1),
  ];
  const runs = ortRunCount();
  const a = await runOn('onnxruntime', fn), b = await runOn('onnxruntime', fn);
  assert.ok(ortRunCount() > runs);
  a.outs.forEach(([, values], o) => assert.deepEqual(b.outs[o]![1], values, `output ${o}`));
});
