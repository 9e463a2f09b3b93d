// A second reading of the policy-steps ablation (notebooks/04-ablations.ipynb): per policy update instead of per
// iteration.
//
// ORZ's Figure 12 compares 128x64 prompts x samples with one policy step per iteration against 1024x64 with 8 steps,
// per training step (iteration), and finds the on-policy arm ahead on training reward and response length even
// though the other generates 8x the samples per step. The notebook's scaled arm (64x8 / 4 steps against 16x8 / 1)
// reverses that per iteration. Per iteration is the paper's axis, but it gives the multi-step arm k times the
// samples and the updates; this reading puts both arms at the same number u of policy updates, which is also the
// same number of samples consumed (each update of either arm takes one minibatch of 16x8):
//
//   base after u updates  -> its iteration u + 1's reward (sampled from the policy the u updates made)
//   alt  after u updates  -> its iteration u / k + 1's reward (k = alt steps / base steps per iteration)
//
// No new training: it reads a record the notebook wrote (its per-run metrics rows).
//
//   tsx bench/ablation-equal-updates.ts [--record bench/results/ablations-<date>.json] [--base NAME] [--alt NAME] [--out FILE]

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../sdk/util/atomic-write.ts';

type Row = Record<string, unknown>;
interface Run { seed: number; rows: Row[] }

/** Training reward per iteration (1-based; undefined where a row has none), from a run's metrics rows. */
export function rewardByIteration(rows: Row[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const r of rows) {
    const it = r['iteration'];
    const reward = r['reward/mean'];
    if (typeof it === 'number' && typeof reward === 'number' && Number.isFinite(reward)) out.set(it, reward);
  }
  return out;
}

export interface EqualUpdatesPoint { updates: number; baseIteration: number; altIteration: number; base: number; alt: number; diff: number }

/**
 * Reward of both arms after the same number of policy updates u = k, 2k, ... (k = altSteps / baseSteps, an integer),
 * as far as both runs reach; diff = base − alt.
 */
export function equalUpdates(baseRows: Row[], altRows: Row[], baseSteps: number, altSteps: number): EqualUpdatesPoint[] {
  const k = altSteps / baseSteps;
  if (!Number.isInteger(k) || k < 1) throw new Error(`equalUpdates: alt steps per iteration (${altSteps}) must be a whole multiple of base steps (${baseSteps})`);
  const base = rewardByIteration(baseRows);
  const alt = rewardByIteration(altRows);
  const out: EqualUpdatesPoint[] = [];
  for (let j = 1; ; j++) {
    const updates = j * altSteps;                     // u, counted in base-sized policy steps
    const baseIteration = updates / baseSteps + 1;
    const altIteration = j + 1;
    const b = base.get(baseIteration);
    const a = alt.get(altIteration);
    if (b === undefined || a === undefined) break;
    out.push({ updates, baseIteration, altIteration, base: b, alt: a, diff: b - a });
  }
  return out;
}

interface AblationRecord { date: string; parameters: unknown; arms: Record<string, { runs: Run[] }> }

function stepsOf(name: string, runs: Run[]): number {
  const steps = runs[0]?.rows.find((r) => typeof r['policy/steps'] === 'number')?.['policy/steps'];
  if (typeof steps !== 'number' || steps < 1) throw new Error(`arm "${name}": no policy/steps column in its metrics rows`);
  return steps;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      record: { type: 'string', default: join(import.meta.dirname, 'results', 'ablations-2026-12-03.json') },
      base: { type: 'string', default: 'ORZ (PPO, λ=1, no KL)' },
      alt: { type: 'string', default: '64x8 / 4 steps' },
      out: { type: 'string' },
    },
  });
  const recordPath = values.record!;
  let record: AblationRecord;
  try {
    record = JSON.parse(readFileSync(recordPath, 'utf8')) as AblationRecord;
  } catch (e) {
    throw new Error(`${recordPath}: cannot read the ablations record: ${(e as Error).message}`);
  }
  const arm = (name: string): Run[] => {
    const runs = record.arms?.[name]?.runs;
    if (!runs?.length) throw new Error(`${recordPath}: no arm named "${name}" (arms: ${Object.keys(record.arms ?? {}).join(', ')})`);
    return runs;
  };
  const baseRuns = arm(values.base!);
  const altRuns = arm(values.alt!);
  const baseSteps = stepsOf(values.base!, baseRuns);
  const altSteps = stepsOf(values.alt!, altRuns);
  const seeds = baseRuns.map((b) => {
    const a = altRuns.find((r) => r.seed === b.seed);
    if (!a) throw new Error(`${recordPath}: arm "${values.alt}" has no run with seed ${b.seed}`);
    return { seed: b.seed, points: equalUpdates(b.rows, a.rows, baseSteps, altSteps) };
  });
  const updates = [...new Set(seeds.flatMap((s) => s.points.map((p) => p.updates)))].sort((x, y) => x - y);
  const summary = updates.map((u) => {
    const diffs = seeds.map((s) => s.points.find((p) => p.updates === u)?.diff).filter((d): d is number => d !== undefined);
    const verdict = diffs.every((d) => d > 0) ? 'base ahead in every seed' : diffs.every((d) => d < 0) ? 'alt ahead in every seed' : 'mixed';
    return { updates: u, meanDiff: diffs.reduce((x, y) => x + y, 0) / diffs.length, perSeed: diffs, verdict };
  });
  for (const s of summary) {
    console.log(`after ${s.updates} policy updates (${values.base} − ${values.alt}): ${s.meanDiff >= 0 ? '+' : ''}${s.meanDiff.toFixed(3)} [${s.perSeed.map((d) => d.toFixed(3)).join(', ')}] ${s.verdict}`);
  }
  const date = new Date().toISOString().slice(0, 10);
  const out = values.out ?? join(import.meta.dirname, 'results', `ablations-equal-updates-${date}.json`);
  await writeFileAtomic(out, JSON.stringify({
    bench: 'ablation-equal-updates', date: new Date().toISOString(), record: recordPath.replace(/^.*\/bench\//, 'bench/'),
    base: values.base, alt: values.alt, baseStepsPerIteration: baseSteps, altStepsPerIteration: altSteps,
    method: 'reward of each arm after the same number of policy updates (= the same samples consumed): base iteration u+1 against alt iteration u/k+1',
    summary, seeds,
  }, null, 1) + '\n');
  console.log(`wrote ${out}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
