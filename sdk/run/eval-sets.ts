// Periodic evaluation on benchmarks during a run: a run config's `evalSets` (MATH500, AIME24, GPQA-Diamond, ...)
// evaluated with the harness (sdk/eval) on the trainer's engine every `evalEvery` iterations, each benchmark
// logged as eval/<name>/... columns (mean@n, pass@k, lengths, truncation, by level).
//
// The sets belong to a trainer: trainerFromRunConfig attaches them, and the loop reads them from the trainer
// it runs, so `orz train`, trainer.run() and a session's run of a run-config trainer all evaluate them.

import { basename, extname } from 'node:path';
import { benchmarkFromFile, checkBenchmarkName, evalMetricsRow, evaluate, type EvalBenchmark, type EvalSampling, type RewardName } from '../eval/index.ts';
import { deriveSeed, type Trainer } from '../ppo/trainer.ts';
import type { TrainerConfig } from '../ppo/config.ts';
import type { MetricsRow } from '../ppo/metrics-log.ts';
import { ConfigError, number, object, oneOf, refine, string, arrayOf } from '../util/schema.ts';

/** One benchmark of a run config's `evalSets`. */
export interface EvalSetConfig {
  /** Names its columns, eval/<name>/... (default: the file name without its extension, "math500"). */
  name?: string;
  /** A data file in ORZ's eval format (or any format readDataset reads), relative to the run config. */
  path: string;
  /** Default: 'gpqa' (multiple choice) when the records carry `choices`, else 'math'. */
  reward?: RewardName;
  /** Evaluate the first `limit` records (default all). */
  limit?: number;
}

const NAME_RULE = "a name of letters, digits, '_', '-' or '.'";

export const EVAL_SET_SCHEMA = arrayOf(object<EvalSetConfig>({
  name: refine(string({ nonEmpty: true }), NAME_RULE, (n) => /^[A-Za-z0-9_.-]+$/.test(n)),
  path: string({ nonEmpty: true }),
  reward: oneOf(['math', 'math-fixed', 'gpqa'] as const),
  limit: number({ int: true, min: 1 }),
}, { required: ['path'] }), 'an array of eval sets ({ "path": ..., "name"?, "reward"?, "limit"? })');

/** The name a set's columns get: its own, or its file's. */
export function evalSetName(set: EvalSetConfig): string {
  return set.name ?? basename(set.path, extname(set.path));
}

/**
 * What the schema cannot see: two sets with one name (their columns would mix), a file name that is not a valid
 * benchmark name, and sampling the harness refuses (n > 1 samples at temperature 0 are all the same).
 */
export function checkEvalSets(sets: EvalSetConfig[] | undefined, config: TrainerConfig, source: string): void {
  if (!sets?.length) return;
  const issues: string[] = [];
  const firstOf = new Map<string, number>();
  sets.forEach((s, i) => {
    const name = evalSetName(s);
    try { checkBenchmarkName(name); } catch { issues.push(`evalSets[${i}]: the file name ${JSON.stringify(name)} is not ${NAME_RULE}; give evalSets[${i}].name`); }
    const j = firstOf.get(name);
    if (j === undefined) firstOf.set(name, i);
    else issues.push(`evalSets[${i}] and evalSets[${j}] are both named ${JSON.stringify(name)} (columns eval/${name}/...); give one of them another name`);
  });
  const g = config.evalGeneration;
  if (g.temperature === 0 && g.n > 1) {
    issues.push(`trainer.evalGeneration.n is ${g.n} at temperature 0: the eval sets' ${g.n} samples per question would all be the same; use n 1 or a temperature > 0`);
  }
  if (issues.length) throw new ConfigError(source, issues);
}

/** A trainer's eval sets, loaded: the benchmarks with their records. */
export interface EvalSets { benchmarks: EvalBenchmark[] }

/** Reads every set's file (in order, so a missing file is named before anything else is read). */
export async function loadEvalSets(sets: EvalSetConfig[], config: TrainerConfig, source: string): Promise<EvalSets> {
  const benchmarks: EvalBenchmark[] = [];
  for (const [i, s] of sets.entries()) {
    const b = await benchmarkFromFile(s.path, { name: evalSetName(s), template: config.template });
    if (s.reward === 'gpqa' && b.reward !== 'gpqa') {
      throw new ConfigError(source, [`evalSets[${i}].reward is "gpqa" but the records of ${s.path} have no "choices"`]);
    }
    benchmarks.push({ ...b, reward: s.reward ?? b.reward, records: b.records.slice(0, s.limit ?? b.records.length) });
  }
  return { benchmarks };
}

const attached = new WeakMap<Trainer, EvalSets>();

/** Makes the run loop evaluate `sets` on this trainer whenever it evaluates (an empty list detaches them). */
export function attachEvalSets(trainer: Trainer, sets: EvalSets): void {
  if (sets.benchmarks.length) attached.set(trainer, sets);
  else attached.delete(trainer);
}

export function evalSetsOf(trainer: Trainer): EvalSets | undefined {
  return attached.get(trainer);
}

/**
 * The sampling of periodic eval: the trainer's evalGeneration (n, temperature, maxNewTokens) with its generation's
 * topP and stop strings, and a seed derived from the run seed, the same at every evaluation, so two evaluations
 * differ only by the weights.
 */
export function evalSetSampling(config: TrainerConfig): EvalSampling {
  const g = config.evalGeneration;
  return {
    n: g.n, temperature: g.temperature, maxNewTokens: g.maxNewTokens,
    topP: config.generation.topP, stop: config.generation.stop, seed: deriveSeed(config.seed, 6),
  };
}

/** The eval/<name>/... columns of one evaluation of the trainer's eval sets on its engine. */
export async function evalSetsRow(trainer: Trainer, sets: EvalSets, signal?: AbortSignal): Promise<MetricsRow> {
  const report = await evaluate({
    engine: trainer.engine, benchmarks: sets.benchmarks, sampling: evalSetSampling(trainer.config),
    overlong: 'shorten', ...(signal ? { signal } : {}),
  });
  return evalMetricsRow(report);
}
