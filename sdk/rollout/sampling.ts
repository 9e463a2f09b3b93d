// Choosing the next token from one row of logits. Runs in plain JS on the logits row: the vocab
// of the models we sample on a CPU is small enough that this costs little next to the forward pass.

import type { Rng } from '../engine/rng.ts';

export interface SamplingParams {
  /** 0 means greedy (argmax). ORZ samples at 1.0. */
  temperature: number;
  /** Nucleus sampling: keep the smallest set of tokens whose probability reaches topP (1 = off). */
  topP: number;
  /** Keep only the k most likely tokens (0 = off). */
  topK: number;
}

/** log-softmax of `logits[offset .. offset+V)` at temperature 1, evaluated at `token`: log pi(token). */
export function tokenLogprob(logits: Float32Array, offset: number, V: number, token: number): number {
  let max = -Infinity;
  for (let i = 0; i < V; i++) max = Math.max(max, logits[offset + i]!);
  let sum = 0;
  for (let i = 0; i < V; i++) sum += Math.exp(logits[offset + i]! - max);
  return logits[offset + token]! - max - Math.log(sum);
}

/** Samples a token id from one row. */
export function sampleToken(logits: Float32Array, offset: number, V: number, p: SamplingParams, rng: Rng): number {
  if (p.temperature <= 0) {
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[offset + i]! > logits[offset + best]!) best = i;
    return best;
  }
  let ids: number[] | null = null; // candidate set, null = whole vocab
  if ((p.topK > 0 && p.topK < V) || p.topP < 1) {
    ids = Array.from({ length: V }, (_, i) => i).sort((a, b) => logits[offset + b]! - logits[offset + a]!);
    if (p.topK > 0 && p.topK < V) ids = ids.slice(0, p.topK);
  }
  const cand = ids ?? null;
  const n = cand ? cand.length : V;
  const at = (j: number) => (cand ? cand[j]! : j);
  let max = -Infinity;
  for (let j = 0; j < n; j++) max = Math.max(max, logits[offset + at(j)]!);
  const w = new Float64Array(n);
  let total = 0;
  for (let j = 0; j < n; j++) {
    w[j] = Math.exp((logits[offset + at(j)]! - max) / p.temperature);
    total += w[j]!;
  }
  let keep = n;
  if (p.topP < 1) {
    // candidates are sorted by probability: cut after the cumulative mass reaches topP
    let cum = 0;
    for (let j = 0; j < n; j++) {
      cum += w[j]! / total;
      if (cum >= p.topP) { keep = j + 1; break; }
    }
    total = 0;
    for (let j = 0; j < keep; j++) total += w[j]!;
  }
  let u = rng.next() * total;
  for (let j = 0; j < keep; j++) {
    u -= w[j]!;
    if (u < 0) return at(j);
  }
  return at(keep - 1);
}
