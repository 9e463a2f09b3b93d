// Packs sampled (prompt, response) pairs into the padded tensors a training forward pass needs.
//
// Layout: prompts left-padded to P, responses right-padded to R, so response token j of every row
// sits in column P + j and is predicted by the hidden state in column P - 1 + j. The last response
// token is never fed (nothing after it is predicted), so inputs have P + R - 1 columns.

import { tf } from '../engine/tf.ts';

export interface TokenBatch {
  rows: number;
  P: number;
  R: number;
  inputIds: tf.Tensor2D;   // [B, P+R-1] int32
  positions: tf.Tensor2D;  // [B, P+R-1] int32, counting real tokens only
  keyMask: tf.Tensor2D;    // [B, P+R-1] 1 = real token
  targets: tf.Tensor2D;    // [B, R] int32 response tokens (0 in padding)
  mask: tf.Tensor2D;       // [B, R] 1 = real response token
  lengths: number[];       // response lengths
}

export function buildTokenBatch(samples: { promptIds: number[]; responseIds: number[] }[], padId: number): TokenBatch {
  const B = samples.length;
  if (B === 0) throw new Error('buildTokenBatch: no samples');
  const P = Math.max(...samples.map((s) => s.promptIds.length));
  const R = Math.max(1, ...samples.map((s) => s.responseIds.length));
  const T = P + R - 1;
  const ids = new Int32Array(B * T).fill(padId);
  const pos = new Int32Array(B * T);
  const keyMask = new Float32Array(B * T);
  const targets = new Int32Array(B * R);
  const mask = new Float32Array(B * R);
  samples.forEach((s, b) => {
    const pad = P - s.promptIds.length;
    const seq = [...s.promptIds, ...s.responseIds];
    for (let j = 0; j < seq.length && pad + j < T; j++) {
      ids[b * T + pad + j] = seq[j]!;
      pos[b * T + pad + j] = j;
      keyMask[b * T + pad + j] = 1;
    }
    s.responseIds.forEach((t, j) => {
      targets[b * R + j] = t;
      mask[b * R + j] = 1;
    });
  });
  return {
    rows: B, P, R,
    inputIds: tf.tensor2d(ids, [B, T], 'int32'),
    positions: tf.tensor2d(pos, [B, T], 'int32'),
    keyMask: tf.tensor2d(keyMask, [B, T]),
    targets: tf.tensor2d(targets, [B, R], 'int32'),
    mask: tf.tensor2d(mask, [B, R]),
    lengths: samples.map((s) => s.responseIds.length),
  };
}

export function disposeTokenBatch(tb: TokenBatch): void {
  tf.dispose([tb.inputIds, tb.positions, tb.keyMask, tb.targets, tb.mask]);
}

/** Pads per-sample arrays into a [B, R] float tensor (0 beyond each sample's length). */
export function padRows(rows: ArrayLike<number>[], R: number): tf.Tensor2D {
  const out = new Float32Array(rows.length * R);
  rows.forEach((r, b) => {
    for (let j = 0; j < Math.min(r.length, R); j++) out[b * R + j] = r[j]!;
  });
  return tf.tensor2d(out, [rows.length, R]);
}

/** Splits a [B, R] tensor's rows back into per-sample arrays of the given lengths. */
export function unpadRows(t: tf.Tensor2D, lengths: number[]): Float32Array[] {
  const [, R] = t.shape;
  const data = t.dataSync() as Float32Array;
  return lengths.map((n, b) => data.slice(b * R, b * R + n));
}
