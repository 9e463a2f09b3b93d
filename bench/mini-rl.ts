// Benchmark of the main job: PPO from the bundled tiny base model, recording the eval-accuracy
// curve against wall-clock time, and when (if) accuracy first stands 25 points above the base.
//
//   npx tsx bench/mini-rl.ts [--config data/mini/train-config.json] [--iterations N] [--backend B]
// Writes bench/results/mini-rl-<backend>-<date>.json, and the run into <runs-dir>/bench-<name>/ (replaced by each bench run).

import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { selectBackend } from '../sdk/engine/backend.ts';
import { readRunConfig, trainerFromRunConfig } from '../sdk/run/run-config.ts';
import type { MetricsRow } from '../sdk/ppo/metrics-log.ts';

const { values: args } = parseArgs({
  options: {
    config: { type: 'string', default: 'data/mini/train-config.json' },
    iterations: { type: 'string' },
    backend: { type: 'string' },
    'runs-dir': { type: 'string', default: 'runs' },
  },
});

const rc = await readRunConfig(args.config!);
if (args.iterations) rc.iterations = Number(args.iterations);
const backend = await selectBackend(args.backend ?? rc.backend);
const trainer = await trainerFromRunConfig(rc);
const start = performance.now();
const curve: { iteration: number; seconds: number; reward: number | null; responseLength: number | null; evalAccuracy: number | null }[] = [];
let base: number | null = null;
let reachedAt: { iteration: number; seconds: number } | null = null;
const note = (row: MetricsRow) => {
  const seconds = (performance.now() - start) / 1000;
  const acc = typeof row['eval/accuracy'] === 'number' ? row['eval/accuracy'] : null;
  curve.push({
    iteration: row['iteration'] as number, seconds,
    reward: (row['reward/mean'] as number | undefined) ?? null,
    responseLength: (row['response_length/mean'] as number | undefined) ?? null,
    evalAccuracy: acc,
  });
  if (acc !== null && base !== null && !reachedAt && acc >= base + 0.25) reachedAt = { iteration: row['iteration'] as number, seconds };
};
const runDir = join(args['runs-dir']!, `bench-${rc.name}`);
await trainer.run({
  iterations: rc.iterations, runDir, overwrite: true, runConfig: { ...rc, backend: backend.name }, // each bench run starts over
  onIteration: (row) => {
    if (base === null) {
      const r0 = trainer.metrics.rows.find((r) => r['iteration'] === 0);
      base = (r0?.['eval/accuracy'] as number | undefined) ?? null;
      if (r0) curve.unshift({ iteration: 0, seconds: 0, reward: null, responseLength: null, evalAccuracy: base });
    }
    note(row);
  },
});
const total = (performance.now() - start) / 1000;
const evals = curve.filter((c) => c.evalAccuracy !== null);
const result = {
  benchmark: 'mini-rl',
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGB: Math.round(totalmem() / 2 ** 30), node: process.version },
  backend: backend.name,
  config: rc,
  baseEvalAccuracy: base,
  finalEvalAccuracy: evals.at(-1)?.evalAccuracy ?? null,
  bestEvalAccuracy: Math.max(...evals.map((c) => c.evalAccuracy!)),
  gainPoints: base !== null && evals.length ? 100 * (evals.at(-1)!.evalAccuracy! - base) : null,
  reachedBasePlus25: reachedAt,
  totalSeconds: total,
  curve,
};
await mkdir('bench/results', { recursive: true });
const out = join('bench/results', `mini-rl-${backend.name}-${result.date.slice(0, 10)}.json`);
await writeFile(out, JSON.stringify(result, null, 2) + '\n');
process.stderr.write(`base ${base} -> final ${result.finalEvalAccuracy} (best ${result.bestEvalAccuracy}); +25 points reached: ${JSON.stringify(reachedAt)}; ${total.toFixed(0)} s\nwrote ${out}\n`);
