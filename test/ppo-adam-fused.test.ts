// The optimizer's fused path (OrzAdam per parameter, OrzSumSquares for the global gradient norm on
// the onnxruntime backend) against its composite of standard ops (cpu backend, and onnxruntime with
// fused kernels off): same parameters, moments and norms over several steps with clipping, warmup
// and weight decay; checkpoint state and resume stay exact.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../sdk/engine/tf.ts';
import { Rng } from '../sdk/engine/rng.ts';
import { ortRunCount, registerOnnxBackend } from '../sdk/engine/onnx/index.ts';
import { FUSED, fusedKernel, setFusedKernels } from '../sdk/engine/fused.ts';
import { Adam, type AdamConfig, type AdamState } from '../sdk/ppo/optimizer.ts';
import { ADAM_CHUNK } from '../sdk/engine/onnx/fused/adam.ts';

before(() => registerOnnxBackend());
after(async () => {
  setFusedKernels(null);
  await tf.setBackend('cpu');
});

/** Parameter shapes: small ones (below the elementwise routing size) and large ones. */
const SHAPES: Record<string, number[]> = { 'w.big': [96, 80], 'b.small': [80], 'emb': [64, 128], 'scale': [1] };
const CFG: AdamConfig = { lr: 3e-3, betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.05, gradClip: 20, warmupSteps: 3 };

function values(n: number, rng: Rng, scale: number): Float32Array {
  return Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale);
}

/** Gradients of step k: their norms grow with k, so early steps are under the clip and later ones over it. */
function gradsAt(step: number): Record<string, Float32Array> {
  const rng = new Rng(100 + step);
  return Object.fromEntries(Object.entries(SHAPES).map(([name, shape]) => [name, values(shape.reduce((a, b) => a * b, 1), rng, 0.05 * 4 ** step)]));
}

interface Run { params: Record<string, Float32Array>; state: AdamState; norms: number[]; lrs: number[]; ortRuns: number[] }

/** `steps` Adam steps from fixed initial parameters on `backend`, fused kernels on or off; resumes from `resume` when given. */
async function run(backend: string, fused: boolean, steps: number[], cfg = CFG, resume?: Run): Promise<Run> {
  await tf.setBackend(backend);
  setFusedKernels(fused);
  const rng = new Rng(7);
  const params = new Map(Object.entries(SHAPES).map(([name, shape]) => {
    const init = resume ? resume.params[name]! : values(shape.reduce((a, b) => a * b, 1), rng, 1);
    return [name, tf.variable(tf.tensor(Float32Array.from(init), shape), true, `${backend}.${fused}.${name}.${Math.random()}`)];
  }));
  const adam = new Adam(cfg, params);
  if (resume) adam.load(resume.state);
  const norms: number[] = [], lrs: number[] = [], ortRuns: number[] = [];
  for (const k of steps) {
    const grads = Object.fromEntries(Object.entries(gradsAt(k)).map(([name, g]) => [name, tf.tensor(g, SHAPES[name])]));
    const before = ortRunCount();
    const { gradNorm, lr } = adam.apply(grads);
    ortRuns.push(ortRunCount() - before);
    norms.push(gradNorm);
    lrs.push(lr);
    tf.dispose(Object.values(grads));
  }
  const out: Run = {
    params: Object.fromEntries([...params].map(([name, p]) => [name, Float32Array.from(p.dataSync())])),
    state: adam.state(), norms, lrs, ortRuns,
  };
  adam.dispose();
  tf.dispose([...params.values()]);
  return out;
}

/** max |got - want| <= rel * `scale` (default: the largest |want|). */
function assertClose(what: string, got: ArrayLike<number>, want: ArrayLike<number>, rel = 1e-6, scale = maxAbs(want)): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let err = 0;
  for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i]! - want[i]!));
  assert.ok(err <= rel * Math.max(scale, 1e-30), `${what}: max diff ${err} vs scale ${scale}`);
}

function maxAbs(xs: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < xs.length; i++) m = Math.max(m, Math.abs(xs[i]!));
  return m;
}

/**
 * Same norms, lrs, parameters and moments to `rel`. Moments are measured against the largest
 * moment of any parameter: a one-element moment can be a sum of cancelling terms, where one
 * float32 rounding of a term (e.g. of the clip scale) is a large part of the result.
 */
function assertSameRun(what: string, got: Run, want: Run, rel = 1e-6): void {
  assertClose(`${what} norms`, got.norms, want.norms, rel);
  assertClose(`${what} lrs`, got.lrs, want.lrs, 1e-12);
  const names = Object.keys(SHAPES);
  const mScale = Math.max(...names.map((n) => maxAbs(want.state.m[n]!)));
  const vScale = Math.max(...names.map((n) => maxAbs(want.state.v[n]!)));
  for (const name of names) {
    assertClose(`${what} param ${name}`, got.params[name]!, want.params[name]!, rel);
    assertClose(`${what} m ${name}`, got.state.m[name]!, want.state.m[name]!, rel, mScale);
    assertClose(`${what} v ${name}`, got.state.v[name]!, want.state.v[name]!, rel, vScale);
  }
  assert.equal(got.state.step, want.state.step);
}

const STEPS = [0, 1, 2, 3, 4, 5];

