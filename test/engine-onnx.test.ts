// The onnxruntime backend against the cpu backend: every routed kernel on random inputs (sizes
// above the routing thresholds, and checked to have really run on ORT), gradients, and the SDK
// transformer's logits and parameter gradients.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../sdk/engine/tf.ts';
import { registerOnnxBackend, routedKernelNames } from '../sdk/engine/onnx/index.ts';
import { encodeModel, ELEM } from '../sdk/engine/onnx/proto.ts';
import { collapseReduction } from '../sdk/engine/onnx/reduce.ts';
import { TransformerLM, type ModelConfig } from '../sdk/model/index.ts';
import { rand, runOn, sameOnBoth } from './support/onnx-compare.ts';

before(() => registerOnnxBackend());
after(async () => { await tf.setBackend('cpu'); });

test('proto: a model starts with ir_version (field 1, varint) and ORT accepts a negative INT attribute', async () => {
  const bytes = encodeModel({
    nodes: [{ op: 'Softmax', inputs: ['x'], outputs: ['y'], attrs: { axis: -1 } }],
    inputs: [{ name: 'x', elem: ELEM.float, dims: ['r', 'c'] }],
    outputs: [{ name: 'y', elem: ELEM.float, dims: ['r', 'c'] }],
  });
  assert.deepEqual([...bytes.subarray(0, 2)], [0x08, 8]); // tag (1 << 3 | 0), IR version 8
  // Softmax rows through the kernel path: the rows sum to 1 only if axis=-1 was read correctly
  await tf.setBackend('onnxruntime');
  const sums = tf.tidy(() => tf.sum(tf.softmax(rand([64, 128], 1, 3)), -1).dataSync());
  for (const s of sums) assert.ok(Math.abs(s - 1) < 1e-5, `row sum ${s}`);
});

test('collapseReduction merges runs of reduced and kept dims', () => {
  assert.deepEqual(collapseReduction([2, 3, 4, 5], [2, 3]), { dims: [6, 20], axes: [1] });
  assert.deepEqual(collapseReduction([2, 3, 4, 5], [0, 2]), { dims: [2, 3, 4, 5], axes: [0, 2] });
  assert.deepEqual(collapseReduction([2, 3, 4], [0, 1, 2]), { dims: [24], axes: [0] });
});

test('BatchMatMul: transposes, ranks 2-4 and batch broadcasting', async () => {
  // [aShape, bShape] before transposes; K = 24, M = 40, N = 36
  const cases: [number[], number[]][] = [
    [[40, 24], [24, 36]], [[3, 40, 24], [3, 24, 36]], [[1, 40, 24], [4, 24, 36]], [[4, 40, 24], [24, 36]],
    [[2, 3, 40, 24], [24, 36]], [[2, 3, 40, 24], [2, 3, 24, 36]], [[40, 24], [2, 2, 24, 36]],
  ];
  let seed = 10;
  for (const [as, bs] of cases) {
    for (const tA of [false, true]) {
      for (const tB of [false, true]) {
        const swap = (s: number[], t: boolean) => (t ? [...s.slice(0, -2), s[s.length - 1]!, s[s.length - 2]!] : s);
        const sa = swap(as, tA), sb = swap(bs, tB), s = seed++;
        await sameOnBoth(`matMul [${sa}] tA=${tA} x [${sb}] tB=${tB}`, () => tf.matMul(rand(sa, s), rand(sb, s + 100), tA, tB), 1e-5);
      }
    }
  }
  // batch 6 against batch 2 pairs rows by i % batch in tfjs: left to the cpu kernel, same answer
  await sameOnBoth('matMul batch 6 vs 2 (cpu fallback)', () => tf.matMul(rand([2, 3, 40, 24], 1), rand([2, 1, 24, 36], 2)), 1e-5, false);
  await sameOnBoth('tiny matMul stays on cpu', () => tf.matMul(rand([4, 5], 1), rand([5, 6], 2)), 1e-6, false);
  await sameOnBoth('matMul with K = 0 is zeros', () => tf.matMul(tf.zeros([40, 0]), tf.zeros([0, 36])), 0, null);
  await sameOnBoth('matMul with M = 0 is empty', () => tf.matMul(tf.zeros([3, 0, 24]), rand([3, 24, 36], 1)), 0, null);
});

