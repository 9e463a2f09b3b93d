// The memory pre-flight's estimate: peak resident memory of one PPO iteration (Trainer.step()), from the
// model config, the trainer config and the backend alone, as a list of terms a user can read.
//
// What exists for the whole run (sdk/ppo/trainer.ts): the policy, the critic (a full copy of the policy
// plus a value head, GAE only), the reference (a copy, when kl.coef > 0 or kl.log), and an Adam m and v
// per weight of policy and critic. On top of that the iteration's phases each add their own working set:
//   generate        the KV cache of one generation chunk (sdk/rollout/engine.ts), grown by doubling
//   advantages      no-tape forwards of critic and reference over chunks of microBatchRows (or all rows)
//   critic/policy   a micro-batch's autograd tape, the gradients, the LM head's [tokens, vocab] buffers
// Worst case shapes: every response runs to maxNewTokens, so T = prompt + maxNewTokens - 1 everywhere.
//
// Two terms are the runtime's, not the model's, and were measured (bench/memory-kernels.ts):
//   - onnxruntime keeps each fused kernel's scratch (its memory arena) after the call, so the scratch of
//     every kernel the iteration ran is resident at the end: summed, not maxed;
//   - the onnxruntime backend's buffer pool keeps freed tensor buffers for reuse, up to ORZ_POOL_MB (512).

import { parseModelConfig, type ModelConfig, type ResolvedModelConfig } from '../model/config.ts';
import { architectureOf } from '../model/family.ts';
import { weightSpecs } from '../model/weights.ts';
import type { TrainerConfig } from '../ppo/config.ts';

const F32 = 4;
const MB = 2 ** 20;

/** Resident memory of node + tfjs + onnxruntime with nothing loaded (VmHWM after one small op), measured here. */
export const DEFAULT_BASELINE_BYTES = 215 * MB;
/** The generation chunk: RolloutEngine's default maxBatchRows. */
export const DEFAULT_GENERATION_ROWS = 256;
/** The buffer pool's default cap (ORZ_POOL_MB). */
export const DEFAULT_POOL_BYTES = 512 * MB;

/**
 * onnxruntime's kept scratch per kernel kind, in float buffers per row-token: `attn` x heads x T
 * (the attention scores and their softmax/gradient), `mlp` x intermediate, `hidden` x hidden; and
 * the LM head's [tokens, vocab] buffers. Fitted with bench/memory-kernels.ts.
 */
export const KERNEL_SCRATCH = {
  infer: { attn: 4, mlp: 4, hidden: 10 },
  train: { attn: 11, mlp: 9, hidden: 24 },
  headInfer: 3,
  headTrain: 5,
};

export interface MemoryPlanInput {
  model: ModelConfig;
  trainer: TrainerConfig;
  /** Tensor backend name: the fused kernels (and their kept scratch) are onnxruntime's. */
  backend: string;
  /** Tokens of the longest prompt (template applied). */
  promptTokens: number;
  /** Rows the engine decodes at once (RolloutEngine maxBatchRows). */
  generationRows?: number;
  /** Memory of the process before any model loads; measure it in the caller when you can. */
  baselineBytes?: number;
  /** Buffer-pool cap (ORZ_POOL_MB in bytes); only the onnxruntime backend pools. */
  poolBytes?: number;
  /**
   * The eval set the run decodes every `evalEvery` iterations: its samples (records x evalGeneration.n)
   * and longest prompt in tokens. Absent, or evalEvery 0: no evaluate phase.
   */
  evaluation?: { samples: number; promptTokens: number };
}

export type Phase = 'run' | 'generate' | 'advantages' | 'critic update' | 'policy update' | 'evaluate';

export interface MemoryTerm {
  name: string;
  /** How the bytes follow from the configs, in words. */
  formula: string;
  bytes: number;
  /** 'run': resident the whole iteration; else the phase whose working set it is. */
  phase: Phase;
}

export interface MemoryPlan {
  /** The terms resident at the peak; their bytes add up to peakBytes. */
  terms: MemoryTerm[];
  /** Every term of every phase (the pool's share aside), for a look at phases other than the peak. */
  allTerms: MemoryTerm[];
  /** Resident bytes at each phase's peak (run terms + scratch kept from earlier phases + pool + that phase). */
  phases: { phase: Exclude<Phase, 'run'>; bytes: number }[];
  peakBytes: number;
  peakPhase: Exclude<Phase, 'run'>;
  shapes: { params: number; promptTokens: number; newTokens: number; T: number; generationRows: number; criticRows: number; policyRows: number; advantageRows: number; samples: number };
}

