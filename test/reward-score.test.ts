import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mathReward, RewardError, scoreSamples, type Sample } from '../sdk/reward/index.ts';

// Rewards run in worker threads by default (test/reward-pool.test.ts); the tests whose functions use state from
// this file (counters, `sleep`, a shared Error) pin the in-process path with rewardWorkers: 0.
const inProcess = { rewardWorkers: 0 } as const;

function samples(n: number): Sample[] {
  return Array.from({ length: n }, (_, i) => ({
    prompt: `q${i}`, response: `<answer> \\boxed{${i}} </answer>`, groundTruth: String(i % 2 === 0 ? i : i + 1),
    finishReason: 'stop' as const, level: i,
  }));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('sync per-sample fn; extra record fields ride along', async () => {
  const out = await scoreSamples((s) => (s.level as number) * 2, samples(5));
  assert.deepEqual(out, [0, 2, 4, 6, 8]);
});

test('mathReward through scoreSamples: even indices carry the right answer', async () => {
  assert.deepEqual(await scoreSamples(mathReward, samples(6)), [1, 0, 1, 0, 1, 0]);
});

test('async per-sample fn keeps input order although later samples finish first', async () => {
  const finished: number[] = [];
  const fn = async (s: Sample): Promise<number> => {
    const i = s.level as number;
    await sleep((10 - i) * 3); // sample 9 is fastest
    finished.push(i);
    return i + 0.5;
  };
  const out = await scoreSamples(fn, samples(10), { concurrency: 4, ...inProcess });
  assert.deepEqual(out, Array.from({ length: 10 }, (_, i) => i + 0.5));
  assert.notDeepEqual(finished, [...finished].sort((a, b) => a - b)); // completion order really differed
});

test('concurrency bound is respected', async () => {
  let inFlight = 0;
  let peak = 0;
  const fn = async (): Promise<number> => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    await sleep(5);
    inFlight--;
    return 1;
  };
  await scoreSamples(fn, samples(12), { concurrency: 3, ...inProcess });
  assert.equal(peak, 3);
  peak = 0;
  await scoreSamples(fn, samples(20), inProcess); // default 8
  assert.equal(peak, 8);
});

test('batch fn', async () => {
  const out = await scoreSamples({ name: 'lengths', batch: (ss) => ss.map((s) => s.prompt.length) }, samples(11));
  assert.deepEqual(out, [2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3]);
  const asyncOut = await scoreSamples({ batch: async (ss) => ss.map(() => 0.25) }, samples(3));
  assert.deepEqual(asyncOut, [0.25, 0.25, 0.25]);
});

test('a throwing fn raises RewardError naming the sample, with the cause', async () => {
  const boom = new Error('boom');
  const fn = (s: Sample): number => { if (s.level === 3) throw boom; return 0; };
  await assert.rejects(scoreSamples(fn, samples(6), { concurrency: 2, ...inProcess }), (e: unknown) => {
    assert.ok(e instanceof RewardError);
    assert.equal(e.sampleIndex, 3);
    assert.equal(e.sample.prompt, 'q3');
    assert.equal(e.cause, boom);
    assert.match(e.message, /sample 3/);
    assert.match(e.message, /boom/);
    return true;
  });
});

test('a fn that never resolves raises RewardError after timeoutMs', async () => {
  const fn = (s: Sample): Promise<number> => (s.level === 1 ? new Promise<number>(() => {}) : Promise.resolve(1));
  const t0 = performance.now();
  await assert.rejects(scoreSamples(fn, samples(3), { timeoutMs: 50 }), (e: unknown) => {
    assert.ok(e instanceof RewardError);
    assert.equal(e.sampleIndex, 1);
    assert.match(e.message, /timed out after 50 ms/);
    return true;
  });
  const ms = performance.now() - t0;
  assert.ok(ms >= 45 && ms < 2000, `took ${ms} ms`);
});

test('a batch fn that never resolves times out too', async () => {
  await assert.rejects(
    scoreSamples({ batch: () => new Promise<number[]>(() => {}) }, samples(2), { timeoutMs: 30 }),
    (e: unknown) => e instanceof RewardError && /timed out/.test(e.message),
  );
});

test('NaN, infinity and non-numbers raise RewardError (never a silent 0)', async () => {
  for (const bad of [NaN, Infinity, undefined, '1', true]) {
    const fn = ((s: Sample) => (s.level === 2 ? bad : 1)) as (s: Sample) => number;
    await assert.rejects(scoreSamples(fn, samples(4), inProcess), (e: unknown) => {
      assert.ok(e instanceof RewardError, String(bad));
      assert.equal(e.sampleIndex, 2);
      return true;
    });
  }
  await assert.rejects(scoreSamples({ batch: (ss) => ss.map((_, i) => (i === 1 ? NaN : 0)) }, samples(3)),
    (e: unknown) => e instanceof RewardError && e.sampleIndex === 1);
});

test('a batch fn returning the wrong number of values is an error', async () => {
  await assert.rejects(scoreSamples({ batch: () => [1] }, samples(3)), (e: unknown) => e instanceof RewardError && /1 values/.test(e.message));
});

test('mathReward rejects a missing ground truth loudly', async () => {
  const bad = { ...samples(1)[0]!, groundTruth: undefined as unknown as string };
  await assert.rejects(scoreSamples(mathReward, [bad]), (e: unknown) => e instanceof RewardError && /groundTruth/.test(e.message));
});

test('argument checks and the empty case', async () => {
  assert.deepEqual(await scoreSamples(() => 1, []), []);
  await assert.rejects(scoreSamples(() => 1, samples(1), { concurrency: 0 }), /concurrency/);
  await assert.rejects(scoreSamples(() => 1, samples(1), { timeoutMs: -1 }), /timeoutMs/);
  await assert.rejects(scoreSamples({} as never, samples(1)), /batch function/);
});
