// Comparing the onnxruntime backend with the cpu backend: run one function on each, check that
// ORT really ran (or really did not), and compare every output's shape, dtype and values.

import assert from 'node:assert/strict';
import { tf } from '../../sdk/engine/tf.ts';
import { Rng } from '../../sdk/engine/rng.ts';
import { ortRunCount } from '../../sdk/engine/onnx/index.ts';

/** Uniform values in [-scale, scale) from `seed`. */
export function rand(shape: number[], seed: number, scale = 1): tf.Tensor {
  const rng = new Rng(seed);
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (rng.next() * 2 - 1) * scale), shape);
}

/** Integers in [lo, hi) from `seed`. */
export function randInt(shape: number[], seed: number, lo: number, hi: number): tf.Tensor {
  const rng = new Rng(seed);
  return tf.tensor(Int32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => lo + Math.floor(rng.next() * (hi - lo))), shape, 'int32');
}

/** Booleans, true with probability `p`, from `seed`. */
export function randBool(shape: number[], seed: number, p = 0.5): tf.Tensor {
  const rng = new Rng(seed);
  return tf.tensor(Uint8Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (rng.next() < p ? 1 : 0)), shape, 'bool');
}

export type Out = tf.Tensor | tf.Tensor[];
export type Result = [number[], Float32Array | Int32Array | Uint8Array, string];

/** Runs `fn` on `backend`; returns [shape, values, dtype] per output and how many ORT runs it made. */
export async function runOn(backend: string, fn: () => Out): Promise<{ outs: Result[]; ortRuns: number }> {
  await tf.setBackend(backend);
  const before = ortRunCount();
  const outs = tf.tidy(() => {
    const r = fn();
    return (Array.isArray(r) ? r : [r]).map((t) => [t.shape, t.dataSync() as Float32Array, t.dtype] as Result);
  });
  return { outs, ortRuns: ortRunCount() - before };
}

/**
 * Asserts `got` equals `want` (outputs of the cpu backend): shapes, dtypes, and values to `tol`
 * relative to the largest finite reference magnitude (exactly where the cpu gives NaN or an infinity).
 */
export function assertSameOutputs(what: string, got: Result[], want: Result[], tol: number): void {
  assert.equal(got.length, want.length, `${what}: output count`);
  want.forEach(([shape, values, dtype], o) => {
    const [gotShape, gotValues, gotDtype] = got[o]!;
    assert.deepEqual(gotShape, shape, `${what}[${o}]: shape`);
    assert.equal(gotDtype, dtype, `${what}[${o}]: dtype`);
    assert.equal(gotValues.length, values.length, `${what}[${o}]: length`);
    let scale = 0, err = 0;
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i])) { assert.ok(Object.is(gotValues[i], values[i]), `${what}[${o}]: index ${i} should be ${values[i]}, got ${gotValues[i]}`); continue; }
      scale = Math.max(scale, Math.abs(values[i]!));
      err = Math.max(err, Math.abs(gotValues[i]! - values[i]!));
    }
    assert.ok(err <= tol * Math.max(scale, 1e-30), `${what}[${o}]: max diff ${err} vs scale ${scale}`);
  });
}

/**
 * fn on onnxruntime equals fn on cpu (assertSameOutputs). `routed`: whether a routed kernel must
 * have run, as counted by `runs` (default: ORT runs; false: must not have; null: don't care).
 */
export async function sameOnBoth(what: string, fn: () => Out, tol = 1e-5, routed: boolean | null = true, runs: () => number = ortRunCount): Promise<void> {
  const cpu = await runOn('cpu', fn);
  const before = runs();
  const ort = await runOn('onnxruntime', fn);
  const made = runs() - before;
  if (routed !== null) assert.equal(made > 0, routed, `${what}: expected ${routed ? 'a routed run' : 'no routed run'}, got ${made}`);
  assertSameOutputs(what, ort.outs, cpu.outs, tol);
}
