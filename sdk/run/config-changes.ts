// What a resume may change in a run's config. A run directory keeps the config it was started with
// (config.json, never rewritten once the run holds iterations) and every change a resume made to it, one JSON
// line per field in config-changes.jsonl:
//
//   {"field":"trainer.policyLr","old":0.0002,"new":0.0001,"fromIteration":6,"guarded":true,"at":"2026-..."}
//
// so config.json plus the changes that took effect by an iteration is the config that produced it. Fields that
// change the algorithm or the data order make the iterations after the resume differ from the ones a single
// run would have produced: a resume refuses them unless told (`--allow-config-change`, allowConfigChange).
// Everything else (how long, how often to evaluate or checkpoint, what is logged) changes with a note.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ORZ_DEFAULTS, type TrainerConfig } from '../ppo/config.ts';
import type { RunConfig } from './run-config.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { readJsonObject } from '../util/json-file.ts';

export const RUN_CONFIG_FILE = 'config.json';
export const CONFIG_CHANGES_FILE = 'config-changes.jsonl';

/** 'guarded': changes what the next iterations compute or which prompts they draw; 'free': does not. */
type Kind = 'guarded' | 'free';
/** A kind for every field (the compiler asks for each new one), nested objects field by field or whole. */
type Kinds<T> = { [K in keyof T]-?: Kind | (NonNullable<T[K]> extends readonly unknown[] ? never : NonNullable<T[K]> extends object ? Kinds<NonNullable<T[K]>> : never) };

const TRAINER_FIELDS: Kinds<TrainerConfig> = {
  // the data order: every draw is seeded from (seed, purpose, iteration); the batch shape sets how many prompts
  // an iteration consumes and which samples it groups
  seed: 'guarded',
  promptsPerIteration: 'guarded',
  samplesPerPrompt: 'guarded',
  // what is sampled: the prompt text and the decoding
  template: 'guarded',
  generation: 'guarded',
  // the objective and the optimizer: any change gives other weights from the same rollouts
  advantageEstimator: 'guarded',
  grpoStd: 'guarded', // GRPO's divisor changes the advantages
  gamma: 'guarded',
  lambda: 'guarded',
  normalizeAdvantages: 'guarded',
  clipRatio: 'guarded',
  valueClip: 'guarded',
  policyLr: 'guarded',
  criticLr: 'guarded',
  warmupSteps: 'guarded',
  adamBetas: 'guarded',
  weightDecay: 'guarded',
  gradClip: 'guarded',
  policyUpdateSteps: 'guarded',
  criticUpdateSteps: 'guarded',
  criticWarmupIterations: 'guarded',
  kl: { coef: 'guarded', estimator: 'guarded', where: 'guarded', log: 'free' }, // log: a metric only
  entropyCoef: 'guarded',
  // the same gradient summed in other chunks (memory, not the result)
  microBatchRows: 'free',
  // packed vs padded rows: the same per-sample losses and gradients, summed in another float order
  // (like microBatchRows: memory and speed, not the result)
  packingMaxLen: 'free',
  // measuring, recording and keeping: no effect on the weights
  evalEvery: 'free',
  evalGeneration: 'free',
  checkpointEvery: 'free',
  checkpointOverhead: 'free',
  checkpointMinutes: 'free',
  keepCheckpoints: 'free',
  saveRollouts: 'free',
  // rollouts from weights k updates old: other samples, other ratios
  asyncRollouts: { maxStaleness: 'guarded' },
};

const RUN_FIELDS: Kinds<RunConfig> = {
  name: 'free', // the directory itself
  model: 'guarded', // architecture and tokenizer (the weights come from the checkpoint)
  trainData: 'guarded', // the prompts, and with them the data order
  reward: 'guarded',
  evalData: 'free',
  evalLimit: 'free',
  evalSets: 'free', // what is measured, not what is trained
  iterations: 'free', // how far to go
  backend: 'free', // the same arithmetic on other kernels
  trainer: TRAINER_FIELDS,
};

export interface ConfigChange {
  field: string;
  old: unknown;
  new: unknown;
  guarded: boolean;
}

export interface ConfigChangeRecord extends ConfigChange {
  /** The first iteration computed with the new value. */
  fromIteration: number;
  at: string;
}