test('_FusedMatMul: bias and every fused activation', async () => {
  for (const activation of ['linear', 'relu', 'relu6', 'sigmoid', 'elu', 'leakyrelu'] as const) {
    await sameOnBoth(`fused ${activation}`, () => tf.fused.matMul({
      a: rand([2, 40, 24], 1, 2), b: rand([36, 24], 2, 2), transposeB: true, bias: rand([36], 3, 2), activation, leakyreluAlpha: 0.3,
    }), 1e-5);
  }
  await sameOnBoth('fused, no bias, transposeA', () => tf.fused.matMul({ a: rand([24, 40], 1), b: rand([24, 36], 2), transposeA: true, activation: 'relu' }), 1e-5);
  await sameOnBoth('fused, [M, N] bias', () => tf.fused.matMul({ a: rand([3, 40, 24], 1), b: rand([24, 36], 2), bias: rand([40, 36], 3) }), 1e-5);
  await sameOnBoth('fused prelu (cpu fallback)', () => tf.fused.matMul({
    a: rand([40, 24], 1), b: rand([24, 36], 2), activation: 'prelu', preluActivationWeights: rand([36], 3),
  }), 1e-5, false);
});

test('binary elementwise ops broadcast like tfjs across ranks 0-4', async () => {
  const pairs: [number[], number[]][] = [
    [[], [8, 8, 8, 16]], [[8, 8, 8, 16], []], [[4096], [4096]], [[64, 96], [96]], [[64, 96], [64, 1]],
    [[16, 1, 32], [8, 1]], [[4, 1, 16, 64], [1, 8, 1, 64]], [[2, 3, 32, 24], [3, 32, 24]], [[1, 1, 1], [16, 16, 32]],
  ];
  const ops: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
    ['add', tf.add], ['sub', tf.sub], ['mul', tf.mul], ['div', tf.div],
  ];
  let seed = 1;
  for (const [name, op] of ops) {
    for (const [sa, sb] of pairs) {
      const s = seed++;
      await sameOnBoth(`${name} [${sa}] [${sb}]`, () => op(rand(sa, s, 3), rand(sb, s + 50, 3)), 1e-6);
    }
  }
  await sameOnBoth('div by zero gives inf / NaN like tfjs', () => tf.div(tf.concat([rand([4000], 1), tf.zeros([96])]), tf.zeros([4096])), 0);
  await sameOnBoth('int32 add stays on cpu', () => tf.add(tf.range(0, 8192, 1, 'int32'), tf.scalar(3, 'int32')), 0, false);
  await sameOnBoth('small add stays on cpu', () => tf.add(rand([8, 8], 1), rand([8], 2)), 0, false);
  await sameOnBoth('empty add', () => tf.add(tf.zeros([0, 64]), rand([64], 1)), 0, null);
});

test('unary ops and AddN', async () => {
  const x = () => rand([64, 96], 7, 4);
  const pos = () => tf.add(tf.abs(rand([64, 96], 8, 4)), 0.1);
  const unary: [string, () => tf.Tensor][] = [
    ['exp', () => tf.exp(x())], ['sigmoid', () => tf.sigmoid(x())], ['tanh', () => tf.tanh(x())], ['neg', () => tf.neg(x())],
    ['square', () => tf.square(x())], ['erf', () => tf.erf(x())], ['log', () => tf.log(pos())], ['sqrt', () => tf.sqrt(pos())],
    ['rsqrt', () => tf.rsqrt(pos())], ['reciprocal', () => tf.reciprocal(pos())],
  ];
  for (const [name, f] of unary) await sameOnBoth(name, f, 2e-6);
  await sameOnBoth('log of negatives is NaN', () => tf.log(x()), 2e-6);
  await sameOnBoth('addN of 3', () => tf.addN([rand([2, 32, 96], 1), rand([2, 32, 96], 2), rand([2, 32, 96], 3)]), 1e-6);
});

test('reductions, softmax, transpose, gather and concat', async () => {
  const x = () => rand([8, 16, 48], 3, 5);
  for (const [name, f] of [['sum', tf.sum], ['mean', tf.mean], ['max', tf.max], ['min', tf.min]] as const) {
    for (const axis of [-1, 0, 1, [0, 2], [1, 2], null] as (number | number[] | null)[]) {
      for (const keep of [false, true]) {
        await sameOnBoth(`${name} axis=${JSON.stringify(axis)} keepDims=${keep}`, () => f(x(), axis ?? undefined, keep), 1e-5);
      }
    }
  }
  await sameOnBoth('softmax rank 3', () => tf.softmax(rand([4, 32, 64], 4, 6)), 1e-6);
  await sameOnBoth('transpose 2d', () => tf.transpose(rand([96, 80], 5)), 0);
  await sameOnBoth('transpose 4d', () => tf.transpose(rand([4, 8, 16, 12], 5), [2, 0, 3, 1]), 0);
  const ids = (n: number) => Int32Array.from({ length: 300 }, (_, i) => (i * 37) % n);
  await sameOnBoth('gather rows', () => tf.gather(rand([384, 96], 6), tf.tensor1d(ids(384), 'int32')), 0);
  await sameOnBoth('gather axis 1 with 2-d indices', () => tf.gather(rand([4, 50, 32], 6), tf.tensor2d(ids(50), [10, 30], 'int32'), 1), 0);
  await assert.rejects(async () => {
    await tf.setBackend('onnxruntime');
    tf.tidy(() => tf.gather(rand([384, 96], 6), tf.tensor1d([1, 384, ...Array(200).fill(0)], 'int32')));
  }, /GatherV2/, 'out-of-range index must raise tfjs\'s error');
  await sameOnBoth('concat last axis', () => tf.concat([rand([128, 64, 24], 1), rand([128, 64, 1], 2)], 2), 0);
  await sameOnBoth('concat axis 0 of 3', () => tf.concat([rand([40, 64], 1), rand([10, 64], 2), rand([30, 64], 3)], 0), 0);
});

