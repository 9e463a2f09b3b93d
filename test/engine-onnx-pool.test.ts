// The onnxruntime backend's output-buffer pool (sdk/engine/onnx/buffer-pool.ts): a freed output's
// buffer is handed out again, and every way a buffer can still be seen after its tensor is gone
// (dataSync, a user's own array, another entry viewing it, shared dataIds) keeps it from reuse.

import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../sdk/engine/tf.ts';
import { Rng } from '../sdk/engine/rng.ts';
import { registerOnnxBackend } from '../sdk/engine/onnx/index.ts';
import { OnnxBackend } from '../sdk/engine/onnx/backend.ts';
import { BufferPool, MIN_POOLED_BYTES } from '../sdk/engine/onnx/buffer-pool.ts';
import { outputArray } from '../sdk/engine/onnx/kernel-util.ts';
import { TransformerLM, type ModelConfig } from '../sdk/model/index.ts';

/** Elements per test tensor: above the pool's minimum and the elementwise routing threshold. */
const N = 8192;

before(async () => {
  registerOnnxBackend();
  await tf.setBackend('onnxruntime');
});
after(async () => { await tf.setBackend('cpu'); });

function backend(): OnnxBackend {
  const b = tf.backend();
  assert.ok(b instanceof OnnxBackend, 'the onnxruntime backend is active');
  return b;
}

beforeEach(async () => {
  await tf.setBackend('onnxruntime');
  backend().pool.setCap(512 * 2 ** 20);
  backend().pool.clear();
  backend().pool.resetStats();
});

function rand(n: number, seed: number): tf.Tensor1D {
  const rng = new Rng(seed);
  return tf.tensor1d(Float32Array.from({ length: n }, () => rng.next() * 2 - 1));
}

/** The array a tensor's entry holds, read without dataSync (which would count as an escape). */
function stored(t: tf.Tensor): Float32Array {
  return backend().data.get(t.dataId)!.values as Float32Array;
}

/** Runs `reps` same-size routed ops and disposes them: anything free of that size gets reused and overwritten. */
function churn(a: tf.Tensor, reps = 4): void {
  for (let i = 0; i < reps; i++) tf.tidy(() => tf.mul(tf.add(a, i + 1), 3));
}

test('a disposed output buffer is handed to the next output of its size, fully overwritten', () => {
  const a = rand(N, 1);
  const b = tf.mul(a, a);
  const buffer = stored(b).buffer;
  assert.equal(backend().pool.stateOf(stored(b)), 'owned');
  b.dispose();
  assert.equal(backend().pool.stats().released, 1);
  const c = tf.add(a, 2);
  assert.equal(stored(c).buffer, buffer, 'the freed buffer is reused');
  assert.equal(backend().pool.stats().hits, 1);
  const av = a.dataSync(), cv = c.dataSync();
  for (let i = 0; i < N; i++) assert.equal(cv[i], Math.fround(av[i]! + 2));
  tf.dispose([a, c]);
});

test('an array returned by dataSync/data is never reused', async () => {
  const a = rand(N, 2);
  const b = tf.mul(a, 5);
  const viaSync = b.dataSync() as Float32Array;
  const d = tf.mul(a, 7);
  const viaAsync = (await d.data()) as Float32Array;
  const want = [viaSync.slice(), viaAsync.slice()];
  assert.equal(backend().pool.stateOf(viaSync), 'pinned');
  assert.equal(backend().pool.stateOf(viaAsync), 'pinned');
  tf.dispose([b, d]);
  churn(a);
  assert.deepEqual(viaSync, want[0]);
  assert.deepEqual(viaAsync, want[1]);
  assert.equal(backend().pool.stateOf(viaSync), 'pinned');
  assert.ok(backend().pool.stats().hits > 0, 'the churn did reuse its own temporaries');
  a.dispose();
});

test('a user array passed to tf.tensor is never pooled or written', () => {
  const user = Float32Array.from({ length: N }, (_, i) => i);
  const t = tf.tensor1d(user);
  assert.equal(stored(t), user, 'the cpu backend stores the user array itself');
  const y = tf.mul(t, 2); // an output of the same size
  t.dispose();
  y.dispose();
  churn(rand(N, 3));
  assert.equal(backend().pool.stateOf(user), 'foreign');
  for (let i = 0; i < N; i++) assert.equal(user[i], i);
});

test('a buffer viewed by another data entry (subarray or the same array) is pinned, not reused', () => {
  const a = rand(N, 4);
  const owner = tf.mul(a, 3);
  const whole = stored(owner);
  const want = whole.slice();
  // what cpu kernels do (Slice's subarray, Complex's real part): wrap the array in a new entry
  const half = tf.engine().makeTensorFromTensorInfo(backend().makeTensorInfo([N / 2], 'float32', whole.subarray(N / 2)));
  const complex = tf.complex(owner, tf.zerosLike(owner));
  assert.equal(backend().pool.stateOf(whole), 'pinned');
  owner.dispose();
  churn(a);
  assert.deepEqual(half.dataSync(), want.subarray(N / 2));
  assert.deepEqual(tf.real(complex).dataSync(), want);
  tf.dispose([a, half, complex]);
});

