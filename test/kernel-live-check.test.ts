// The cell compiler's live checks (function entries, await resumptions, catch/finally), run the way the kernel
// runs cells (V8 REPL mode through node:inspector): they must not change what the cell computes, and each
// one must really be reached, since the kernel stops an interrupted cell's leftovers only there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import inspector from 'node:inspector';
import { fileURLToPath } from 'node:url';
import { compileCell } from '../kernel/ts/compile.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
const LOOP_CHECK = 'globalThis[Symbol.for("orz.test.loop")]()';
const LIVE_CHECK = 'globalThis[Symbol.for("orz.test.live")]';

const live = { calls: 0, stopAfter: Infinity };
class Stopped extends Error {}
const g = globalThis as Record<symbol, unknown>;
g[Symbol.for('orz.test.loop')] = () => {};
g[Symbol.for('orz.test.live')] = (value?: unknown) => {
  if (++live.calls > live.stopAfter) throw new Stopped('stopped');
  return value;
};

const session = new inspector.Session();
session.connect();

async function run(source: string, stopAfter = Infinity): Promise<{ value: unknown; error: string | null; calls: number }> {
  live.calls = 0;
  live.stopAfter = stopAfter;
  const cell = compileCell(source, { baseDir: REPO, interruptCheck: LOOP_CHECK, liveCheck: LIVE_CHECK });
  const reply = await new Promise<inspector.Runtime.EvaluateReturnType>((resolve, reject) => {
    session.post('Runtime.evaluate', { expression: cell.js, replMode: true, awaitPromise: true, returnByValue: true }, (err, r) => (err ? reject(err) : resolve(r as inspector.Runtime.EvaluateReturnType)));
  });
  const error = reply.exceptionDetails ? (reply.exceptionDetails.exception?.description ?? reply.exceptionDetails.text) : null;
  return { value: reply.result.value, error, calls: live.calls };
}

test('live checks leave values alone: await results, arrow expression bodies, methods, accessors, catch/finally', async () => {
  const r = await run([
    'const arrow = (x: number) => ({ twice: x * 2 })',
    'class Box { constructor(public v: number) {} get doubled() { return this.v * 2 } set value(n: number) { this.v = n } add(n: number) { return this.v + n } }',
    'const box = new Box(3)',
    'box.value = 4',
    'let path = ""',
    'try { throw new Error("x") } catch { path += "c" } finally { path += "f" }',
    'async function later() { return 5 }',
    '[await later(), arrow(2).twice, box.doubled, box.add(1), path, await Promise.resolve(7)]',
  ].join('\n'));
  assert.equal(r.error, null);
  assert.deepEqual(r.value, [5, 4, 8, 5, 'cf', 7]);
  // arrow, getter, setter, add, later, catch, finally, and two awaits: every one went through the check.
  assert.equal(r.calls, 9);
});

test('a check that throws stops the function body, the await continuation and the catch block', async () => {
  const r = await run('let reached = 0\nfunction f() { reached++ }\nf()\nreached', 0);
  assert.match(r.error ?? '', /stopped/);
  assert.equal((await run('reached')).value, 0);
  const afterAwait = await run('let resumed = false\nawait null\nresumed = true', 0);
  assert.match(afterAwait.error ?? '', /stopped/);
  assert.equal((await run('resumed')).value, false);
  const inCatch = await run('let caught = false\ntry { throw new Error("x") } catch { caught = true }', 0);
  assert.match(inCatch.error ?? '', /stopped/);
  assert.equal((await run('caught')).value, false);
});
