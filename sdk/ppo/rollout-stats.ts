// Per-iteration statistics of scored rollouts (ORZ's logged set).

import { METRIC } from './metric-names.ts';

export interface ScoredSample { promptIndex: number; responseIds: ArrayLike<number>; finishReason: string; reward: number }

function meanStd(xs: number[]): { mean: number | null; std: number | null } {
  if (xs.length === 0) return { mean: null, std: null };
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return { mean, std: Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length) };
}

/** A sample counts as correct when its reward is above 0.5 (the binary reward is 0 or 1). */
export function rolloutStats(samples: ScoredSample[]): Record<string, number | null> {
  const lengths = samples.map((s) => s.responseIds.length);
  const correct = samples.filter((s) => s.reward > 0.5).map((s) => s.responseIds.length);
  const incorrect = samples.filter((s) => !(s.reward > 0.5)).map((s) => s.responseIds.length);
  const rewards = meanStd(samples.map((s) => s.reward));
  const len = meanStd(lengths);
  const prompts = new Map<number, boolean>();
  for (const s of samples) prompts.set(s.promptIndex, (prompts.get(s.promptIndex) ?? false) || s.reward > 0.5);
  const solved = [...prompts.values()].filter(Boolean).length;
  return {
    [METRIC.rewardMean]: rewards.mean,
    [METRIC.rewardStd]: rewards.std,
    [METRIC.responseLengthMean]: len.mean,
    [METRIC.responseLengthStd]: len.std,
    [METRIC.responseLengthMax]: lengths.length ? Math.max(...lengths) : null,
    [METRIC.responseLengthCorrect]: meanStd(correct).mean,
    [METRIC.responseLengthIncorrect]: meanStd(incorrect).mean,
    [METRIC.truncatedFraction]: samples.length ? samples.filter((s) => s.finishReason === 'length').length / samples.length : null,
    [METRIC.passAtN]: prompts.size ? solved / prompts.size : null,
  };
}

/** Summary of a list of per-token arrays: mean, std, min, max over all tokens. */
export function tokenStats(prefix: string, perSample: ArrayLike<number>[]): Record<string, number | null> {
  let n = 0, sum = 0, min = Infinity, max = -Infinity;
  for (const a of perSample) for (let i = 0; i < a.length; i++) { const x = a[i]!; n++; sum += x; if (x < min) min = x; if (x > max) max = x; }
  if (n === 0) return { [`${prefix}/mean`]: null, [`${prefix}/std`]: null, [`${prefix}/min`]: null, [`${prefix}/max`]: null };
  const mean = sum / n;
  let sq = 0;
  for (const a of perSample) for (let i = 0; i < a.length; i++) sq += (a[i]! - mean) ** 2;
  return { [`${prefix}/mean`]: mean, [`${prefix}/std`]: Math.sqrt(sq / n), [`${prefix}/min`]: min, [`${prefix}/max`]: max };
}

/** 1 - Var(G - V) / Var(G) over all tokens: how much of the return the critic explains. */
export function explainedVariance(values: ArrayLike<number>[], returns: ArrayLike<number>[]): number | null {
  const v: number[] = [], g: number[] = [];
  values.forEach((vs, i) => { for (let t = 0; t < vs.length; t++) { v.push(vs[t]!); g.push(returns[i]![t]!); } });
  if (g.length === 0) return null;
  const varOf = (xs: number[]) => { const m = xs.reduce((a, b) => a + b, 0) / xs.length; return xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length; };
  const vg = varOf(g);
  if (vg === 0) return null;
  return 1 - varOf(g.map((x, i) => x - v[i]!)) / vg;
}
