// Overlapping generation with training (issue 14): iteration time of the main job with one rollout worker,
// asyncRollouts maxStaleness 0 (on-policy: the worker generates, then the head trains) against maxStaleness 1
// (the worker generates iteration i+1 while the head trains on iteration i). The head and the worker are each
// pinned to their own core with taskset, standing in for two machines; without pinning they share both cores.
//
//   npm run bench -- async-overlap [--iterations 8] [--staleness 0,1] [--config data/mini/train-config.json] [--no-pin] [--backend B]
//   npm run bench -- async-overlap --curve      the config's whole run (its iterations, its eval every N) per staleness:
//                                               the learning curve (eval accuracy by iteration) besides the times
//
// Each staleness runs the same config and seed from the same base model in turn, in this one process (so the
// ratio is side by side); the first iteration (worker start, first weights) is left out of the median.
// Writes bench/results/async-overlap-<date>.json. The machine is shared: the load average is recorded.

import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { selectBackend } from '../sdk/engine/backend.ts';
import { readRunConfig, trainerFromRunConfig } from '../sdk/run/run-config.ts';
import { METRIC } from '../sdk/ppo/metric-names.ts';
import type { MetricsRow } from '../sdk/ppo/metrics-log.ts';
import type { Trainer } from '../sdk/ppo/trainer.ts';
import { Signer } from '../sdk/session/wire.ts';
import { WorkerPool } from '../sdk/session/workers/worker-pool.ts';
import { WorkerEngine } from '../sdk/session/workers/worker-engine.ts';
import { writeFileAtomic } from '../sdk/util/atomic-write.ts';
import { median } from './comparison.ts';

const { values: args } = parseArgs({
  options: {
    iterations: { type: 'string' },
    curve: { type: 'boolean', default: false },
    staleness: { type: 'string', default: '0,1' },
    config: { type: 'string', default: 'data/mini/train-config.json' },
    'no-pin': { type: 'boolean', default: false },
    backend: { type: 'string' },
    out: { type: 'string' }, // default bench/results/async-overlap[-curve]-<date>.json
  },
});
const count = (name: string, v: string | undefined, min: number) => {
  const x = Number(v);
  if (!(Number.isInteger(x) && x >= min)) throw new Error(`bench/async-overlap: --${name} must be an integer >= ${min}, got ${v}`);
  return x;
};
const curve = args.curve!;
const stalenesses = args.staleness!.split(',').map((s) => count('staleness', s.trim(), 0));
const pin = !args['no-pin'] && cpus().length >= 2;
const load = () => loadavg().map((x) => Number(x.toFixed(2)));