/** The evaluate phase's shapes, or null when the run does not evaluate. */
function evalShapes(input: MemoryPlanInput, maxPositions: number): { rows: number; P: number; newTokens: number } | null {
  const e = input.evaluation;
  if (!e || input.trainer.evalEvery <= 0 || e.samples <= 0) return null;
  const newTokens = Math.min(input.trainer.evalGeneration.maxNewTokens, maxPositions - e.promptTokens);
  if (!(e.promptTokens >= 1) || newTokens < 1) throw new Error(`memoryPlan: an eval prompt of ${e.promptTokens} tokens leaves no room under max_position_embeddings=${maxPositions}`);
  return { rows: Math.min(input.generationRows ?? DEFAULT_GENERATION_ROWS, e.samples), P: e.promptTokens, newTokens };
}

/** Parameters of a model config (every weight weightSpecs lists). */
export function parameterCount(c: ResolvedModelConfig): number {
  return weightSpecs(c).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
}

/** KV-cache capacities the engine allocates for a prefill of P then `steps` one-token decodes (kv-cache.ts reserve()). */
export function kvCapacities(P: number, steps: number): number[] {
  const QUANTUM = 16;
  const caps: number[] = [];
  let cap = 0;
  for (let len = 0, add = P; len < P + steps; len += add, add = 1) {
    if (len + add > cap) {
      cap = Math.ceil(Math.max(len + add, 2 * cap) / QUANTUM) * QUANTUM;
      caps.push(cap);
    }
  }
  return caps;
}

/** Peak KV-cache slots: while it grows, the old and the new buffers both exist. */
export function kvPeakSlots(P: number, steps: number): number {
  const caps = kvCapacities(P, steps);
  let peak = 0;
  caps.forEach((c, i) => { peak = Math.max(peak, c + (i > 0 ? caps[i - 1]! : 0)); });
  return peak;
}

interface Dims { L: number; H: number; I: number; V: number; heads: number; kv: number; d: number; gate: boolean }

function dims(c: ResolvedModelConfig): Dims {
  return { L: c.num_hidden_layers, H: c.hidden_size, I: c.intermediate_size, V: c.vocab_size, heads: c.num_attention_heads, kv: c.num_key_value_heads, d: c.head_dim, gate: architectureOf(c).gated };
}

/** Floats one layer's training forward saves for its backward per row-token: x, q, k, v, o, x1, gate and up. */
function savedPerToken(m: Dims): number {
  return 2 * m.H + 2 * m.heads * m.d + 2 * m.kv * m.d + (m.gate ? 2 : 1) * m.I;
}

