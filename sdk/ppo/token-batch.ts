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

export function buildTokenBatch(samples: { promptIds: ArrayLike<number>; responseIds: ArrayLike<number> }[], padId: number): TokenBatch {
  if (samples.length === 0) throw new Error('buildTokenBatch: no samples');
  return packTokens(samples.length, (b) => samples[b]!.promptIds, (b) => samples[b]!.responseIds, padId);
}

/** The token batch of `B` rows whose prompt and response tokens `promptOf(b)` and `responseOf(b)` give. */
export function packTokens(B: number, promptOf: (b: number) => ArrayLike<number>, responseOf: (b: number) => ArrayLike<number>, padId: number): TokenBatch {
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

export function disposeTokenBatch(tb: TokenBatch): void {
  tf.dispose([tb.inputIds, tb.positions, tb.keyMask, tb.targets, tb.mask]);
}
