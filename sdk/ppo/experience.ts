// An iteration's experience as columns: every per-token quantity is one float32 [N, R] array (row i is
// sample i, columns 0..len_i-1 its response tokens, 0 beyond), filled once from the rollout's Arrow list
// columns. The update reads minibatches as row gathers of these arrays (MiniBatch), trimmed to the
// minibatch's own longest prompt and response so its tensors are as small as the rows allow.

import { tf } from '../engine/tf.ts';
import type { RolloutBatch } from '../rollout/rollout-batch.ts';
import type { MetricsRow } from './metrics-log.ts';
import type { ScoredSample } from './rollout-stats.ts';
import { disposeTokenBatch, packTokens, type PackingSetting, type TokenBatch } from './token-batch.ts';

/** What the rollout gives: tokens, lengths, the sampling policy's log-probs and the rewards. */
export interface ExperienceColumns {
  batch: RolloutBatch;
  /** N samples; R = the longest response (at least 1); P = the longest prompt. */
  N: number;
  R: number;
  P: number;
  promptIds: Int32Array;     // [N, P] left-padded with the pad id
  promptLengths: Int32Array; // [N]
  responseIds: Int32Array;   // [N, R] right-padded with 0
  lengths: Int32Array;       // [N] response lengths
  actionMask: Float32Array;  // [N, R] 1 = a response token
  oldLogprobs: Float32Array; // [N, R] log pi_old(a_t | s_t), under the sampling policy
  rewards: Float32Array;     // [N] the scalar reward of each sample
  promptIndex: Int32Array;   // [N] which prompt each sample answers (GRPO's groups)
}

/** Everything the update needs, per token: the columns plus what the critic and the estimator add. */
export interface Experience extends ExperienceColumns {
  values: Float32Array | null;      // [N, R] V_old(s_t) (GAE)
  returns: Float32Array | null;     // [N, R] G_t = A_t + V_t, the critic's target (GAE)
  refLogprobs: Float32Array | null; // [N, R] log pi_ref(a_t | s_t) (when KL is on)
  advantages: Float32Array;         // [N, R] A_t (whitened when configured)
  stats: MetricsRow;
}

/** The rollout's columns, padded once. Throws when a sample has no reward (score() not called). */
export function experienceColumns(batch: RolloutBatch, padId: number): ExperienceColumns {
  const N = batch.length;
  if (N === 0) throw new Error('makeExperience: the batch has no samples');
  const promptLengths = new Int32Array(N);
  const lengths = new Int32Array(N);
  batch.forEachList('promptIds', (i, _v, start, end) => { promptLengths[i] = end - start; });
  batch.forEachList('responseIds', (i, _v, start, end) => { lengths[i] = end - start; });
  const P = promptLengths.reduce((a, n) => Math.max(a, n), 0);
  const R = lengths.reduce((a, n) => Math.max(a, n), 1);
  const promptIds = new Int32Array(N * P).fill(padId);
  batch.forEachList('promptIds', (i, v, start, end) => promptIds.set(v.subarray(start, end), (i + 1) * P - (end - start)));
  const responseIds = new Int32Array(N * R);
  batch.forEachList('responseIds', (i, v, start, end) => responseIds.set(v.subarray(start, end), i * R));
  const oldLogprobs = new Float32Array(N * R);
  batch.forEachList('logprobs', (i, v, start, end) => oldLogprobs.set(v.subarray(start, end), i * R));
  const actionMask = new Float32Array(N * R);
  for (let i = 0; i < N; i++) actionMask.fill(1, i * R, i * R + lengths[i]!);
  return {
    batch, N, R, P, promptIds, promptLengths, responseIds, lengths, actionMask, oldLogprobs,
    rewards: rewardColumn(batch),
    promptIndex: Int32Array.from(batch.table.getChild('promptIndex')!.toArray() as ArrayLike<number>),
  };
}

function rewardColumn(batch: RolloutBatch): Float32Array {
  const col = batch.table.getChild('reward');
  const rewards = new Float32Array(batch.length);
  for (let i = 0; i < batch.length; i++) {
    const r = col?.get(i);
    if (typeof r !== 'number') throw new Error(`makeExperience: sample ${i} has no reward; call score() first`);
    rewards[i] = r;
  }
  return rewards;
}

/** Row i of an [N, R] column, as a view of its first len_i entries (writes go through). */
export function rowOf(x: { R: number; lengths: Int32Array }, column: Float32Array, i: number): Float32Array {
  return column.subarray(i * x.R, i * x.R + x.lengths[i]!);
}

