// The package's entry points as a user imports them: `orz` and `orz/session`, in a fresh process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Runs an ES module snippet in a fresh node (with tsx) from the repo root; returns its last stdout line as JSON. */
function inFreshProcess(source: string): Record<string, unknown> {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', source], {
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, ORZ_BACKEND: 'cpu' }, timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

const ZEROMQ_LOADED = `
  import { createRequire } from 'node:module';
  const zeromqLoaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/node_modules/zeromq/'));`;

test("import 'orz' does not load the zeromq native addon; attaching to a session does", () => {
  const out = inFreshProcess(`${ZEROMQ_LOADED}
    const orz = await import('orz');
    const afterImport = zeromqLoaded();
    let attachError = '';
    try { await orz.Session.attach('tcp://127.0.0.1:1'); } catch (e) { attachError = e.message; }
    await import('./sdk/session/zmq-transport.ts');
    console.log(JSON.stringify({ hasTrainer: typeof orz.Trainer, afterImport, attachError, afterTransport: zeromqLoaded() }));`);
  assert.equal(out['hasTrainer'], 'function');
  assert.equal(out['afterImport'], false, 'zeromq was loaded by the main entry point');
  assert.match(String(out['attachError']), /no local connection file has address/);
  assert.equal(out['afterTransport'], true, 'the check itself must see zeromq once it is loaded');
});

test("'orz/session' exports the session client", () => {
  const out = inFreshProcess(`
    const s = await import('orz/session');
    const orz = await import('orz');
    console.log(JSON.stringify({ session: typeof s.Session, same: s.Session === orz.Session, remote: typeof s.RemoteTrainer }));`);
  assert.deepEqual(out, { session: 'function', same: true, remote: 'function' });
});
