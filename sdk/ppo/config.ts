// Trainer configuration. Defaults are Open-Reasoner-Zero's PPO recipe; comments give ORZ's value
// where the embedded tiny default departs from it for a 2-core CPU.

import type { KLEstimator } from './losses.ts';
import { resolveTemplate } from '../data/template.ts';
import { ORZ_STOP } from '../rollout/engine.ts';
import { assertValid, arrayOf, boolean, ConfigError, deepPartial, describeValue, number, object, oneOf, pair, refine, string, type DeepPartial, type Schema } from '../util/schema.ts';

export interface TrainerConfig {
  seed: number;
  /** Prompts per iteration (ORZ: 128). */
  promptsPerIteration: number;
  /** Samples per prompt (ORZ: 64). */
  samplesPerPrompt: number;
  /** Prompt template: "orz", "mini" or a literal text containing {question}. */
  template: string;
  generation: { temperature: number; topP: number; topK: number; maxNewTokens: number; stop: string[] };
  /** 'gae' = PPO with a critic (ORZ); 'grpo' = group-normalised rewards, no critic. */
  advantageEstimator: 'gae' | 'grpo';
  /** GRPO only: divide by the group's reward std (true, Shao et al.) or by 1 (false: mean-centred only, ORZ issue #75). */
  grpoStd: boolean;
  gamma: number;   // ORZ: 1
  lambda: number;  // ORZ: 1
  /** Whiten advantages over all response tokens of the iteration (ORZ: yes). */
  normalizeAdvantages: boolean;
  clipRatio: number;  // epsilon of the clipped ratio (ORZ: 0.2)
  valueClip: number;  // (ORZ: 0.2)
  policyLr: number;   // ORZ: 1e-6 (7B); a tiny model needs far more
  criticLr: number;   // ORZ: 5e-6
  warmupSteps: number; // linear warmup of both optimizers, in optimizer steps (ORZ: 50)
  adamBetas: [number, number]; // (0.9, 0.95)
  weightDecay: number; // 0
  gradClip: number;    // 1.0
  /** Optimizer steps per iteration: the iteration's samples are split into this many minibatches (ORZ: 1 and 12). */
  policyUpdateSteps: number;
  criticUpdateSteps: number;
  /** Policy updates start after this many iterations of critic-only training (0 = at once). */
  criticWarmupIterations: number;
  /** KL to the frozen initial policy: coefficient 0 = off (ORZ). `where`: as a per-token reward penalty or a loss term. */
  kl: { coef: number; estimator: KLEstimator; where: 'reward' | 'loss'; log: boolean };
  /** Entropy bonus coefficient (0 in ORZ). */
  entropyCoef: number;
  /** Rows per forward/backward chunk inside a minibatch (gradient accumulation); 0 = whole minibatch. */
  microBatchRows: number;
  /**
   * Packed training (ORZ's packing_max_len): each micro-batch's rows laid end to end in sequences of at
   * most this many tokens, every sample with its own positions and attending only within itself, instead
   * of padded to the longest row. 'auto' (default) = the micro-batch's longest row: with a dense [W, W]
   * attention mask per sequence a longer sequence costs more than it saves, so this is never above the
   * padded batch's cost. 0 = padded rows (the layout before packing). A row longer than n packs alone.
   * Changes float summation order only (the same losses and gradients).
   */
  packingMaxLen: number | 'auto';
  /** Evaluate every k iterations (0 = never) and at the start and end of run(). */
  evalEvery: number;
  /** Eval decoding: greedy by default; with temperature > 0, `n` samples per prompt (accuracy = mean over samples). */
  evalGeneration: { temperature: number; maxNewTokens: number; n: number };
  /**
   * Checkpoints of run(), into runDir/checkpoints/iter-N/. Milestones, every `checkpointEvery` iterations
   * (0 = none), are kept forever. Between them run() writes safety checkpoints so that a crash loses at most
   * one iteration: after every iteration while the last checkpoint write took at most `checkpointOverhead`
   * of that iteration's time (0 = never by cost; a large value such as 1000 = after every iteration), and
   * otherwise once `checkpointMinutes` have passed since the last checkpoint (0 = never by time). A fresh
   * run with safety checkpoints on also saves iteration 0 before its first iteration. Safety checkpoints
   * are rolling: after each write only the newest `keepCheckpoints` checkpoints that are not milestones
   * stay (milestones count towards the newest, so a milestone replaces them). The end of run() always
   * leaves a checkpoint of its last iteration.
   */
  checkpointEvery: number;
  checkpointOverhead: number;
  checkpointMinutes: number;
  keepCheckpoints: number;
  /** Rollouts saved per iteration into runs/<name>/rollouts/ (0 = none). */
  saveRollouts: boolean;
  /**
   * Rollouts generated with older weights, so that rollout workers generate iteration i+1 while the head trains
   * on iteration i (sdk/ppo/behaviour-policy.ts). With maxStaleness k >= 1 the rollouts of iteration i come from
   * the weights of version max(0, i-1-k) (version v = after v iterations): PPO becomes off-policy by k updates,
   * its ratios taken against the recorded behaviour log-probs. 0 (ORZ, the default): on-policy, as before.
   */
  asyncRollouts: { maxStaleness: number };
}