/** Pins every thread of process `pid` to `core` (taskset -a: onnxruntime's threads too). */
function pinTo(pid: number, core: number): void {
  const r = spawnSync('taskset', ['-a', '-p', '-c', String(core), String(pid)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench/async-overlap: taskset -a -p -c ${core} ${pid} failed (${r.error?.message ?? r.stderr.trim()}); run with --no-pin`);
}

const backend = await selectBackend(args.backend);
const base = await readRunConfig(args.config!);
const iterations = count('iterations', args.iterations ?? (curve ? String(base.iterations ?? 30) : '8'), 2);
if (pin) pinTo(process.pid, 0);

interface Case {
  maxStaleness: number; iterationSeconds: number[]; medianIterationSeconds: number; generateSeconds: number[];
  rewardMean: number[]; evalAccuracy: (number | null)[]; weightVersion: (number | null)[]; prefetched: (number | null)[]; loadBefore: number[]; loadAfter: number[];
}

async function runCase(k: number): Promise<Case> {
  const pool = await WorkerPool.start({ size: 1, key: Signer.newKey(), backend: backend.name, maxMessageSize: 1 << 26, log: () => {} });
  try {
    if (pin) for (const w of pool.infos()) if (w.pid) pinTo(w.pid, 1);
    const rc = { ...base, iterations, trainer: { ...base.trainer, ...(curve ? {} : { evalEvery: 0 }), checkpointEvery: 0, saveRollouts: false, asyncRollouts: { maxStaleness: k } } };
    let trainer: Trainer | null = null;
    trainer = await trainerFromRunConfig(rc, {
      configSource: args.config!,
      engine: (policy, tokenizer) => new WorkerEngine(pool, `overlap-${k}`, { modelDir: rc.model, tokenizerPath: rc.model }, policy, tokenizer, () => trainer?.policyOptimizer.step ?? 0),
    });
    const loadBefore = load();
    const c: Case = { maxStaleness: k, iterationSeconds: [], medianIterationSeconds: 0, generateSeconds: [], rewardMean: [], evalAccuracy: [], weightVersion: [], prefetched: [], loadBefore, loadAfter: [] };
    const record = (row: MetricsRow, seconds: number) => {
      c.iterationSeconds.push(Number(seconds.toFixed(3)));
      c.generateSeconds.push(Number((row[METRIC.generateTime] as number).toFixed(3)));
      c.rewardMean.push(Number((row['reward/mean'] as number).toFixed(4)));
      c.evalAccuracy.push(typeof row['eval/accuracy'] === 'number' ? row['eval/accuracy'] : null);
      c.weightVersion.push((row[METRIC.rolloutWeightVersion] as number | undefined) ?? null);
      c.prefetched.push((row[METRIC.rolloutPrefetched] as number | undefined) ?? null);
      process.stderr.write(`[async-overlap] maxStaleness ${k} iteration ${c.iterationSeconds.length}: ${c.iterationSeconds.at(-1)} s ` +
        `(generate ${c.generateSeconds.at(-1)} s)${c.evalAccuracy.at(-1) === null ? '' : ` eval ${c.evalAccuracy.at(-1)}`}\n`);
    };
    let t = performance.now();
    if (curve) {
      // the run loop: evaluations as configured (the base model's at iteration 0 is not timed as an iteration)
      await trainer.run({ iterations, log: null, onIteration: (row) => { record(row, (performance.now() - t) / 1000); t = performance.now(); } });
    } else {
      for (let i = 1; i <= iterations; i++) {
        t = performance.now();
        const row = await trainer.step({ prefetchNext: i < iterations });
        record(row, (performance.now() - t) / 1000);
      }
      await trainer.discardPrefetch();
    }
    trainer.dispose();
    c.medianIterationSeconds = median(c.iterationSeconds.slice(1));
    c.loadAfter = load();
    return c;
  } finally {
    await pool.close();
  }
}

const cases: Case[] = [];
for (const k of stalenesses) cases.push(await runCase(k));
const on = cases.find((c) => c.maxStaleness === 0);
const result = {
  bench: 'async-overlap',
  date: new Date().toISOString(),
  backend: backend.name,
  config: args.config,
  iterations,
  curve,
  pinned: pin ? 'head on core 0, the worker on core 1 (taskset -a)' : 'not pinned',
  machine: { cores: cpus().length, node: process.version },
  method: 'the same run config and seed per maxStaleness, one rollout worker process (WorkerEngine), eval and checkpoints off; median of iterations 2..N of wall time per Trainer.step',
  cases,
  ratios: on ? Object.fromEntries(cases.filter((c) => c !== on).map((c) => [`maxStaleness ${c.maxStaleness} / 0`, Number((c.medianIterationSeconds / on.medianIterationSeconds).toFixed(3))])) : {},
};
const out = args.out ?? join(import.meta.dirname, 'results', `async-overlap${curve ? '-curve' : ''}-${result.date.slice(0, 10)}.json`);
await writeFileAtomic(out, `${JSON.stringify(result, null, 2)}\n`);
for (const c of cases) process.stdout.write(`maxStaleness ${c.maxStaleness}: ${c.medianIterationSeconds} s per iteration (median of ${iterations - 1})\n`);
process.stdout.write(`${JSON.stringify(result.ratios)}\nwrote ${out}\n`);