test('the onnxruntime backend registers both optimizer kernels', async () => {
  await tf.setBackend('onnxruntime');
  setFusedKernels(null);
  assert.ok(fusedKernel(FUSED.adam));
  assert.ok(tf.getKernel('OrzSumSquares', 'onnxruntime'));
  setFusedKernels(false);
  assert.ok(!fusedKernel(FUSED.adam));
});

test('fused Adam equals the composite (cpu, and onnxruntime unfused) over steps with warmup, clipping and weight decay', async () => {
  const fused = await run('onnxruntime', true, STEPS);
  const unfused = await run('onnxruntime', false, STEPS);
  const cpu = await run('cpu', false, STEPS);
  // the steps cover the schedule and the clip: warmup lrs, then constant; norms on both sides of 20
  assertClose('warmup lrs', fused.lrs.slice(0, 5), [1e-3, 2e-3, 3e-3, 3e-3, 3e-3], 1e-12);
  assert.ok(fused.norms.some((n) => n < CFG.gradClip) && fused.norms.some((n) => n > CFG.gradClip), `norms ${fused.norms}`);
  // fused: one OrzSumSquares run and one OrzAdam run per parameter, nothing else on ORT
  assert.deepEqual(fused.ortRuns, STEPS.map(() => 1 + Object.keys(SHAPES).length));
  assert.ok(unfused.ortRuns.every((n) => n > 1 + Object.keys(SHAPES).length), `unfused runs ${unfused.ortRuns}`);
  assertSameRun('fused vs onnxruntime composite', fused, unfused);
  assertSameRun('fused vs cpu composite', fused, cpu);
  // the updates really moved the parameters (a kernel that returned its inputs would fail here)
  const start = await run('onnxruntime', true, []);
  assert.ok(Math.abs(fused.params['w.big']![0]! - start.params['w.big']![0]!) > 1e-4);
});

test('without weight decay or clipping the fused path still equals the composite', async () => {
  const cfg: AdamConfig = { ...CFG, weightDecay: 0, gradClip: 0, warmupSteps: 0 };
  const fused = await run('onnxruntime', true, STEPS, cfg);
  const cpu = await run('cpu', false, STEPS, cfg);
  // no clip: the norm (rounded differently) does not enter the update, and each elementwise step
  // rounds like the composite's, so parameters and moments are bit-identical
  assertClose('no wd, no clip norms', fused.norms, cpu.norms, 1e-6);
  assertSameRun('no wd, no clip', { ...fused, norms: cpu.norms }, cpu, 0);
});

test('checkpoint state is not disturbed by later steps, and resuming is exact', async () => {
  const straight = await run('onnxruntime', true, STEPS);
  const first = await run('onnxruntime', true, STEPS.slice(0, 3));
  const saved = structuredClone(first.state);
  const resumed = await run('onnxruntime', true, STEPS.slice(3), CFG, first);
  // the arrays state() handed out are the tensors' own (dataSync); the pool must never reuse them
  for (const name of Object.keys(SHAPES)) {
    assert.deepEqual(first.state.m[name], saved.m[name]);
    assert.deepEqual(first.state.v[name], saved.v[name]);
  }
  assertSameRun('resumed vs straight', resumed, { ...straight, norms: straight.norms.slice(3), lrs: straight.lrs.slice(3) }, 0);
});

test('a parameter larger than one ORT run is updated chunk by chunk, every element', async () => {
  const n = 2 * ADAM_CHUNK + 123; // three runs, the last one short
  const cfg: AdamConfig = { ...CFG, gradClip: 0 };
  const update = async (backend: string, fused: boolean): Promise<{ p: Float32Array; m: Float32Array; v: Float32Array; runs: number }> => {
    await tf.setBackend(backend);
    setFusedKernels(fused);
    const rng = new Rng(11);
    const p = tf.variable(tf.tensor1d(values(n, rng, 1)), true, `chunked.${backend}.${fused}`);
    const adam = new Adam(cfg, new Map([['p', p]]));
    let runs = 0;
    for (let step = 0; step < 2; step++) {
      const g = tf.tensor1d(values(n, rng, 0.1));
      const before = ortRunCount();
      adam.apply({ p: g });
      runs = ortRunCount() - before;
      g.dispose();
    }
    const state = adam.state();
    const out = { p: Float32Array.from(p.dataSync()), m: Float32Array.from(state.m['p']!), v: Float32Array.from(state.v['p']!), runs };
    adam.dispose();
    p.dispose();
    return out;
  };
  const fused = await update('onnxruntime', true);
  const cpu = await update('cpu', false);
  assert.equal(fused.runs, 1 + 3, 'one OrzSumSquares run and three OrzAdam chunks');
  assert.deepEqual(fused.p, cpu.p);
  assert.deepEqual(fused.m, cpu.m);
  assert.deepEqual(fused.v, cpu.v);
});

test('the optimizer leaves no tensors behind: construction, fused and composite steps, load, dispose', async () => {
  for (const fused of [true, false]) {
    await tf.setBackend('onnxruntime');
    setFusedKernels(fused);
    const p = tf.variable(tf.ones([64, 80]), true, `leak.${fused}`);
    const g = tf.fill([64, 80], 0.5);
    const before = tf.memory().numTensors;
    const adam = new Adam(CFG, new Map([['p', p]]));
    adam.apply({ p: g });
    adam.load(adam.state());
    adam.apply({ p: g });
    adam.dispose();
    assert.equal(tf.memory().numTensors, before, `fused ${fused}`);
    tf.dispose([p, g]);
  }
});
