// Tensor bundles from real tfjs tensors (cpu backend): statistics, numpy-like value summaries, every dtype,
// and the tensor left as it was.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../sdk/engine/tf.ts';
import { isTensorLike, numericStats, tensorBundle, tensorValuesText } from '../sdk/viz/index.ts';

before(async () => {
  await tf.setBackend('cpu');
});

test('isTensorLike recognises tensors and variables by shape, not class', () => {
  const t = tf.tensor([1, 2]);
  const v = tf.variable(tf.zeros([2]));
  assert.equal(isTensorLike(t), true);
  assert.equal(isTensorLike(v), true);
  assert.equal(isTensorLike({ shape: [2], dtype: 'float32', rank: 1, dataSync: () => [1, 2] }), true);
  assert.equal(isTensorLike({ shape: [2], dtype: 'float32' }), false);
  assert.equal(isTensorLike(new Float32Array(2)), false);
  t.dispose();
  v.dispose();
});

test('float tensor: shape, dtype, stats over finite values, NaN/Inf counts; the tensor is untouched', () => {
  const t = tf.tensor([[1, 2, NaN], [4, Infinity, -Infinity]]);
  const before = tf.memory().numTensors;
  const bundle = tensorBundle(t);
  assert.equal(tf.memory().numTensors, before, 'no tensors created or disposed');
  assert.equal(t.isDisposed, false);
  const text = bundle['text/plain'] as string;
  assert.match(text, /^Tensor float32 \[2, 3\] \(6 values\)$/m);
  // finite values 1, 2, 4: mean 7/3, population std sqrt(((1-7/3)^2 + (2-7/3)^2 + (4-7/3)^2) / 3) = 1.247
  assert.match(text, /min 1 {2}max 4 {2}mean 2\.333 {2}std 1\.247 {2}NaN 1 {2}\+Inf 1 {2}-Inf 1/);
  assert.match(text, /\[\[ +1, +2, +NaN\],\n \[ +4, +Infinity, -Infinity\]\]/);
  const html = bundle['text/html'] as string;
  assert.match(html, /<th>std<\/th>/);
  assert.match(html, /<code>\[2, 3\]<\/code>/);
  t.dispose();
});

test('long axes show their first and last 5 values around …, like numpy', () => {
  const t = tf.range(0, 2000, 1, 'int32').reshape([20, 100]);
  const text = tensorBundle(t)['text/plain'] as string;
  assert.match(text, /^Tensor int32 \[20, 100\] \(2000 values\)$/m);
  assert.match(text, /^\[\[ +0, +1, +2, +3, +4, …, +95, +96, +97, +98, +99\],$/m);
  assert.match(text, /^ …,$/m, 'the skipped rows');
  assert.match(text, /^ \[1900, 1901, 1902, 1903, 1904, …, 1995, 1996, 1997, 1998, 1999\]\]$/m);
  assert.equal(text.split('\n').slice(2).length, 11, '5 rows, the gap, 5 rows');
  t.dispose();
});

test('tensors that would still show more than 1000 values keep 3 per end of each axis', () => {
  const shape = [12, 12, 12];
  const data = Array.from({ length: 12 ** 3 }, (_, i) => i);
  const text = tensorValuesText(shape, 'int32', data);
  const numbers = text.match(/\d+/g)!.length;
  assert.equal(numbers, 6 ** 3);
  assert.match(text, /^\[\[\[ +0, +1, +2, …, +9, +10, +11\],$/m);
  assert.match(text, /\]\],\n\n \[\[/, 'a blank line between blocks of a 3-d tensor');
});

test('bool, string, complex and scalar tensors', () => {
  const b = tf.tensor([true, false, true], undefined, 'bool');
  assert.match(tensorBundle(b)['text/plain'] as string, /true 2 {2}false 1\n\[ true, false, +true\]/);
  const s = tf.tensor(['a', 'é'.repeat(50)], undefined, 'string');
  const stext = tensorBundle(s)['text/plain'] as string;
  assert.match(stext, /distinct 2/);
  assert.match(stext, /"a"/);
  assert.match(stext, /"é{39}…"/, 'long strings cut to 40 characters');
  const c = tf.complex([1, 2], [3, -4]);
  assert.match(tensorBundle(c)['text/plain'] as string, /\[1\+3j, 2-4j\]/);
  const x = tf.scalar(3.5);
  assert.match(tensorBundle(x)['text/plain'] as string, /Tensor float32 \[\] \(1 value\)\n.*\n3\.5$/);
  const empty = tf.zeros([0, 3]);
  assert.match(tensorBundle(empty)['text/plain'] as string, /Tensor float32 \[0, 3\] \(0 values\)\n\[\]$/);
  for (const t of [b, s, c, x, empty]) t.dispose();
});

test('a disposed tensor is described, not read', () => {
  const t = tf.ones([2]);
  t.dispose();
  const text = tensorBundle(t)['text/plain'] as string;
  assert.match(text, /Tensor float32 \[2\] \(2 values\)\n\(disposed/);
});

test('numericStats: all non-finite values give null statistics', () => {
  assert.deepEqual(numericStats([NaN, Infinity]), { min: null, max: null, mean: null, std: null, nan: 1, posInf: 1, negInf: 0 });
  const s = numericStats(new Float64Array([1e9 + 1, 1e9 + 2, 1e9 + 3]));
  assert.ok(Math.abs(s.std! - Math.sqrt(2 / 3)) < 1e-6, 'two-pass std keeps precision when mean >> std');
});
