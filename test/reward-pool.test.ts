// Rewards in worker threads: real workers, real timeouts. Each test that checks the pool's own state uses its own
// RewardPool (closed at the end); the others go through the shared pool, as Trainer.score() does.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  closeRewardPools, inProcessReward, mathReward, RewardError, rewardModule, RewardPool, scoreSamples, type Sample,
} from '../sdk/reward/index.ts';
import { INTERRUPT_CHECK_EXPRESSION } from '../kernel/exec/interrupt.ts';
import { LIVE_CHECK_FUNCTION } from '../kernel/exec/cell-context.ts';
import { math500Samples } from './support/math500-samples.ts';

function samples(n: number, extra: Record<string, unknown> = {}): Sample[] {
  return Array.from({ length: n }, (_, i) => ({
    prompt: `q${i}`, response: `<answer> \\boxed{${i}} </answer>`, groundTruth: String(i % 2 === 0 ? i : i + 1),
    finishReason: 'stop' as const, level: i, ...extra,
  }));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** True once `counter` holds still for 100 ms (within 3 s): the thread incrementing it is gone. */
async function stopsGrowing(counter: Int32Array): Promise<boolean> {
  for (const end = performance.now() + 3000; performance.now() < end;) {
    const before = Atomics.load(counter, 0);
    await sleep(100);
    if (Atomics.load(counter, 0) === before) return true;
  }
  return false;
}

const pools: RewardPool[] = [];
function ownPool(size = 2): RewardPool {
  const p = new RewardPool(size);
  pools.push(p);
  return p;
}
after(async () => {
  await Promise.all(pools.map((p) => p.close()));
  await closeRewardPools();
});

test('a synchronous infinite loop times out, names the sample, and its worker is terminated and replaced', async () => {
  const pool = ownPool(2);
  // The loop counts in shared memory (a SharedArrayBuffer survives the structured clone as the same memory), so
  // this thread can see whether the looping worker is still running after the timeout.
  const counter = new SharedArrayBuffer(4);
  const spins = new Int32Array(counter);
  const looping = (s: Sample): number => {
    if (s.level === 3) {
      const c = new Int32Array(s['counter'] as SharedArrayBuffer);
      for (;;) Atomics.add(c, 0, 1);
    }
    return 1;
  };
  const t0 = performance.now();
  await assert.rejects(scoreSamples(looping, samples(6, { counter }), { timeoutMs: 300, pool }), (e: unknown) => {
    assert.ok(e instanceof RewardError);
    assert.equal(e.sampleIndex, 3);
    assert.equal(e.sample.prompt, 'q3');
    assert.match(e.message, /looping timed out after 300 ms on sample 3 \(prompt "q3"\)/);
    return true;
  });
  const ms = performance.now() - t0;
  assert.ok(ms >= 290 && ms < 3000, `took ${ms} ms`);
  assert.ok(Atomics.load(spins, 0) > 0, 'the loop really ran');
  assert.ok(await stopsGrowing(spins), 'the blocked worker is gone: the counter stopped');
  assert.ok(pool.workerCount < 2, 'the blocked worker left the pool');
  // The pool keeps working, with a fresh worker in the dead one's place.
  assert.deepEqual(await scoreSamples((s) => (s.level as number) * 3, samples(8), { pool }), [0, 3, 6, 9, 12, 15, 18, 21]);
  assert.equal(pool.workerCount, 2);
});

test('a batch reward that blocks times out per call', async () => {
  const t0 = performance.now();
  await assert.rejects(scoreSamples({ name: 'spin', batch: () => { for (;;) { /* never returns */ } } }, samples(3), { timeoutMs: 200 }),
    (e: unknown) => e instanceof RewardError && /spin timed out after 200 ms \(whole batch of 3\)/.test(e.message));
  assert.ok(performance.now() - t0 < 3000);
});

test('a promise that never settles times out in the worker too', async () => {
  const fn = (s: Sample): Promise<number> => (s.level === 1 ? new Promise<number>(() => {}) : Promise.resolve(1));
  await assert.rejects(scoreSamples(fn, samples(3), { timeoutMs: 100 }),
    (e: unknown) => e instanceof RewardError && e.sampleIndex === 1 && /timed out after 100 ms/.test(e.message));
});

test('a throw raises RewardError with the worker\'s error as cause', async () => {
  const fn = (s: Sample): number => { if (s.level === 2) throw new RangeError(`bad sample ${s.prompt}`); return 0; };
  await assert.rejects(scoreSamples(fn, samples(5)), (e: unknown) => {
    assert.ok(e instanceof RewardError);
    assert.equal(e.sampleIndex, 2);
    assert.match(e.message, /fn threw: bad sample q2 on sample 2/);
    assert.ok(e.cause instanceof Error);
    assert.equal(e.cause.name, 'RangeError');
    assert.equal(e.cause.message, 'bad sample q2');
    return true;
  });
});

test('non-numbers (even uncloneable ones) raise RewardError, never a silent 0', async () => {
  const cases: Array<[(s: Sample) => unknown, RegExp]> = [
    [(s) => (s.level === 2 ? 'one' : 1), /returned a string instead of a finite number/],
    [(s) => (s.level === 2 ? NaN : 1), /returned NaN/],
    [(s) => (s.level === 2 ? () => 1 : 1), /returned a function/],
    [(s) => (s.level === 2 ? undefined : 1), /returned a undefined/],
  ];
  for (const [fn, re] of cases) {
    await assert.rejects(scoreSamples(fn as (s: Sample) => number, samples(4)), (e: unknown) => {
      assert.ok(e instanceof RewardError, String(fn));
      assert.equal(e.sampleIndex, 2);
      assert.match(e.message, re);
      return true;
    });
  }
  await assert.rejects(scoreSamples({ batch: () => 'no' as unknown as number[] }, samples(2)), /returned a string for a batch of 2/);
});

test('a function using state from its enclosing scope gets a clear error; inProcessReward runs it', async () => {
  const weights = [10, 20, 30];
  const fn = (s: Sample): number => weights[(s.level as number) % 3]!;
  await assert.rejects(scoreSamples(fn, samples(3)), (e: unknown) => {
    assert.ok(e instanceof RewardError);
    assert.match(e.message, /uses `weights` from its enclosing scope/);
    assert.match(e.message, /rewardModule/);
    assert.match(e.message, /inProcessReward/);
    return true;
  });
  assert.deepEqual(await scoreSamples(inProcessReward(fn), samples(3)), [10, 20, 30]);
  assert.deepEqual(await scoreSamples(fn, samples(3), { rewardWorkers: 0 }), [10, 20, 30]);
  // The mark is on a copy: mathReward itself still runs in the pool (where a blocked call would be cut short).
  const pool = ownPool(1);
  assert.deepEqual(await scoreSamples(inProcessReward(mathReward), samples(2), { pool }), [1, 0]);
  assert.equal(pool.workerCount, 0, 'in process: no worker started');
  assert.deepEqual(await scoreSamples(mathReward, samples(2), { pool }), [1, 0]);
  assert.equal(pool.workerCount, 1);
});

test('native and bound functions are refused up front', async () => {
  await assert.rejects(scoreSamples(Math.abs as unknown as (s: Sample) => number, samples(1)), /native or bound/);
  await assert.rejects(scoreSamples(((s: Sample) => s.prompt.length).bind(null), samples(1)), /native or bound/);
});

test('notebook-cell code runs: the kernel\'s loop check and import helper and tsx\'s __name exist in the worker', async () => {
  // What the kernel's compiler makes of a loop in a cell; the check is a no-op in reward workers.
  const cell = new Function('s', 'let n = 0; for (const ch of s.response) { globalThis[Symbol.for("orz.kernel.check")](); if (ch === "{") n++; } return n;') as (s: Sample) => number;
  assert.deepEqual(await scoreSamples(cell, samples(2)), [1, 1]);
  // A cell's `await import('orz')` inside the reward becomes a call of the kernel's import helper (with the
  // notebook's directory); the worker has its own.
  const AsyncFunction = (async () => {}).constructor as new (...args: string[]) => (s: Sample) => Promise<number>;
  const repoDir = new URL('..', import.meta.url).pathname;
  const cellImport = new AsyncFunction('s', 'const { mathReward } = await globalThis[Symbol.for("orz.kernel.import")]'
    + `("./sdk/reward/index.ts", ${JSON.stringify(repoDir)}); return mathReward(s);`);
  assert.deepEqual(await scoreSamples(cellImport, samples(4)), [1, 0, 1, 0]);
  // The checks the kernel writes now (loop tops; function tops and around every await), named by the kernel
  // itself so that a rename there fails here.
  const compiledCell = new AsyncFunction('s', `${LIVE_CHECK_FUNCTION}(); let n = 0; for (const ch of s.response) { ${INTERRUPT_CHECK_EXPRESSION}; if (ch === "<") n++; }`
    + ` return ${LIVE_CHECK_FUNCTION}(await Promise.resolve(n));`);
  assert.deepEqual(await scoreSamples(compiledCell, samples(2)), [2, 2]);
  const nested = (s: Sample): number => { const twice = (x: number): number => x * 2; return twice(s.level as number); };
  assert.deepEqual(await scoreSamples(nested, samples(3)), [0, 2, 4]);
});

test('async rewards and batch rewards run in workers, results in input order', async () => {
  const fn = async (s: Sample): Promise<number> => {
    await new Promise((r) => setTimeout(r, (10 - (s.level as number)) * 3));
    return (s.level as number) + 0.5;
  };
  assert.deepEqual(await scoreSamples(fn, samples(10), { concurrency: 4 }), Array.from({ length: 10 }, (_, i) => i + 0.5));
  assert.deepEqual(await scoreSamples({ batch(ss) { return ss.map((s) => s.prompt.length); } }, samples(11)), [2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3]);
});

test('a reward module by path: per-sample and batch exports, TypeScript, clear errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'orz-reward-module-'));
  const file = join(dir, 'my-reward.ts');
  writeFileSync(file, [
    'const bonus: number = 0.25; // module state is fine: the worker imports the module',
    'export function byLength(s: { response: string }): number { return s.response.length + bonus; }',
    'export const batched = { batch: (ss: Array<{ prompt: string }>): number[] => ss.map((s) => s.prompt.length * 2) };',
    'export default (s: { level: number }): number => s.level;',
  ].join('\n'));
  const ss = samples(3);
  assert.deepEqual(await scoreSamples(rewardModule(file, 'byLength'), ss), ss.map((s) => s.response.length + 0.25));
  assert.deepEqual(await scoreSamples(rewardModule(file, 'batched'), ss), [4, 4, 4]);
  assert.deepEqual(await scoreSamples(rewardModule(file), ss), [0, 1, 2]);
  assert.deepEqual(await scoreSamples(rewardModule(file, 'byLength'), ss, { rewardWorkers: 0 }), ss.map((s) => s.response.length + 0.25));
  await assert.rejects(scoreSamples(rewardModule(file, 'nope'), ss), /has no export "nope"/);
  assert.throws(() => rewardModule(join(dir, 'missing.ts')), /does not exist/);
});

