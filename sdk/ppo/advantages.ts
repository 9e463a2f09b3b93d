// Advantage estimators, per response (plain arrays: they are tiny next to the model).
//
// PPO (ORZ): the reward sits on the last response token, the critic gives V_t for every token,
// and GAE turns them into advantages. ORZ uses gamma = lambda = 1, where GAE collapses to
// A_t = R - V_t and the return is R for every token.
// GRPO (alternative, no critic): one scalar per sample, standardised within its prompt's group.

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
 * `groups[i]` says which prompt sample i answers.
 */
export function advantagesGRPO(rewards: ArrayLike<number>, groups: ArrayLike<number>, eps = 1e-6): Float32Array {
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
    out[i] = (rewards[i]! - mean) / (std + eps);
  }
  return out;
}