test('shared dataIds (reshape, clone, variable) keep the buffer until the last reference goes', () => {
  const a = rand(N, 5);
  const b = tf.mul(a, 9);
  const buffer = stored(b).buffer;
  const want = stored(b).slice();
  const r = b.reshape([N / 2, 2]);
  const c = b.clone();
  const v = tf.variable(b, false);
  b.dispose();
  churn(a);
  r.dispose();
  churn(a);
  c.dispose();
  churn(a);
  assert.equal(backend().pool.stateOf(stored(v)), 'owned');
  assert.deepEqual(stored(v), want, 'the variable still sees its values');
  v.dispose(); // last reference: now it is free
  assert.equal(backend().pool.stateOf(new Float32Array(buffer)), 'free');
  const next = tf.mul(a, 1);
  assert.equal(stored(next).buffer, buffer);
  tf.dispose([a, next]);
});

test('variable assign frees the replaced value for reuse (the optimizer relies on it)', () => {
  const a = rand(N, 6);
  const init = tf.mul(a, 2);
  const v = tf.variable(init, false);
  init.dispose();
  const old = stored(v).buffer;
  tf.tidy(() => v.assign(tf.add(v, 1)));
  assert.equal(backend().pool.stateOf(new Float32Array(old)), 'free');
  const next = tf.mul(a, 1);
  assert.equal(stored(next).buffer, old);
  tf.dispose([a, v, next]);
});

test('outputArray zero-fills reused buffers unless the caller fills them', () => {
  const a = rand(N, 7);
  tf.mul(a, 3).dispose();
  const zeroed = outputArray(backend(), 'float32', N);
  assert.equal(backend().pool.stats().hits, 1);
  assert.ok(zeroed.every((x) => x === 0));
  a.dispose();
});

test('the free lists stay under the byte cap; cap 0 turns pooling off', () => {
  const pool = backend().pool;
  const a = rand(N, 8);
  pool.setCap(2 * N * 4);
  const outs = [1, 2, 3, 4].map((k) => tf.mul(a, k));
  tf.dispose(outs);
  assert.equal(pool.stats().freeBytes, 2 * N * 4);
  assert.equal(pool.stats().dropped, 2);
  pool.setCap(0);
  assert.equal(pool.stats().freeBytes, 0);
  const off = tf.mul(a, 5);
  assert.equal(pool.stateOf(stored(off)), 'foreign');
  tf.dispose([a, off]);
});

test('small outputs are plain allocations', () => {
  const pool = new BufferPool(2 ** 20);
  const small = pool.float32(MIN_POOLED_BYTES / 4 - 1);
  assert.equal(pool.stateOf(small), 'foreign');
  assert.equal(pool.stateOf(pool.float32(MIN_POOLED_BYTES / 4)), 'issued');
});

test('the transformer\'s logits and gradients match the cpu backend with the pool recycling between steps', async () => {
  const config: ModelConfig = {
    model_type: 'qwen2', vocab_size: 256, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64, hidden_act: 'silu', tie_word_embeddings: true,
  };
  const B = 4, T = 32;
  const ids = Int32Array.from({ length: B * T }, (_, i) => (i * 53 + 7) % 256);
  // two steps of forward, backward and a plain SGD update, so step 2 runs on recycled buffers
  const run = async (name: string): Promise<Float32Array[]> => {
    await tf.setBackend(name);
    const model = TransformerLM.init(config, 5);
    const idsT = tf.tensor2d(ids, [B, T], 'int32');
    const vars = [...model.weights.values()];
    const results: Float32Array[] = [];
    for (let step = 0; step < 2; step++) {
      tf.tidy(() => {
        results.push(model.logits(model.hidden(idsT)).dataSync() as Float32Array);
        const { grads } = tf.variableGrads(() => tf.mean(tf.square(model.logits(model.hidden(idsT)))) as tf.Scalar, vars);
        for (const v of vars) {
          const g = grads[v.name]!;
          results.push(Float32Array.from(g.dataSync())); // a copy: the tensor's own array stays poolable
          v.assign(tf.sub(v, tf.mul(g, 0.5)));
        }
      });
    }
    idsT.dispose();
    model.dispose();
    return results;
  };
  const cpu = await run('cpu');
  const ort = await run('onnxruntime');
  assert.ok(backend().pool.stats().hits > 20, `expected reuse, got ${JSON.stringify(backend().pool.stats())}`);
  assert.equal(ort.length, cpu.length);
  cpu.forEach((want, o) => {
    const got = ort[o]!;
    let scale = 0, err = 0;
    for (let i = 0; i < want.length; i++) { scale = Math.max(scale, Math.abs(want[i]!)); err = Math.max(err, Math.abs(got[i]! - want[i]!)); }
    assert.ok(scale > 0, `output ${o}: all zero`);
    assert.ok(err <= 2e-4 * scale, `output ${o}: max diff ${err} vs scale ${scale}`);
  });
});

test('a free buffer that shows up again (an array kept past its release) leaves the free list', () => {
  const a = rand(N, 9);
  const b = tf.mul(a, 2);
  const kept = stored(b); // held past the tensor's life, as a buggy kernel might
  b.dispose();
  assert.equal(backend().pool.stateOf(kept), 'free');
  const wrapped = tf.engine().makeTensorFromTensorInfo(backend().makeTensorInfo([N], 'float32', kept));
  assert.equal(backend().pool.stateOf(kept), 'pinned');
  assert.equal(backend().pool.stats().freeBytes, 0);
  const want = kept.slice();
  churn(a);
  assert.deepEqual(stored(wrapped), want);
  tf.dispose([a, wrapped]);
});
