// Trainer configuration. Defaults are Open-Reasoner-Zero's PPO recipe; comments give ORZ's value
// where the embedded tiny default departs from it for a 2-core CPU.

import type { KLEstimator } from './losses.ts';

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
}

export const ORZ_DEFAULTS: TrainerConfig = {
  seed: 42,
  promptsPerIteration: 128,
  samplesPerPrompt: 64,
  template: 'orz',
  generation: { temperature: 1, topP: 1, topK: 0, maxNewTokens: 8000, stop: ['</answer>', 'User:', 'Human:', 'Assistant:'] },
  advantageEstimator: 'gae',
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
  evalEvery: 5,
  evalGeneration: { temperature: 0, maxNewTokens: 8000, n: 1 },
  checkpointEvery: 10,
  checkpointOverhead: 0.2,
  checkpointMinutes: 10,
  keepCheckpoints: 1,
  saveRollouts: true,
};

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] };
export type TrainerConfigInput = DeepPartial<TrainerConfig>;

/** Fills defaults and validates; errors name the offending field (and `source`, e.g. the config file). */
export function resolveTrainerConfig(input: TrainerConfigInput = {}, source = 'trainer config'): TrainerConfig {
  const known = new Set(Object.keys(ORZ_DEFAULTS));
  for (const k of Object.keys(input)) if (!known.has(k)) throw new Error(`${source}: unknown field "${k}"`);
  const c: TrainerConfig = {
    ...ORZ_DEFAULTS,
    ...(input as Partial<TrainerConfig>),
    generation: { ...ORZ_DEFAULTS.generation, ...input.generation } as TrainerConfig['generation'],
    kl: { ...ORZ_DEFAULTS.kl, ...input.kl } as TrainerConfig['kl'],
    evalGeneration: { ...ORZ_DEFAULTS.evalGeneration, ...input.evalGeneration } as TrainerConfig['evalGeneration'],
  };
  const fail = (field: string, why: string): never => { throw new Error(`${source}: ${field} ${why}`); };
  const posInt = (field: string, v: number) => { if (!(Number.isInteger(v) && v > 0)) fail(field, `must be a positive integer, got ${v}`); };
  const nonNegInt = (field: string, v: number) => { if (!(Number.isInteger(v) && v >= 0)) fail(field, `must be an integer >= 0, got ${v}`); };
  const unit = (field: string, v: number) => { if (!(v >= 0 && v <= 1)) fail(field, `must be in [0, 1], got ${v}`); };
  if (!Number.isInteger(c.seed)) fail('seed', `must be an integer, got ${c.seed}`);
  posInt('promptsPerIteration', c.promptsPerIteration);
  posInt('samplesPerPrompt', c.samplesPerPrompt);
  posInt('generation.maxNewTokens', c.generation.maxNewTokens);
  posInt('evalGeneration.maxNewTokens', c.evalGeneration.maxNewTokens);
  posInt('evalGeneration.n', c.evalGeneration.n);
  posInt('policyUpdateSteps', c.policyUpdateSteps);
  posInt('criticUpdateSteps', c.criticUpdateSteps);
  nonNegInt('criticWarmupIterations', c.criticWarmupIterations);
  nonNegInt('warmupSteps', c.warmupSteps);
  nonNegInt('microBatchRows', c.microBatchRows);
  nonNegInt('evalEvery', c.evalEvery);
  nonNegInt('checkpointEvery', c.checkpointEvery);
  if (!(c.checkpointOverhead >= 0 && Number.isFinite(c.checkpointOverhead))) fail('checkpointOverhead', `must be a finite number >= 0, got ${c.checkpointOverhead}`);
  if (!(c.checkpointMinutes >= 0 && Number.isFinite(c.checkpointMinutes))) fail('checkpointMinutes', `must be a finite number >= 0, got ${c.checkpointMinutes}`);
  posInt('keepCheckpoints', c.keepCheckpoints);
  unit('gamma', c.gamma);
  unit('lambda', c.lambda);
  if (!(c.clipRatio > 0)) fail('clipRatio', `must be > 0, got ${c.clipRatio}`);
  if (!(c.valueClip > 0)) fail('valueClip', `must be > 0, got ${c.valueClip}`);
  if (!(c.policyLr > 0)) fail('policyLr', `must be > 0, got ${c.policyLr}`);
  if (!(c.criticLr > 0)) fail('criticLr', `must be > 0, got ${c.criticLr}`);
  if (c.advantageEstimator !== 'gae' && c.advantageEstimator !== 'grpo') fail('advantageEstimator', `must be "gae" or "grpo", got ${JSON.stringify(c.advantageEstimator)}`);
  if (c.kl.estimator !== 'k1' && c.kl.estimator !== 'k3') fail('kl.estimator', `must be "k1" or "k3"`);
  if (c.kl.where !== 'reward' && c.kl.where !== 'loss') fail('kl.where', `must be "reward" or "loss"`);
  if (!(c.kl.coef >= 0)) fail('kl.coef', `must be >= 0`);
  if (c.advantageEstimator === 'grpo' && c.samplesPerPrompt < 2) fail('samplesPerPrompt', 'must be >= 2 for GRPO (it compares samples of one prompt)');
  if (!(c.generation.temperature >= 0)) fail('generation.temperature', 'must be >= 0');
  return c;
}
