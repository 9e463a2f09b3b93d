// A run described by one JSON file (what `orz train <config>` reads). Paths are relative to the
// file's own directory, so a config travels with its data.
//
//   { "name": "mini", "model": "base", "trainData": "train.json", "evalData": "eval.jsonl",
//     "iterations": 30, "reward": "math", "trainer": { ...TrainerConfig fields } }

import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { modelReference } from '../hub/resolve.ts';
import { loadModel } from '../model/index.ts';
import { loadTokenizer } from '../tokenizer/index.ts';
import { readDataset } from '../data/index.ts';
import { mathReward, type RewardFn } from '../reward/index.ts';
import type { TrainerConfigInput } from './config.ts';
import { Trainer } from './trainer.ts';

export interface RunConfig {
  name: string;
  /** Directory with config.json, model.safetensors and tokenizer.json, or a hub id (owner/name[@revision]). */
  model: string;
  trainData: string;
  evalData?: string;
  /** Eval records to use (default all). */
  evalLimit?: number;
  iterations: number;
  /** Built-in reward by name. */
  reward?: 'math';
  /** Tensor backend: "auto" or a backend name. */
  backend?: string;
  trainer?: TrainerConfigInput;
}

const KNOWN = new Set(['name', 'model', 'trainData', 'evalData', 'evalLimit', 'iterations', 'reward', 'backend', 'trainer', '$comment']);

export async function readRunConfig(path: string): Promise<RunConfig> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `invalid JSON: ${(e as Error).message}`}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${path}: expected a JSON object`);
  const c = json as Record<string, unknown>;
  for (const k of Object.keys(c)) if (!KNOWN.has(k)) throw new Error(`${path}: unknown field "${k}"`);
  const str = (k: string, required: boolean) => {
    if (c[k] === undefined && !required) return undefined;
    if (typeof c[k] !== 'string' || c[k] === '') throw new Error(`${path}: "${k}" must be a non-empty string`);
    return c[k] as string;
  };
  const base = dirname(resolve(path));
  const rel = (p: string | undefined) => (p === undefined ? undefined : resolve(base, p));
  const iterations = c['iterations'];
  if (!(Number.isInteger(iterations) && (iterations as number) > 0)) throw new Error(`${path}: "iterations" must be a positive integer`);
  if (c['reward'] !== undefined && c['reward'] !== 'math') throw new Error(`${path}: "reward" must be "math" (custom rewards are set from code)`);
  return {
    name: str('name', true)!,
    model: modelReference(base, str('model', true)!), // a directory beside the config, or a hub id
    trainData: rel(str('trainData', true))!,
    evalData: rel(str('evalData', false)),
    evalLimit: c['evalLimit'] as number | undefined,
    iterations: iterations as number,
    reward: 'math',
    backend: str('backend', false),
    trainer: (c['trainer'] ?? {}) as TrainerConfigInput,
  };
}

/** Builds a Trainer (fresh, at iteration 0) for a run config. */
export async function trainerFromRunConfig(rc: RunConfig, opts: { reward?: RewardFn; configSource?: string } = {}): Promise<Trainer> {
  const [policy, tokenizer, dataset, evalDataset] = await Promise.all([
    loadModel(rc.model),
    loadTokenizer(rc.model),
    readDataset(rc.trainData),
    rc.evalData ? readDataset(rc.evalData) : Promise.resolve([]),
  ]);
  return new Trainer({
    policy, tokenizer, dataset,
    evalDataset: rc.evalLimit ? evalDataset.slice(0, rc.evalLimit) : evalDataset,
    reward: opts.reward ?? mathReward,
    config: rc.trainer,
  });
}