test('gradients through routed kernels equal the cpu backend\'s', async () => {
  const dy = () => rand([3, 40, 36], 9);
  // (tfjs's BatchMatMul gradient cannot reduce over a broadcast batch, on any backend)
  for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    await sameOnBoth(`matMul grads tA=${tA} tB=${tB}`, () => {
      const a = rand(tA ? [3, 24, 40] : [3, 40, 24], 1), b = rand(tB ? [3, 36, 24] : [3, 24, 36], 2);
      return tf.grads((a, b) => tf.sum(tf.mul(tf.matMul(a!, b!, tA, tB), dy())))([a, b]);
    }, 1e-5);
  }
  await sameOnBoth('softmax / sigmoid / reductions / broadcast grads', () => {
    const x = rand([16, 32, 48], 3, 3), w = rand([48], 4);
    return tf.grads((x, w) => tf.mean(tf.mul(tf.softmax(tf.mul(x!, w!)), tf.sigmoid(tf.sub(x!, tf.max(x!, -1, true))))))([x, w]);
  }, 1e-5);
});

test('the SDK transformer: same logits and parameter gradients on both backends', async () => {
  const config: ModelConfig = {
    model_type: 'qwen2', vocab_size: 256, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64, hidden_act: 'silu', tie_word_embeddings: true,
  };
  const B = 4, T = 32;
  const ids = Int32Array.from({ length: B * T }, (_, i) => (i * 53 + 7) % 256);
  const names: string[] = [];
  const fn = (): tf.Tensor[] => {
    const model = TransformerLM.init(config, 5);
    const idsT = tf.tensor2d(ids, [B, T], 'int32');
    const logits = model.logits(model.hidden(idsT));
    const vars = [...model.weights.values()];
    const { grads } = tf.variableGrads(() => tf.mean(tf.square(model.logits(model.hidden(idsT)))) as tf.Scalar, vars);
    names.length = 0;
    names.push(...Object.keys(grads));
    const out = [logits, ...Object.values(grads)];
    model.dispose();
    return out;
  };
  const cpu = await runOn('cpu', fn);
  const ort = await runOn('onnxruntime', fn);
  assert.ok(ort.ortRuns > 20, `expected the forward/backward to run on ORT, got ${ort.ortRuns} runs`);
  assert.ok(names.length > 10);
  cpu.outs.forEach(([shape, want], o) => {
    const what = o === 0 ? 'logits' : `grad ${names[o - 1]}`;
    const [gotShape, got] = ort.outs[o]!;
    assert.deepEqual(gotShape, shape, what);
    let scale = 0, err = 0;
    for (let i = 0; i < want.length; i++) { scale = Math.max(scale, Math.abs(want[i]!)); err = Math.max(err, Math.abs(got[i]! - want[i]!)); }
    assert.ok(scale > 0, `${what}: all zero`);
    assert.ok(err <= 1e-4 * scale, `${what}: max diff ${err} vs scale ${scale}`);
  });
});

test('routes the kernels it says it routes', () => {
  const names = routedKernelNames();
  for (const k of ['BatchMatMul', '_FusedMatMul', 'Add', 'Multiply', 'Softmax', 'Sum', 'Transpose']) assert.ok(names.includes(k), k);
  // issue 3's second list (engine-onnx-kernels2.test.ts); Maximum/Minimum stay on the cpu (NaN)
  for (const k of ['Prod', 'ArgMax', 'ArgMin', 'UnsortedSegmentSum', 'OneHot', 'Cast', 'Select', 'Equal', 'NotEqual', 'Greater',
    'GreaterEqual', 'Less', 'LessEqual', 'Tile', 'Cumsum', 'Pow', 'Abs', 'Relu', 'SquaredDifference', 'ScatterNd']) assert.ok(names.includes(k), k);
  for (const k of ['Maximum', 'Minimum']) assert.ok(!names.includes(k), k);
  // every cpu kernel is available under the new backend too
  const have = new Set(tf.getKernelsForBackend('onnxruntime').map((k) => k.kernelName));
  for (const k of tf.getKernelsForBackend('cpu')) assert.ok(have.has(k.kernelName), k.kernelName);
});