test('aborting terminates the work in flight', async () => {
  const pool = ownPool(1);
  const counter = new SharedArrayBuffer(4);
  const spins = new Int32Array(counter);
  const controller = new AbortController();
  const loop = (s: Sample): number => { const c = new Int32Array(s['counter'] as SharedArrayBuffer); for (;;) Atomics.add(c, 0, 1); };
  const scoring = scoreSamples(loop, samples(2, { counter }), { timeoutMs: 60_000, pool, signal: controller.signal });
  while (Atomics.load(spins, 0) === 0) await sleep(10);
  const t0 = performance.now();
  controller.abort(new Error('stop now'));
  await assert.rejects(scoring, /stop now/);
  assert.ok(performance.now() - t0 < 500);
  assert.ok(await stopsGrowing(spins), 'the aborted worker is gone: the counter stopped');
  assert.deepEqual(await scoreSamples((s) => s.level as number, samples(3), { pool }), [0, 1, 2]);
});

test('mathReward in the pool gives the in-process numbers on the 500 MATH500 answers', async () => {
  const ss = math500Samples();
  assert.equal(ss.length, 1000);
  const local = await scoreSamples(mathReward, ss, { rewardWorkers: 0 });
  const pooled = await scoreSamples(mathReward, ss);
  assert.deepEqual(pooled, local);
  const correct = local.filter((_, i) => i % 2 === 0).reduce((a, b) => a + b, 0);
  const perturbed = local.filter((_, i) => i % 2 === 1).reduce((a, b) => a + b, 0);
  assert.ok(correct > 400, `correct responses scored ${correct}/500`);
  assert.ok(perturbed < 100, `perturbed responses scored ${perturbed}/500`);
});

