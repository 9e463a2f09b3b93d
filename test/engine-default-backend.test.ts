// Importing the SDK (what a script, an example or a notebook cell does) must put tensors on the best backend
// there is, say so once, and never leave the user on tfjs's pure-JS cpu backend with its "install our node
// backend" banner. Each case is a fresh Node process, as a user's script would be.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const BANNER = 'looks like you are running TensorFlow.js in Node.js';

function importOrz(body: string, env: Record<string, string> = {}) {
  const script = `import { tf, Trainer } from 'orz';\n${body}`;
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (!('ORZ_BACKEND' in env)) delete childEnv['ORZ_BACKEND'];
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO, env: childEnv, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("import from 'orz' runs tensors on onnxruntime and says so once, without tfjs's banner", () => {
  const r = importOrz("const t = tf.matMul(tf.ones([2, 3]), tf.ones([3, 2])); console.log(tf.getBackend(), t.dataSync().join(','), typeof Trainer);");
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'onnxruntime 3,3,3,3 function');
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('orz: tensor backend'));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^orz: tensor backend onnxruntime \(native CPU kernels/);
  assert.ok(!r.stderr.includes(BANNER), r.stderr);
});

test('ORZ_BACKEND picks the backend at import; an explicit selectBackend() afterwards still wins', () => {
  const r = importOrz("import { selectBackend } from 'orz'; console.log(tf.getBackend()); await selectBackend('onnxruntime'); console.log(tf.getBackend());", { ORZ_BACKEND: 'cpu' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['cpu', 'onnxruntime']);
  assert.match(r.stderr, /orz: tensor backend cpu \(pure JavaScript, slow\)/);
});

test('an unknown ORZ_BACKEND fails the import with the variable named', () => {
  const r = importOrz('console.log("imported");', { ORZ_BACKEND: 'gpu-please' });
  assert.notEqual(r.status, 0);
  assert.equal(r.stdout.trim(), '');
  assert.match(r.stderr, /ORZ_BACKEND=gpu-please: unknown backend; known: auto, tensorflow, onnxruntime, wasm, cpu/);
});
