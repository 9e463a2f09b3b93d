// Advantage estimators over one response (rows of the experience, as views), and estimateAdvantages, which runs them over an iteration.
//
// PPO (ORZ): the reward sits on the last response token, the critic gives V_t for every token,
// and GAE turns them into advantages. ORZ uses gamma = lambda = 1, where GAE collapses to
// A_t = R - V_t and the return is R for every token.
// GRPO (alternative, no critic): one scalar per sample, standardised within its prompt's group.

import type { TrainerConfig } from './config.ts';
import { rowOf, rowsOf, type Experience, type ExperienceColumns } from './experience.ts';
import { klValue } from './losses.ts';
import type { MetricsRow } from './metrics-log.ts';
import { METRIC } from './metric-names.ts';
import { explainedVariance, tokenStats } from './rollout-stats.ts';

type EstimatorConfig = Pick<TrainerConfig, 'advantageEstimator' | 'grpoStd' | 'gamma' | 'lambda' | 'kl' | 'normalizeAdvantages'>;

/**
 * The experience's advantages A_t and (GAE) returns G_t from the rewards, the critic's V(s_t) and the
 * reference's log-probs, plus their statistics. ORZ: GAE with gamma = lambda = 1, then whitening.
 */
export function estimateAdvantages(c: EstimatorConfig, x: ExperienceColumns, values: Float32Array | null, refLogprobs: Float32Array | null): Experience {
  const { N, R } = x;
  // KL_t = k(log pi_old(a_t|s_t) - log pi_ref(a_t|s_t)), Schulman's k1 or k3 estimator
  let kl: Float32Array | null = null;
  if (refLogprobs) {
    kl = new Float32Array(N * R);
    for (let i = 0; i < N; i++) for (let t = i * R; t < i * R + x.lengths[i]!; t++) kl[t] = klValue(x.oldLogprobs[t]!, refLogprobs[t]!, c.kl.estimator);
  }
  const klInReward = kl !== null && c.kl.coef > 0 && c.kl.where === 'reward';
  const advantages = new Float32Array(N * R);
  let returns: Float32Array | null = null;
  if (c.advantageEstimator === 'gae') {
    if (!values) throw new Error('makeExperience: GAE needs the critic\'s values');
    returns = new Float32Array(N * R);
    for (let i = 0; i < N; i++) {
      // r_t = -beta * KL_t on every token (KL in the reward), plus the score R on the last token
      const r = tokenRewards(x.rewards[i]!, x.lengths[i]!, klInReward ? rowOf(x, kl!, i) : undefined, klInReward ? c.kl.coef : 0);
      // delta_t = r_t + gamma V_{t+1} - V_t,  A_t = sum_l (gamma lambda)^l delta_{t+l},  G_t = A_t + V_t
      const g = advantagesGAE(r, rowOf(x, values, i), c.gamma, c.lambda);
      rowOf(x, advantages, i).set(g.advantages);
      rowOf(x, returns, i).set(g.returns);
    }
  } else {
    // A_i = (R_i - mean(R_group)) / (std(R_group) + eps) on every token of sample i (or / 1 without grpoStd)
    const a = advantagesGRPO(x.rewards, x.promptIndex, { std: c.grpoStd });
    for (let i = 0; i < N; i++) rowOf(x, advantages, i).fill(a[i]!);
  }
  const stats: MetricsRow = { ...tokenStats('advantage', rowsOf(x, advantages)) };
  if (c.normalizeAdvantages) normalizeAdvantages(rowsOf(x, advantages)); // A <- (A - mean) / std over all tokens
  if (kl) stats[METRIC.klMean] = tokenStats('kl', rowsOf(x, kl))['kl/mean'] ?? null;
  if (values && returns) {
    stats[METRIC.criticExplainedVariance] = explainedVariance(rowsOf(x, values), rowsOf(x, returns));
    stats[METRIC.criticValueMean] = tokenStats('v', rowsOf(x, values))['v/mean'] ?? null;
  }
  return { ...x, values, returns, refLogprobs, advantages, stats };
}

