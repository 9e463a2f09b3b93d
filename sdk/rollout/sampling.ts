// Choosing the next token from one row of logits. Runs in plain JS on the logits row: the vocab
// of the models we sample on a CPU is small enough that this costs little next to the forward pass,
// provided it allocates nothing per row (a TokenSampler reuses its buffers across rows and steps).
//
// With z = logits row, T the temperature and m = max_i z_i:
//   pi_T(i) = exp((z_i - m) / T) / sum_j exp((z_j - m) / T)        (the sampling distribution)
//   log pi(t) = z_t - m - log sum_j exp(z_j - m)                      (the log-prob PPO needs, T = 1)
// At T = 1 without top-k/top-p the two share every exponential, so one pass gives both.

import type { Rng } from '../engine/rng.ts';

export interface SamplingParams {
  /** 0 means greedy (argmax). ORZ samples at 1.0. */
  temperature: number;
  /** Nucleus sampling: keep the smallest set of tokens whose probability reaches topP (1 = off). */
  topP: number;
  /** Keep only the k most likely tokens (0 = off). */
  topK: number;
}

/** Draws tokens from rows of logits and reports log pi(token) at temperature 1; reuses its buffers. */
export class TokenSampler {
  /** log pi(token) under the temperature-1 softmax, for the token the last `sample` returned. */
  logprob = 0;
  private weights: Float64Array;
  private max = 0;   // of the last sampleTempered row
  private total = 0;
  private order: Int32Array | null = null; // candidate ids by decreasing logit (top-k / top-p only)
  private readonly truncated: boolean;

  constructor(readonly vocab: number, readonly params: SamplingParams) {
    this.weights = new Float64Array(vocab);
    this.truncated = (params.topK > 0 && params.topK < vocab) || params.topP < 1;
  }

  /** Samples a token id from `logits[offset .. offset + vocab)` and sets `logprob`. */
  sample(logits: Float32Array, offset: number, rng: Rng): number {
    const V = this.vocab, p = this.params;
    let token: number;
    if (p.temperature <= 0) {
      token = argmax(logits, offset, V);
    } else if (this.truncated) {
      token = this.sampleTruncated(logits, offset, rng);
    } else {
      token = this.sampleTempered(logits, offset, rng);
      // at T = 1 the weights exp(z_i - m) are the terms of the log-prob's sum: no second pass
      if (p.temperature === 1) {
        this.logprob = logits[offset + token]! - this.max - Math.log(this.total);
        return token;
      }
    }
    this.logprob = tokenLogprob(logits, offset, V, token);
    return token;
  }

  /** Whole vocabulary at temperature T; leaves m and sum_i exp((z_i - m) / T) in `max`, `total`. */
  private sampleTempered(logits: Float32Array, offset: number, rng: Rng): number {
    const V = this.vocab, T = this.params.temperature, w = this.weights;
    let max = -Infinity;
    for (let i = 0; i < V; i++) max = Math.max(max, logits[offset + i]!);
    let total = 0;
    for (let i = 0; i < V; i++) {
      w[i] = Math.exp((logits[offset + i]! - max) / T);
      total += w[i]!;
    }
    this.max = max;
    this.total = total;
    return drawFrom(w, V, total, rng.next());
  }

  /** Top-k and/or top-p: candidates sorted by decreasing logit, ties by increasing id. */
  private sampleTruncated(logits: Float32Array, offset: number, rng: Rng): number {
    const V = this.vocab, p = this.params, w = this.weights;
    const order = (this.order ??= new Int32Array(V));
    for (let i = 0; i < V; i++) order[i] = i;
    // a total order (id breaks ties), so the result is what a stable sort by logit gives
    order.sort((a, b) => logits[offset + b]! - logits[offset + a]! || a - b);
    const n = p.topK > 0 && p.topK < V ? p.topK : V;
    let max = -Infinity;
    for (let j = 0; j < n; j++) max = Math.max(max, logits[offset + order[j]!]!);
    let total = 0;
    for (let j = 0; j < n; j++) {
      w[j] = Math.exp((logits[offset + order[j]!]! - max) / p.temperature);
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
    return order[drawFrom(w, keep, total, rng.next())]!;
  }
}

/** Index j of weights w[0..n) with u * total falling in w_j's interval (the last one on round-off). */
function drawFrom(w: Float64Array, n: number, total: number, uniform: number): number {
  let u = uniform * total;
  for (let j = 0; j < n; j++) {
    u -= w[j]!;
    if (u < 0) return j;
  }
  return n - 1;
}

function argmax(logits: Float32Array, offset: number, V: number): number {
  let best = 0;
  for (let i = 1; i < V; i++) if (logits[offset + i]! > logits[offset + best]!) best = i;
  return best;
}

/** log-softmax of `logits[offset .. offset+V)` at temperature 1, evaluated at `token`: log pi(token). */
export function tokenLogprob(logits: Float32Array, offset: number, V: number, token: number): number {
  let max = -Infinity;
  for (let i = 0; i < V; i++) max = Math.max(max, logits[offset + i]!);
  let sum = 0;
  for (let i = 0; i < V; i++) sum += Math.exp(logits[offset + i]! - max);
  return logits[offset + token]! - max - Math.log(sum);
}

/** Samples a token id from one row (a one-off TokenSampler; loops should keep one). */
export function sampleToken(logits: Float32Array, offset: number, V: number, p: SamplingParams, rng: Rng): number {
  return new TokenSampler(V, p).sample(logits, offset, rng);
}
