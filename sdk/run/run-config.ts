// A run described by one JSON file (what `orz train <config>` reads). Paths are relative to the
// file's own directory, so a config travels with its data.
//
//   { "name": "mini", "model": "base", "trainData": "train.json", "evalData": "eval.jsonl",
//     "iterations": 30, "reward": "math", "trainer": { ...TrainerConfig fields },
//     "evalSets": [{ "path": "math500.json" }, { "path": "gpqa_diamond.json", "limit": 50 }] }

import { dirname, resolve } from 'node:path';
import { modelReference } from '../hub/resolve.ts';
import { loadModel, type TransformerLM } from '../model/index.ts';
import { loadTokenizer, type Tokenizer } from '../tokenizer/index.ts';
import type { RolloutEngine } from '../rollout/engine.ts';
import { readDataset, type ProblemRecord } from '../data/index.ts';
import { mathReward, type RewardFn } from '../reward/index.ts';
import { resolveTrainerConfig, TRAINER_CONFIG_SCHEMA, type TrainerConfig, type TrainerConfigInput } from '../ppo/config.ts';
import { assertValid, deepPartial, number, object, oneOf, string } from '../util/schema.ts';
import { readJsonObject } from '../util/json-file.ts';
import { Trainer } from '../ppo/trainer.ts';
import { attachEvalSets, checkEvalSets, EVAL_SET_SCHEMA, loadEvalSets, type EvalSetConfig, type EvalSets } from './eval-sets.ts';

export interface RunConfig {
  name: string;
  /** Directory with config.json, model.safetensors and tokenizer.json, or a hub id (owner/name[@revision]). */
  model: string;
  trainData: string;
  evalData?: string;
  /** Eval records to use (default all). */
  evalLimit?: number;
  /**
   * Benchmarks evaluated with the harness whenever the run evaluates (every `trainer.evalEvery` iterations),
   * sampled with `trainer.evalGeneration`; each logged as eval/<name>/... (mean@n, pass@k, lengths, by level).
   */
  evalSets?: EvalSetConfig[];
  iterations: number;
  /** Built-in reward by name. */
  reward?: 'math';
  /** Tensor backend: "auto" or a backend name. */
  backend?: string;
  trainer?: TrainerConfigInput;
}

const RUN_CONFIG_SCHEMA = object<RunConfig>({
  name: string({ nonEmpty: true }),
  model: string({ nonEmpty: true }),
  trainData: string({ nonEmpty: true }),
  evalData: string({ nonEmpty: true }),
  evalLimit: number({ int: true, min: 1 }),
  evalSets: EVAL_SET_SCHEMA,
  iterations: number({ int: true, min: 1 }),
  reward: oneOf(['math'], { hint: 'custom rewards are set from code' }),
  backend: string({ nonEmpty: true }),
  trainer: deepPartial(TRAINER_CONFIG_SCHEMA),
}, { required: ['name', 'model', 'trainData', 'iterations'] });

/**
 * Checks a run config (as read from `source`, or built in code) and its trainer fields, so that every
 * mistake is reported, naming the file and the field path, before any model or dataset loads.
 */
export function checkRunConfig(rc: unknown, source: string): TrainerConfig {
  assertValid(RUN_CONFIG_SCHEMA, rc, source);
  const config = resolveTrainerConfig((rc as RunConfig).trainer, source, 'trainer');
  checkEvalSets((rc as RunConfig).evalSets, config, source);
  return config;
}

export async function readRunConfig(path: string): Promise<RunConfig> {
  const json = await readJsonObject(path);
  checkRunConfig(json, path);
  const c = json as unknown as RunConfig;
  const base = dirname(resolve(path));
  const rel = (p: string | undefined) => (p === undefined ? undefined : resolve(base, p));
  return {
    name: c.name,
    model: modelReference(base, c.model), // a directory beside the config, or a hub id
    trainData: rel(c.trainData)!,
    evalData: rel(c.evalData),
    evalLimit: c.evalLimit,
    ...(c.evalSets ? { evalSets: c.evalSets.map((set) => ({ ...set, path: rel(set.path)! })) } : {}),
    iterations: c.iterations,
    reward: 'math',
    backend: c.backend,
    trainer: c.trainer ?? {},
  };
}

/**
 * Builds a Trainer (fresh, at iteration 0) for a run config. The config is checked first (errors start
 * with `configSource`, the file it came from), so a mistake never waits for the model to load.
 */
export async function trainerFromRunConfig(
  rc: RunConfig,
  opts: {
    reward?: RewardFn; configSource?: string; engine?: (policy: TransformerLM, tokenizer: Tokenizer) => RolloutEngine;
    /** The tokenizer and datasets already read (the pre-flight's, sdk/run/preflight-run.ts), the eval set already cut to evalLimit. */
    inputs?: { tokenizer: Tokenizer; dataset: ProblemRecord[]; evalDataset: ProblemRecord[]; evalSets?: EvalSets };
  } = {},
): Promise<Trainer> {
  const source = opts.configSource ?? 'run config';
  const config = checkRunConfig(rc, source);
  const given = opts.inputs;
  const [policy, tokenizer, dataset, evalDataset] = await Promise.all([
    loadModel(rc.model),
    given?.tokenizer ?? loadTokenizer(rc.model),
    given?.dataset ?? readDataset(rc.trainData),
    given?.evalDataset ?? (rc.evalData ? readDataset(rc.evalData) : Promise.resolve([])),
  ]);
  // after the model and the data, so a missing train file is named first
  const evalSets = given?.evalSets ?? await loadEvalSets(rc.evalSets ?? [], config, source);
  const trainer = new Trainer({
    policy, tokenizer, dataset,
    evalDataset: rc.evalLimit === undefined || given ? evalDataset : evalDataset.slice(0, rc.evalLimit),
    reward: opts.reward ?? mathReward,
    config,
    engine: opts.engine?.(policy, tokenizer),
  });
  attachEvalSets(trainer, evalSets);
  return trainer;
}
