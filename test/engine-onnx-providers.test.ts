// ORZ_ORT_PROVIDERS: which ONNX Runtime execution providers the backend's sessions ask for. The CPU
// provider ships in onnxruntime-node; asking for CUDA without its binaries (as on this machine, which
// denies onnxruntime-node's install script in package.json) must fail with an error that says what to do.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { executionProviders } from '../sdk/engine/onnx/session.ts';

function withEnv<T>(value: string | undefined, fn: () => T): T {
  const saved = process.env['ORZ_ORT_PROVIDERS'];
  if (value === undefined) delete process.env['ORZ_ORT_PROVIDERS'];
  else process.env['ORZ_ORT_PROVIDERS'] = value;
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env['ORZ_ORT_PROVIDERS'];
    else process.env['ORZ_ORT_PROVIDERS'] = saved;
  }
}

test('ORZ_ORT_PROVIDERS parses to a provider list, default cpu', () => {
  assert.deepEqual(withEnv(undefined, executionProviders), ['cpu']);
  assert.deepEqual(withEnv(' CUDA , cpu ', executionProviders), ['cuda', 'cpu']);
  assert.throws(() => withEnv('gpu', executionProviders), /unknown execution provider "gpu"; known: cpu, cuda/);
  assert.throws(() => withEnv(',', executionProviders), /names no execution provider/);
});

/** A matMul on the onnxruntime backend in a fresh process (sessions are cached per process). */
function matMulIn(providers: string): { status: number | null; out: string } {
  const code = [
    "const { tf } = await import('./sdk/engine/tf.ts');",
    "const { registerOnnxBackend, ortRunCount } = await import('./sdk/engine/onnx/index.ts');",
    "registerOnnxBackend(); await tf.setBackend('onnxruntime');",
    'try { const y = tf.matMul(tf.ones([64, 128]), tf.ones([128, 64])).dataSync();',
    "  console.log('value', y[0], 'ortRuns', ortRunCount()); }",
    "catch (e) { console.log('error:', e.message); process.exitCode = 3; }",
  ].join('\n');
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: join(import.meta.dirname, '..'), env: { ...process.env, ORZ_ORT_PROVIDERS: providers }, encoding: 'utf8',
  });
  return { status: r.status, out: r.stdout };
}

test('the cpu provider runs the kernels on ORT', () => {
  const r = matMulIn('cpu');
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /value 128 ortRuns [1-9]/);
});

test('a GPU provider without its binaries fails with a pointer to the README', () => {
  const r = matMulIn('cuda,cpu');
  assert.equal(r.status, 3, r.out);
  assert.match(r.out, /error: onnx\/session: cannot build the "MatMul:00" graph \(execution providers cuda, cpu from ORZ_ORT_PROVIDERS: a GPU provider needs its binaries, see the README's "GPU" section\)/);
});