export const ORZ_DEFAULTS: TrainerConfig = {
  seed: 42,
  promptsPerIteration: 128,
  samplesPerPrompt: 64,
  template: 'orz',
  generation: { temperature: 1, topP: 1, topK: 0, maxNewTokens: 8000, stop: [...ORZ_STOP] },
  advantageEstimator: 'gae',
  grpoStd: true,
  gamma: 1,
  lambda: 1,
  normalizeAdvantages: true,
  clipRatio: 0.2,
  valueClip: 0.2,
  policyLr: 1e-6,
  criticLr: 5e-6,
  warmupSteps: 50,
  adamBetas: [0.9, 0.95],
  weightDecay: 0,
  gradClip: 1.0,
  policyUpdateSteps: 1,
  criticUpdateSteps: 12,
  criticWarmupIterations: 0,
  kl: { coef: 0, estimator: 'k3', where: 'reward', log: true },
  entropyCoef: 0,
  microBatchRows: 0,
  packingMaxLen: 'auto',
  evalEvery: 5,
  evalGeneration: { temperature: 0, maxNewTokens: 8000, n: 1 },
  checkpointEvery: 10,
  checkpointOverhead: 0.2,
  checkpointMinutes: 10,
  keepCheckpoints: 1,
  saveRollouts: true,
  asyncRollouts: { maxStaleness: 0 },
};

// The check for every field of TrainerConfig; the compiler refuses it unless it lists each field with a
// schema of that field's type. Strings are never read as numbers or booleans.
const positiveInt = () => number({ int: true, min: 1 });
const countFromZero = () => number({ int: true, min: 0 });
const positive = () => number({ min: 0, exclusiveMin: true });
const nonNegative = () => number({ min: 0 });

/** 'auto' or a token count (0 = padded). */
function packingLength(): Schema<number | 'auto'> {
  const expected = '"auto" or a non-negative integer';
  return {
    expected,
    check(v, path, issues) {
      if (v === 'auto' || (typeof v === 'number' && Number.isInteger(v) && v >= 0)) return;
      issues.push(`${path} must be ${expected} (0 = padded rows), got ${describeValue(v)}`);
    },
  };
}

function isTemplate(t: string): boolean {
  try {
    resolveTemplate(t);
    return true;
  } catch {
    return false;
  }
}

export const TRAINER_CONFIG_SCHEMA = object<TrainerConfig>({
  seed: number({ int: true }),
  promptsPerIteration: positiveInt(),
  samplesPerPrompt: positiveInt(),
  template: refine(string({ nonEmpty: true }), '"orz", "mini" or a text containing {question}', isTemplate),
  generation: object<TrainerConfig['generation']>({
    temperature: nonNegative(),
    topP: number({ min: 0, exclusiveMin: true, max: 1 }),
    topK: countFromZero(),
    maxNewTokens: positiveInt(),
    stop: arrayOf(string({ nonEmpty: true }), 'an array of strings'),
  }),
  advantageEstimator: oneOf(['gae', 'grpo']),
  grpoStd: boolean(),
  gamma: number({ min: 0, max: 1 }),
  lambda: number({ min: 0, max: 1 }),
  normalizeAdvantages: boolean(),
  clipRatio: positive(),
  valueClip: positive(),
  policyLr: positive(),
  criticLr: positive(),
  warmupSteps: countFromZero(),
  adamBetas: pair(number({ min: 0, max: 1 }), 'an array of 2 numbers'),
  weightDecay: nonNegative(),
  gradClip: nonNegative(),
  policyUpdateSteps: positiveInt(),
  criticUpdateSteps: positiveInt(),
  criticWarmupIterations: countFromZero(),
  kl: object<TrainerConfig['kl']>({
    coef: nonNegative(),
    estimator: oneOf(['k1', 'k3']),
    where: oneOf(['reward', 'loss']),
    log: boolean(),
  }),
  entropyCoef: nonNegative(),
  microBatchRows: countFromZero(),
  packingMaxLen: packingLength(),
  evalEvery: countFromZero(),
  evalGeneration: object<TrainerConfig['evalGeneration']>({
    temperature: nonNegative(),
    maxNewTokens: positiveInt(),
    n: positiveInt(),
  }),
  checkpointEvery: countFromZero(),
  checkpointOverhead: nonNegative(),
  checkpointMinutes: nonNegative(),
  keepCheckpoints: positiveInt(),
  saveRollouts: boolean(),
  asyncRollouts: object<TrainerConfig['asyncRollouts']>({ maxStaleness: countFromZero() }),
});

export type TrainerConfigInput = DeepPartial<TrainerConfig>;

/** Defaults under the given fields, one level of nesting deep (arrays are replaced whole). */
function withDefaults(input: TrainerConfigInput): TrainerConfig {
  const out: Record<string, unknown> = { ...ORZ_DEFAULTS };
  for (const [k, v] of Object.entries(input)) {
    if (v === undefined || k === '$comment') continue;
    const d = (ORZ_DEFAULTS as unknown as Record<string, unknown>)[k];
    out[k] = typeof d === 'object' && d !== null && !Array.isArray(d) ? { ...d, ...(v as object) } : v;
  }
  return out as unknown as TrainerConfig;
}

/**
 * Checks `input` against TRAINER_CONFIG_SCHEMA and fills the defaults. Errors (a ConfigError listing every
 * problem) start with `source` (e.g. the run file) and name each field by its path, under `path` when the
 * trainer config sits inside a larger file (`trainer` in a run config).
 */
export function resolveTrainerConfig(input: TrainerConfigInput = {}, source = 'trainer config', path = ''): TrainerConfig {
  assertValid(deepPartial(TRAINER_CONFIG_SCHEMA), input, source, path);
  const c = withDefaults(input);
  const at = (k: string) => (path ? `${path}.${k}` : k);
  if (c.advantageEstimator === 'grpo' && c.samplesPerPrompt < 2) {
    throw new ConfigError(source, [`${at('samplesPerPrompt')} must be >= 2 for GRPO (it compares samples of one prompt), got ${c.samplesPerPrompt}`]);
  }
  return c;
}