test('idle reward workers do not keep the process alive', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orz-reward-exit-'));
  const script = join(dir, 'score-once.mts');
  const index = new URL('../sdk/reward/index.ts', import.meta.url).href;
  writeFileSync(script, `import { scoreSamples } from ${JSON.stringify(index)};\n`
    + 'const out = await scoreSamples((s) => s.prompt.length, [{ prompt: "abc", response: "", groundTruth: "", finishReason: "stop" }]);\n'
    + 'console.log(JSON.stringify(out));\n');
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), '[3]');
  assert.ok(performance.now() - t0 < 30_000);
});

test('the pool is reused across calls: no new threads per batch', async () => {
  const pool = ownPool(2);
  // Each thread has its own globalThis: a random tag set there on first use tells which thread scored a sample.
  const whichThread = (): number => ((globalThis as { rewardThreadTag?: number }).rewardThreadTag ??= Math.random());
  const first = await scoreSamples(whichThread, samples(40), { pool });
  const second = await scoreSamples(whichThread, samples(40), { pool });
  const threads = new Set([...first, ...second]);
  assert.ok(threads.size >= 1 && threads.size <= 2, `${threads.size} threads`);
  assert.ok(!threads.has(whichThread()), 'scored off the main thread');
  assert.equal(pool.workerCount, 2);
});

test('a reward that ends its worker (process.exit) raises RewardError, and the pool recovers', async () => {
  const pool = ownPool(1);
  const exits = (s: Sample): number => { if (s.level === 1) process.exit(3); return 1; };
  await assert.rejects(scoreSamples(exits, samples(3), { pool }),
    (e: unknown) => e instanceof RewardError && e.sampleIndex === 1 && /exited with code 3/.test(e.message));
  assert.deepEqual(await scoreSamples((s) => s.level as number, samples(3), { pool }), [0, 1, 2]);
});
