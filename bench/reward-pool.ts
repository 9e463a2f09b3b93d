// Benchmark of reward workers: scoring throughput (samples/s) of the built-in mathReward on the 500 MATH500
// answers, each as a correct and a perturbed response (1000 samples), on the main thread (rewardWorkers: 0)
// against the reward pool, alternating in one run. The pool's start (threads, tsx, importing the checker) is
// timed separately: it is paid once per process, not per scoring call. The threads' own cost (structured clone
// and messages) is timed with a reward that returns 1.
//
//   npm run bench -- reward-pool [--repeats 7] [--workers N] [--data PATH]
// Writes bench/results/reward-pool-<date>.json. Both paths must give the same numbers; the run fails otherwise.

import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { mathReward, RewardPool, scoreSamples } from '../sdk/reward/index.ts';
import { MATH500_PATH, math500Samples } from '../test/support/math500-samples.ts';

const { values: args } = parseArgs({
  options: {
    repeats: { type: 'string', default: '7' },
    workers: { type: 'string', default: String(availableParallelism()) },
    data: { type: 'string', default: MATH500_PATH },
  },
});
const count = (name: string, v: string | undefined) => {
  const x = Number(v);
  if (!(Number.isInteger(x) && x >= 1)) throw new Error(`--${name} must be a positive integer, got ${v}`);
  return x;
};
const repeats = count('repeats', args.repeats);
const workers = count('workers', args.workers);
const samples = math500Samples(args.data);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const load = () => loadavg().map((x) => Number(x.toFixed(2)));

const pool = new RewardPool(workers);
async function timed(run: () => Promise<number[]>): Promise<{ ms: number; rewards: number[] }> {
  const t0 = performance.now();
  const rewards = await run();
  return { ms: performance.now() - t0, rewards };
}
const inProcess = () => scoreSamples(mathReward, samples, { rewardWorkers: 0 });
const pooled = () => scoreSamples(mathReward, samples, { pool });
const pooledTrivial = () => scoreSamples(() => 1, samples, { pool });

const loadBefore = load();
// The first pooled call starts every worker; a second warms the checker's JIT in the workers as the first
// in-process call does on this thread.
const start = await timed(pooled);
await timed(inProcess);
await timed(pooled);
const reference = (await timed(inProcess)).rewards;
const msInProcess: number[] = [];
const msPool: number[] = [];
const msPoolTrivial: number[] = [];
for (let r = 0; r < repeats; r++) {
  const a = await timed(inProcess);
  const b = await timed(pooled);
  if (JSON.stringify(a.rewards) !== JSON.stringify(reference) || JSON.stringify(b.rewards) !== JSON.stringify(reference)) {
    throw new Error(`repeat ${r}: the pool's rewards differ from the in-process ones`);
  }
  msInProcess.push(a.ms);
  msPool.push(b.ms);
  msPoolTrivial.push((await timed(pooledTrivial)).ms);
  process.stderr.write(`repeat ${r + 1}/${repeats}: in-process ${a.ms.toFixed(1)} ms, pool ${b.ms.toFixed(1)} ms\n`);
}
await pool.close();

const perSec = (ms: number) => Math.round(samples.length / (ms / 1000));
const result = {
  bench: 'reward-pool',
  date: new Date().toISOString(),
  cpus: cpus().length,
  workers,
  samples: samples.length,
  correct: reference.reduce((a, b) => a + b, 0),
  repeats,
  loadAvg: { before: loadBefore, after: load() },
  poolStartMs: Number(start.ms.toFixed(1)),
  inProcess: { medianMs: Number(median(msInProcess).toFixed(2)), samplesPerSec: perSec(median(msInProcess)), ms: msInProcess.map((x) => Number(x.toFixed(2))) },
  pool: { medianMs: Number(median(msPool).toFixed(2)), samplesPerSec: perSec(median(msPool)), ms: msPool.map((x) => Number(x.toFixed(2))) },
  /** The pool scoring with `() => 1`: what the threads cost per call without any reward work. */
  poolOverheadMedianMs: Number(median(msPoolTrivial).toFixed(2)),
  /** Pool throughput over in-process throughput (> 1: the pool is faster). */
  ratio: Number((median(msInProcess) / median(msPool)).toFixed(3)),
};
const dir = join(import.meta.dirname, 'results');
await mkdir(dir, { recursive: true });
const file = join(dir, `reward-pool-${result.date.slice(0, 10)}.json`);
await writeFile(file, JSON.stringify(result, null, 2) + '\n');
console.log(`mathReward on ${samples.length} samples: in-process ${result.inProcess.samplesPerSec}/s, pool (${workers} workers) `
  + `${result.pool.samplesPerSec}/s, ratio x${result.ratio}; pool overhead ${result.poolOverheadMedianMs} ms per call; pool start ${result.poolStartMs} ms -> ${file}`);