/** Every row of an [N, R] column as views of its real tokens. */
export function rowsOf(x: { N: number; R: number; lengths: Int32Array }, column: Float32Array): Float32Array[] {
  return Array.from({ length: x.N }, (_, i) => rowOf(x, column, i));
}

/** Per-row arrays padded into one [N, R] column (0 beyond each row's length). */
export function padColumn(perRow: ArrayLike<number>[], R: number): Float32Array {
  const out = new Float32Array(perRow.length * R);
  perRow.forEach((r, i) => {
    for (let j = 0; j < Math.min(r.length, R); j++) out[i * R + j] = r[j]!;
  });
  return out;
}

/**
 * The training forward's token tensors for rows `rows`, trimmed to their longest prompt and response
 * (packing 0), or packed into sequences (packing 'auto' or a token count; sdk/ppo/packing.ts).
 */
export function gatherTokens(x: ExperienceColumns, rows: number[], padId: number, packing: PackingSetting = 0): TokenBatch {
  return packTokens(
    rows.length,
    (b) => { const i = rows[b]!; return x.promptIds.subarray((i + 1) * x.P - x.promptLengths[i]!, (i + 1) * x.P); },
    (b) => { const i = rows[b]!; return x.responseIds.subarray(i * x.R, i * x.R + x.lengths[i]!); },
    padId,
    packing,
  );
}

/**
 * fn over the rows in chunks of `chunkRows` (memory: one chunk's activations at a time), each chunk's
 * [rows, R_chunk] output written back into one [N, R] column (0 beyond each row's length).
 */
export function forwardInChunks(x: ExperienceColumns, chunkRows: number, padId: number, fn: (tb: TokenBatch) => tf.Tensor2D, packing: PackingSetting = 0): Float32Array {
  const out = new Float32Array(x.N * x.R);
  for (let start = 0; start < x.N; start += chunkRows) {
    const rows = Array.from({ length: Math.min(chunkRows, x.N - start) }, (_, k) => start + k);
    const tb = gatherTokens(x, rows, padId, packing);
    try {
      const t = fn(tb);
      const data = t.dataSync() as Float32Array;
      t.dispose();
      rows.forEach((i, b) => out.set(data.subarray(b * tb.R, b * tb.R + x.lengths[i]!), i * x.R));
    } finally {
      disposeTokenBatch(tb);
    }
  }
  return out;
}

/**
 * Rows of the experience as training tensors: the tokens (built on construction) and each per-token
 * column as a [rows, R_mb] tensor, gathered on first use. Used inside one loss evaluation, whose scope
 * frees the gathered tensors; dispose() frees the tokens.
 */
export class MiniBatch {
  readonly tokens: TokenBatch;
  private readonly gathered = new Map<Float32Array, tf.Tensor2D>();

  constructor(private readonly exp: Experience, readonly rows: number[], padId: number, packing: PackingSetting = 0) {
    this.tokens = gatherTokens(exp, rows, padId, packing);
  }

  /** 1 on response tokens: [rows, R_mb]. */
  get mask(): tf.Tensor2D { return this.tokens.mask; }
  get oldLogprobs(): tf.Tensor2D { return this.column(this.exp.oldLogprobs); }
  get advantages(): tf.Tensor2D { return this.column(this.exp.advantages); }
  get values(): tf.Tensor2D { return this.column(this.exp.values, 'values'); }
  get returns(): tf.Tensor2D { return this.column(this.exp.returns, 'returns'); }
  get refLogprobs(): tf.Tensor2D { return this.column(this.exp.refLogprobs, 'refLogprobs'); }

  private column(src: Float32Array | null, name = ''): tf.Tensor2D {
    if (!src) throw new Error(`MiniBatch: the experience has no ${name} (no critic, or KL off)`);
    let t = this.gathered.get(src);
    if (!t) {
      const { R } = this.exp;
      const width = this.tokens.R;
      const out = new Float32Array(this.rows.length * width);
      this.rows.forEach((i, b) => out.set(src.subarray(i * R, i * R + width), b * width));
      t = tf.tensor2d(out, [this.rows.length, width]);
      this.gathered.set(src, t);
    }
    return t;
  }

  dispose(): void {
    disposeTokenBatch(this.tokens);
  }
}

/** The samples as the rollout statistics read them (lengths as views, no copies). */
export function scoredSamples(x: ExperienceColumns): ScoredSample[] {
  const finish = x.batch.table.getChild('finishReason')!;
  return Array.from({ length: x.N }, (_, i) => ({
    promptIndex: x.promptIndex[i]!,
    responseIds: x.responseIds.subarray(i * x.R, i * x.R + x.lengths[i]!),
    finishReason: finish.get(i) as string,
    reward: x.rewards[i]!,
  }));
}
