// Packs sampled (prompt, response) pairs into the padded tensors a training forward pass needs.
//
// Layout: prompts left-padded to P, responses right-padded to R, so response token j of every row
// sits in column P + j and is predicted by the hidden state in column P - 1 + j. The last response
// token is never fed (nothing after it is predicted), so inputs have P + R - 1 columns.
//
// Packed layout (packing > 0 or 'auto', sdk/ppo/packing.ts): the rows end to end in S sequences of W
// tokens, with per-sample positions and segment ids; `gather` maps the [rows, R] response tokens to the
// hidden states that predict them, so every consumer still sees [rows, R] tensors.

import { tf } from '../engine/tf.ts';
import { packingCapacity, packRows } from './packing.ts';

/** How a token batch lays out its rows: 0 = padded, 'auto' or n > 0 = packed (sdk/ppo/packing.ts). */
export type PackingSetting = number | 'auto';

export interface TokenBatch {
  rows: number;
  P: number;
  R: number;
  inputIds: tf.Tensor2D;   // [B, P+R-1] int32 (packed: [S, W])
  positions: tf.Tensor2D;  // [B, P+R-1] int32, counting real tokens only (packed: per sample)
  keyMask: tf.Tensor2D;    // [B, P+R-1] 1 = real token (packed: [S, W])
  /** Packed only: the sample of each token, [S, W] int32 (-1 on padding), and the flat index into
   *  [S * W] of the hidden state predicting each response token, [B * R] int32. */
  packed?: { segmentIds: tf.Tensor2D; gather: tf.Tensor1D; sequences: number };
  targets: tf.Tensor2D;    // [B, R] int32 response tokens (0 in padding)
  mask: tf.Tensor2D;       // [B, R] 1 = real response token
  lengths: number[];       // response lengths
}

export function buildTokenBatch(samples: { promptIds: ArrayLike<number>; responseIds: ArrayLike<number> }[], padId: number, packing: PackingSetting = 0): TokenBatch {
  if (samples.length === 0) throw new Error('buildTokenBatch: no samples');
  return packTokens(samples.length, (b) => samples[b]!.promptIds, (b) => samples[b]!.responseIds, padId, packing);
}

/**
 * The token batch of `B` rows whose prompt and response tokens `promptOf(b)` and `responseOf(b)` give,
 * padded (packing 0) or packed into sequences (packing 'auto' or a token count).
 */
export function packTokens(B: number, promptOf: (b: number) => ArrayLike<number>, responseOf: (b: number) => ArrayLike<number>, padId: number, packing: PackingSetting = 0): TokenBatch {
  if (packing !== 0) return packedTokens(B, promptOf, responseOf, padId, packing);
  let P = 0;
  let R = 1;
  const lengths: number[] = [];
  for (let b = 0; b < B; b++) {
    P = Math.max(P, promptOf(b).length);
    lengths.push(responseOf(b).length);
    R = Math.max(R, lengths[b]!);
  }
  const T = P + R - 1;
  const ids = new Int32Array(B * T).fill(padId);
  const pos = new Int32Array(B * T);
  const keyMask = new Float32Array(B * T);
  const targets = new Int32Array(B * R);
  const mask = new Float32Array(B * R);
  for (let b = 0; b < B; b++) {
    const prompt = promptOf(b);
    const response = responseOf(b);
    const pad = P - prompt.length;
    const n = Math.min(prompt.length + response.length, T - pad); // the last response token is never fed
    for (let j = 0; j < n; j++) {
      ids[b * T + pad + j] = j < prompt.length ? prompt[j]! : response[j - prompt.length]!;
      pos[b * T + pad + j] = j;
      keyMask[b * T + pad + j] = 1;
    }
    for (let j = 0; j < response.length; j++) {
      targets[b * R + j] = response[j]!;
      mask[b * R + j] = 1;
    }
  }
  return {
    rows: B, P, R,
    inputIds: tf.tensor2d(ids, [B, T], 'int32'),
    positions: tf.tensor2d(pos, [B, T], 'int32'),
    keyMask: tf.tensor2d(keyMask, [B, T]),
    targets: tf.tensor2d(targets, [B, R], 'int32'),
    mask: tf.tensor2d(mask, [B, R]),
    lengths,
  };
}

/** The packed layout of packTokens (see the top of the file and sdk/ppo/packing.ts). */
function packedTokens(B: number, promptOf: (b: number) => ArrayLike<number>, responseOf: (b: number) => ArrayLike<number>, padId: number, packing: PackingSetting): TokenBatch {
  let P = 0;
  let R = 1;
  const lengths: number[] = [];
  const fed = new Int32Array(B); // f = p + r - 1 (0 for an empty response: nothing to predict)
  for (let b = 0; b < B; b++) {
    const p = promptOf(b).length, r = responseOf(b).length;
    if (r > 0 && p === 0) throw new Error(`packTokens: row ${b} has an empty prompt; a packed row needs a prompt token to predict its first response token`);
    P = Math.max(P, p);
    lengths.push(r);
    R = Math.max(R, r);
    fed[b] = r > 0 ? p + r - 1 : 0;
  }
  const pk = packRows(fed, packingCapacity(packing, fed));
  const S = Math.max(1, pk.sequences.length), W = Math.max(1, pk.width); // no rows to feed: one pad token
  const ids = new Int32Array(S * W).fill(padId);
  const pos = new Int32Array(S * W);
  const keyMask = new Float32Array(S * W);
  const segments = new Int32Array(S * W).fill(-1);
  const gather = new Int32Array(B * R);
  const targets = new Int32Array(B * R);
  const mask = new Float32Array(B * R);
  for (let b = 0; b < B; b++) {
    const prompt = promptOf(b), response = responseOf(b);
    for (let j = 0; j < response.length; j++) {
      targets[b * R + j] = response[j]!;
      mask[b * R + j] = 1;
    }
    const s = pk.seqOf[b]!;
    if (s < 0) continue;
    const start = s * W + pk.offsetOf[b]!;
    for (let j = 0; j < fed[b]!; j++) {
      ids[start + j] = j < prompt.length ? prompt[j]! : response[j - prompt.length]!;
      pos[start + j] = j;
      keyMask[start + j] = 1;
      segments[start + j] = b;
    }
    for (let j = 0; j < response.length; j++) gather[b * R + j] = start + prompt.length - 1 + j;
  }
  return {
    rows: B, P, R,
    inputIds: tf.tensor2d(ids, [S, W], 'int32'),
    positions: tf.tensor2d(pos, [S, W], 'int32'),
    keyMask: tf.tensor2d(keyMask, [S, W]),
    packed: { segmentIds: tf.tensor2d(segments, [S, W], 'int32'), gather: tf.tensor1d(gather, 'int32'), sequences: pk.sequences.length },
    targets: tf.tensor2d(targets, [B, R], 'int32'),
    mask: tf.tensor2d(mask, [B, R]),
    lengths,
  };
}

export function disposeTokenBatch(tb: TokenBatch): void {
  tf.dispose([tb.inputIds, tb.positions, tb.keyMask, tb.targets, tb.mask]);
  if (tb.packed) tf.dispose([tb.packed.segmentIds, tb.packed.gather]);
}