/**
 * Generalised advantage estimation (Schulman et al. 2016) over one response of T tokens.
 *   delta_t = r_t + gamma * V_{t+1} - V_t        (V_T = 0: the episode ends with the response)
 *   A_t     = sum_l (gamma * lambda)^l * delta_{t+l}
 *   G_t     = A_t + V_t                          (the critic's regression target)
 */
export function advantagesGAE(
  rewards: ArrayLike<number>,
  values: ArrayLike<number>,
  gamma: number,
  lambda: number,
): { advantages: Float32Array; returns: Float32Array } {
  const T = rewards.length;
  if (values.length !== T) throw new Error(`advantagesGAE: ${T} rewards but ${values.length} values`);
  const advantages = new Float32Array(T);
  const returns = new Float32Array(T);
  let next = 0; // A_{t+1}
  for (let t = T - 1; t >= 0; t--) {
    const vNext = t + 1 < T ? values[t + 1]! : 0;
    const delta = rewards[t]! + gamma * vNext - values[t]!;
    next = delta + gamma * lambda * next;
    advantages[t] = next;
    returns[t] = next + values[t]!;
  }
  return { advantages, returns };
}

/** Token rewards for one response: the scalar score on the last token, minus beta * KL_t on every token if given. */
export function tokenRewards(score: number, length: number, klPenalty?: ArrayLike<number>, beta = 0): Float32Array {
  const r = new Float32Array(length);
  if (klPenalty && beta !== 0) for (let t = 0; t < length; t++) r[t] = -beta * klPenalty[t]!;
  if (length > 0) r[length - 1]! += score;
  return r;
}

/** Whitens advantages over every response token of the batch (mean 0, std 1), as ORZ does. Returns the raw stats. */
export function normalizeAdvantages(perSample: Float32Array[], eps = 1e-8): { mean: number; std: number } {
  let n = 0;
  let sum = 0;
  for (const a of perSample) for (const x of a) { sum += x; n++; }
  if (n === 0) return { mean: 0, std: 0 };
  const mean = sum / n;
  let sq = 0;
  for (const a of perSample) for (const x of a) sq += (x - mean) ** 2;
  const std = Math.sqrt(sq / n);
  for (const a of perSample) for (let t = 0; t < a.length; t++) a[t] = (a[t]! - mean) / (std + eps);
  return { mean, std };
}

/**
 * GRPO (Shao et al. 2024): A_i = (r_i - mean(r_group)) / (std(r_group) + eps), the same for every token of sample i.
 * `groups[i]` says which prompt sample i answers. With `std: false` the divisor is 1 (A_i = r_i - mean(r_group)):
 * a group that is almost all right or all wrong then gets small advantages instead of ones scaled up to unit std.
 */
export function advantagesGRPO(rewards: ArrayLike<number>, groups: ArrayLike<number>, opts: { std?: boolean; eps?: number } = {}): Float32Array {
  const { std: divideByStd = true, eps = 1e-6 } = opts;
  const byGroup = new Map<number, number[]>();
  for (let i = 0; i < rewards.length; i++) {
    const g = groups[i]!;
    const list = byGroup.get(g) ?? [];
    list.push(rewards[i]!);
    byGroup.set(g, list);
  }
  const stats = new Map<number, { mean: number; std: number }>();
  for (const [g, rs] of byGroup) {
    const mean = rs.reduce((a, b) => a + b, 0) / rs.length;
    const std = Math.sqrt(rs.reduce((a, b) => a + (b - mean) ** 2, 0) / rs.length);
    stats.set(g, { mean, std });
  }
  const out = new Float32Array(rewards.length);
  for (let i = 0; i < rewards.length; i++) {
    const { mean, std } = stats.get(groups[i]!)!;
    out[i] = divideByStd ? (rewards[i]! - mean) / (std + eps) : rewards[i]! - mean;
  }
  return out;
}