function kindOf(path: string[]): Kind {
  let node: unknown = RUN_FIELDS;
  for (const key of path) {
    if (typeof node === 'string') return node as Kind;
    node = (node as Record<string, unknown>)[key];
    if (node === undefined) return 'guarded'; // a field this version does not know: assume it matters
  }
  return typeof node === 'string' ? (node as Kind) : 'guarded';
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The fields whose values differ (leaf by leaf; arrays compare whole), with their kinds. */
export function diffConfigs(old: unknown, now: unknown, path: string[] = []): ConfigChange[] {
  if (isPlainObject(old) && isPlainObject(now)) {
    const keys = [...new Set([...Object.keys(old), ...Object.keys(now)])].filter((k) => k !== '$comment');
    return keys.flatMap((k) => diffConfigs(old[k], now[k], [...path, k]));
  }
  if (JSON.stringify(old) === JSON.stringify(now)) return [];
  return [{ field: path.join('.'), old, new: now, guarded: kindOf(path) === 'guarded' }];
}

/** `old` with every field it lacks taken from `defaults`, recursively into objects both have. */
function withMissingFrom(old: Record<string, unknown>, defaults: object): Record<string, unknown> {
  const out: Record<string, unknown> = { ...old };
  for (const [k, d] of Object.entries(defaults)) {
    if (!(k in out)) out[k] = structuredClone(d);
    else if (isPlainObject(out[k]) && isPlainObject(d)) out[k] = withMissingFrom(out[k] as Record<string, unknown>, d);
  }
  return out;
}

function setPath(target: Record<string, unknown>, field: string, value: unknown): void {
  const keys = field.split('.');
  let node = target;
  for (const k of keys.slice(0, -1)) {
    if (!isPlainObject(node[k])) node[k] = {};
    node = node[k] as Record<string, unknown>;
  }
  if (value === undefined) delete node[keys.at(-1)!];
  else node[keys.at(-1)!] = value;
}

export async function readConfigChanges(runDir: string): Promise<ConfigChangeRecord[]> {
  const path = join(runDir, CONFIG_CHANGES_FILE);
  if (!existsSync(path)) return [];
  const lines = (await readFile(path, 'utf8')).split('\n').filter((l) => l.trim() !== '');
  return lines.map((line, i) => {
    try {
      return JSON.parse(line) as ConfigChangeRecord;
    } catch (e) {
      throw new Error(`${path}:${i + 1}: invalid JSON: ${(e as Error).message}`);
    }
  });
}

/**
 * The config in force for iteration `iteration` of the run in `runDir`: config.json with the recorded changes
 * that took effect by then, in the order they were made; null when the directory has no config.json.
 */
export async function configInForce(runDir: string, iteration: number): Promise<Record<string, unknown> | null> {
  const path = join(runDir, RUN_CONFIG_FILE);
  if (!existsSync(path)) return null;
  const config = structuredClone(await readJsonObject(path, 'run config'));
  for (const c of await readConfigChanges(runDir)) if (c.fromIteration <= iteration) setPath(config, c.field, c.new);
  return config;
}

const show = (v: unknown) => (v === undefined ? '(unset)' : JSON.stringify(v));

export function describeChange(c: ConfigChange): string {
  return `${c.field} ${show(c.old)} -> ${show(c.new)}`;
}

/**
 * Compares the config a resume brings (`now`: the run config's fields, or only `{ trainer }` from the SDK) with
 * the one in force when the run continues at `fromIteration`. Throws, listing every guarded change, unless
 * `allow`; returns the changes (run-level fields `now` does not carry are not compared).
 */
export async function checkResumeConfig(runDir: string, now: Record<string, unknown>, fromIteration: number, allow: boolean, flag: string): Promise<ConfigChange[]> {
  const before = await configInForce(runDir, fromIteration);
  if (!before) return [];
  // A config.json written before a trainer field existed ran with that field's default (a new field's default
  // is the behaviour from before it), so an unset old value compares as the default, not as a change.
  if (isPlainObject(before['trainer'])) before['trainer'] = withMissingFrom(before['trainer'], ORZ_DEFAULTS);
  const compared = Object.fromEntries(Object.keys(now).map((k) => [k, before[k]]));
  const changes = diffConfigs(compared, now);
  const guarded = changes.filter((c) => c.guarded);
  if (guarded.length && !allow) {
    throw new Error(`resume: the config differs from the one ${join(runDir, RUN_CONFIG_FILE)} ran with, in fields that change the ` +
      `algorithm or the data order:\n  ${guarded.map(describeChange).join('\n  ')}\n` +
      `Continue with the new values from iteration ${fromIteration} with ${flag} (recorded in ${CONFIG_CHANGES_FILE}), ` +
      'put the old values back, or start another run');
  }
  return changes;
}

/** Appends `changes` (taking effect at `fromIteration`) to config-changes.jsonl, rewriting it atomically. */
export async function recordConfigChanges(runDir: string, changes: ConfigChange[], fromIteration: number): Promise<void> {
  if (!changes.length) return;
  const path = join(runDir, CONFIG_CHANGES_FILE);
  const before = existsSync(path) ? await readFile(path, 'utf8') : '';
  const at = new Date().toISOString();
  const lines = changes.map((c) => JSON.stringify({ field: c.field, old: c.old, new: c.new, fromIteration, guarded: c.guarded, at } satisfies ConfigChangeRecord));
  await writeFileAtomic(path, `${before}${before && !before.endsWith('\n') ? '\n' : ''}${lines.join('\n')}\n`);
}