export function memoryPlan(input: MemoryPlanInput): MemoryPlan {
  const c = parseModelConfig(input.model, 'memoryPlan model');
  const tc = input.trainer;
  const m = dims(c);
  const fused = input.backend === 'onnxruntime';
  const P = input.promptTokens;
  const newTokens = Math.min(tc.generation.maxNewTokens, c.max_position_embeddings - P);
  if (!(P >= 1) || newTokens < 1) throw new Error(`memoryPlan: a prompt of ${P} tokens leaves no room under max_position_embeddings=${c.max_position_embeddings}`);
  const T = P + newTokens - 1;
  const samples = tc.promptsPerIteration * tc.samplesPerPrompt;
  const gae = tc.advantageEstimator === 'gae';
  const reference = tc.kl.coef > 0 || tc.kl.log;
  const generationRows = Math.min(input.generationRows ?? DEFAULT_GENERATION_ROWS, samples);
  const micro = (steps: number) => Math.min(tc.microBatchRows > 0 ? tc.microBatchRows : Infinity, Math.ceil(samples / steps));
  const microCount = (steps: number) => Math.ceil(Math.ceil(samples / steps) / micro(steps));
  const criticRows = gae ? micro(tc.criticUpdateSteps) : 0;
  const policyRows = micro(tc.policyUpdateSteps);
  const advantageRows = Math.min(tc.microBatchRows > 0 ? tc.microBatchRows : samples, samples);
  const params = parameterCount(c);
  const criticParams = params + m.H;
  const terms: MemoryTerm[] = [];
  const add = (phase: Phase, name: string, formula: string, floats: number, unit = F32) => terms.push({ name, formula, bytes: Math.round(floats * unit), phase });

  // --- the whole run
  terms.push({ name: 'runtime baseline', formula: 'node + tfjs + onnxruntime, nothing loaded (measured)', bytes: input.baselineBytes ?? DEFAULT_BASELINE_BYTES, phase: 'run' });
  add('run', 'policy weights', `${fmtCount(params)} params x 4 B`, params);
  if (gae) add('run', 'critic weights', 'policy params + value head (hidden) x 4 B', criticParams);
  if (reference) add('run', 'reference weights', 'policy params x 4 B (kl.coef > 0 or kl.log)', params);
  // asyncRollouts (sdk/ppo/behaviour-policy.ts): a model holding an older version, and host copies of the k + 1
  // versions later iterations sample from
  const k = tc.asyncRollouts.maxStaleness;
  if (k > 0) add('run', 'behaviour policy', `asyncRollouts maxStaleness ${k}: (k + 2) x policy params x 4 B (a model at an older version, k + 1 host copies)`, (k + 2) * params);
  add('run', 'Adam moments', `m and v per weight of policy${gae ? ' and critic' : ''}: 2 x params x 4 B`, 2 * (params + (gae ? criticParams : 0)));

  // --- generate
  const slots = kvPeakSlots(P, newTokens - 1);
  add('generate', 'KV cache', `${generationRows} rows x ${slots} slots (prompt + maxNewTokens, grown by doubling: old + new) x layers x 2 x kv_heads x head_dim x 4 B`, generationRows * slots * m.L * 2 * m.kv * m.d);
  // the prefill keeps every layer's output until hidden() returns; the composite attention also its scores
  add('generate', 'prefill activations', `${generationRows} rows x prompt x ((layers + 4) x hidden${fused ? '' : ' + heads x prompt x 3'}) x 4 B, plus the mask rows x prompt^2`,
    generationRows * P * ((m.L + 4) * m.H + (fused ? 0 : 3 * m.heads * P) + P));

  // --- evaluate: the eval set decoded with its own maxNewTokens (often longer than training's) and rows
  const ev = evalShapes(input, c.max_position_embeddings);
  if (ev) {
    const evSlots = kvPeakSlots(ev.P, ev.newTokens - 1);
    add('evaluate', 'eval KV cache', `${ev.rows} rows x ${evSlots} slots (eval prompt + evalGeneration.maxNewTokens, grown by doubling) x layers x 2 x kv_heads x head_dim x 4 B`, ev.rows * evSlots * m.L * 2 * m.kv * m.d);
    add('evaluate', 'eval prefill activations', `${ev.rows} rows x eval prompt x ((layers + 4) x hidden${fused ? '' : ' + heads x prompt x 3'}) x 4 B, plus the mask rows x prompt^2`,
      ev.rows * ev.P * ((m.L + 4) * m.H + (fused ? 0 : 3 * m.heads * ev.P) + ev.P));
  }

  // --- advantages: no tape, but hidden() keeps every layer's output until it returns
  const advForwards = (gae ? 1 : 0) + (reference ? 1 : 0);
  if (advForwards > 0) {
    const N = advantageRows * T;
    add('advantages', 'no-tape forward', `${advantageRows} rows x T=${T} x (layers + 4) x hidden x 4 B, plus the mask rows x T x T`, N * (m.L + 4) * m.H + advantageRows * T * T);
  }

  // --- updates
  const trainTerms = (phase: 'critic update' | 'policy update', rows: number, count: number, p: number, lmHead: boolean) => {
    const N = rows * T, M = rows * newTokens;
    add(phase, 'activations (tape)', `${rows} rows x T=${T} x (layers x (${savedPerToken(m)} saved + ${m.H} grad) + 6 x hidden) x 4 B, plus the mask rows x T x T`,
      N * (m.L * (savedPerToken(m) + m.H) + 6 * m.H) + rows * T * T);
    if (!fused) add(phase, 'attention scores (tape)', `${rows} rows x heads x T x T x layers x 3 x 4 B (composite attention keeps them)`, rows * m.heads * T * T * m.L * 3);
    add(phase, 'gradients', `${count > 1 ? '2 x (accumulated + this micro-batch)' : '1 x'} params x 4 B`, (count > 1 ? 2 : 1) * p);
    if (lmHead && !fused) add(phase, 'LM head logits (tape)', `${M} tokens x vocab x 8 buffers x 4 B (logits, log-softmax, exp, one-hot, products)`, M * m.V * 8);
  };
  if (gae) trainTerms('critic update', criticRows, microCount(tc.criticUpdateSteps), criticParams, false);
  trainTerms('policy update', policyRows, microCount(tc.policyUpdateSteps), params, true);

  // --- what onnxruntime keeps after each fused kernel: its scratch (memory arena), resident from that
  // call on. In multiples of the kernels' intermediates: attention [rows, heads, T, T], per token
  // intermediate- and hidden-wide buffers, the LM head's [tokens, vocab]; the multiples are fitted on
  // kernel-only runs at four (rows, T) shapes (bench/memory-kernels.ts), not on the checked runs.
  const scratch: { phase: Exclude<Phase, 'run'>; name: string; formula: string; floats: number }[] = [];
  if (fused) {
    const k = KERNEL_SCRATCH;
    const layerScratch = (rows: number, Tq: number, c: { attn: number; mlp: number; hidden: number }) =>
      rows * Tq * (c.attn * m.heads * Tq + c.mlp * m.I + c.hidden * m.H);
    const words = (rows: number, Tn: string, c: { attn: number; mlp: number; hidden: number }) =>
      `${rows} rows x ${Tn} x (heads x ${Tn.split('=')[0]} x ${c.attn} + intermediate x ${c.mlp} + hidden x ${c.hidden}) x 4 B`;
    scratch.push({ phase: 'generate', name: 'prefill kernel scratch', formula: words(generationRows, 'prompt', k.infer), floats: layerScratch(generationRows, P, k.infer) });
    if (advForwards > 0) {
      scratch.push({ phase: 'advantages', name: 'no-tape layer kernel scratch', formula: words(advantageRows, `T=${T}`, k.infer), floats: layerScratch(advantageRows, T, k.infer) });
      if (reference) scratch.push({ phase: 'advantages', name: 'reference LM head kernel scratch', formula: `${advantageRows * newTokens} tokens x vocab x ${k.headInfer} x 4 B`, floats: k.headInfer * advantageRows * newTokens * m.V });
    }
    const trainRows = Math.max(criticRows, policyRows);
    const firstTrain = gae ? 'critic update' : 'policy update';
    scratch.push({ phase: firstTrain, name: 'training layer kernel scratch', formula: `${words(trainRows, `T=${T}`, k.train)}, forward and backward kernels`, floats: layerScratch(trainRows, T, k.train) });
    scratch.push({ phase: 'policy update', name: 'LM head kernel scratch', formula: `${policyRows * newTokens} tokens x vocab x ${k.headTrain} x 4 B (logits, log-softmax, probabilities, their gradient)`, floats: k.headTrain * policyRows * newTokens * m.V });
    if (ev) scratch.push({ phase: 'evaluate', name: 'eval prefill kernel scratch', formula: words(ev.rows, 'prompt', k.infer), floats: layerScratch(ev.rows, ev.P, k.infer) });
    for (const s of scratch) add(s.phase, s.name, s.formula, s.floats);
  }

  // evaluation runs after an iteration's update (every evalEvery), with the training scratch still kept
  const order = (['generate', 'advantages', 'critic update', 'policy update', 'evaluate'] as const)
    .filter((p) => (p !== 'critic update' || gae) && (p !== 'evaluate' || ev !== null));
  const isScratch = (t: MemoryTerm) => t.name.endsWith('kernel scratch');
  const pool = fused ? input.poolBytes ?? DEFAULT_POOL_BYTES : 0;
  // The terms resident at each phase's peak: the run's, the scratch onnxruntime kept from earlier
  // phases, the pool's share of earlier phases' freed buffers (other shapes than this phase's), and its own.
  const residentAt = (phase: (typeof order)[number]): MemoryTerm[] => {
    const earlier = order.slice(0, order.indexOf(phase)) as Phase[];
    // an optimizer step replaces each weight and both its moments: the old buffers go to the pool too
    const replaced = phase === 'policy update' ? 3 * params * F32 : phase === 'critic update' ? 3 * criticParams * F32 : 0;
    const pooledBytes = Math.min(pool, replaced + terms.filter((t) => !isScratch(t) && earlier.includes(t.phase)).reduce((a, t) => a + t.bytes, 0));
    const own = terms.filter((t) => t.phase === 'run' || t.phase === phase || (isScratch(t) && earlier.includes(t.phase)));
    if (!fused) return own;
    return [...own, { name: 'buffer pool', formula: `freed tensor buffers kept for reuse (earlier phases' working sets${replaced ? ', the weights and moments an optimizer step replaced' : ''}), up to ORZ_POOL_MB=${Math.round(pool / MB)}`, bytes: pooledBytes, phase }];
  };
  const phases = order.map((phase) => ({ phase, bytes: residentAt(phase).reduce((a, t) => a + t.bytes, 0) }));
  const peak = phases.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  return {
    terms: residentAt(peak.phase), allTerms: terms, phases, peakBytes: peak.bytes, peakPhase: peak.phase,
    shapes: { params, promptTokens: P, newTokens, T, generationRows, criticRows, policyRows, advantageRows, samples },
  };
}

export function fmtCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

export function fmtBytes(b: number): string {
  if (b >= 2 ** 30) return `${(b / 2 ** 30).toFixed(2)} GB`;
  if (b >= MB) return `${(b / MB).toFixed(1)} MB`;
  if (b >= 1024) return `${(b / 1024).toFixed(1)} kB`;
  return `${b} B`;
}
