// Rotary position embedding, Hugging Face Llama / GPT-NeoX convention, over the first r dims of a
// head (r = d for llama; r = floor(d * rotary_pct) for gpt_neox, the other d - r dims pass through):
//   inv_freq_i = theta^(-2i/r),  angle(p, j) = p * inv_freq_(j mod r/2)   (the r/2 frequencies repeated twice)
//   rope(x) = x * cos(angle) + rotate_half(x) * sin(angle),  rotate_half([x1, x2]) = [-x2, x1] over dims < r
// so dim i pairs with dim i + r/2. Past r the tables hold cos = 1, sin = 0 (identity).
// rotate_half is a fixed signed permutation, done as x @ R so no slicing along the last axis is
// needed (slow on the cpu backend). The tables are built once per model.

import { tf } from '../engine/tf.ts';

/** cos/sin of the angles of the positions in one forward pass, [N, d] each. */
export interface RopeAngles { cos: tf.Tensor2D; sin: tf.Tensor2D }

export class Rope {
  private readonly cosTable: Float32Array; // [maxPos, d]
  private readonly sinTable: Float32Array;
  private readonly rotateHalf: tf.Tensor2D; // R [d, d] with x @ R = rotate_half(x)

  constructor(readonly headDim: number, readonly maxPositions: number, theta: number, readonly rotaryDims = headDim) {
    const d = headDim, rd = rotaryDims;
    const half = rd / 2;
    this.cosTable = new Float32Array(maxPositions * d);
    this.sinTable = new Float32Array(maxPositions * d);
    // float32 rounding at each step as transformers does, so long positions match its angles
    const invFreq = Array.from({ length: half }, (_, i) => Math.fround(1 / Math.fround(theta ** Math.fround((2 * i) / rd))));
    this.cosTable.fill(1);
    for (let p = 0; p < maxPositions; p++) {
      for (let j = 0; j < rd; j++) {
        const angle = Math.fround(p * invFreq[j % half]!);
        this.cosTable[p * d + j] = Math.cos(angle);
        this.sinTable[p * d + j] = Math.sin(angle);
      }
    }
    const r = new Float32Array(d * d);
    for (let j = 0; j < half; j++) {
      r[(j + half) * d + j] = -1; // out[j] = -x[j + r/2]
      r[j * d + j + half] = 1;    // out[j + r/2] = x[j]
    }
    this.rotateHalf = tf.tensor2d(r, [d, d]);
  }

  /**
   * cos/sin rows [N, d] for flat positions [N] (validated by the caller); `scale` multiplies both
   * (folds 1/sqrt(d) into q). Rows are copied from the tables in JS: positions are constants, not
   * on the gradient path, and tf.gather walks element by element on the cpu backend.
   */
  tables(positions: Int32Array, scale = 1): { cos: Float32Array; sin: Float32Array } {
    const d = this.headDim;
    const cos = new Float32Array(positions.length * d);
    const sin = new Float32Array(positions.length * d);
    positions.forEach((p, i) => {
      cos.set(this.cosTable.subarray(p * d, (p + 1) * d), i * d);
      sin.set(this.sinTable.subarray(p * d, (p + 1) * d), i * d);
    });
    if (scale !== 1) {
      for (let i = 0; i < cos.length; i++) {
        cos[i]! *= scale;
        sin[i]! *= scale;
      }
    }
    return { cos, sin };
  }

  /** The angles of `tables` as tensors [N, d]. */
  angles(positions: Int32Array, scale = 1): RopeAngles {
    const { cos, sin } = this.tables(positions, scale);
    return { cos: tf.tensor2d(cos, [positions.length, this.headDim]), sin: tf.tensor2d(sin, [positions.length, this.headDim]) };
  }

  /** rope(x) for x [..., N, d] (any leading head axes) at the angles of the N positions. */
  apply<T extends tf.Tensor>(x: T, a: RopeAngles): T {
    const rotated = tf.matMul(x.reshape([-1, this.headDim]) as tf.Tensor2D, this.rotateHalf).reshape(x.shape);
    return tf.add(tf.mul(x, a.cos), tf.mul(rotated, a.sin)) as T; // [N, d] broadcasts over leading axes
  }

  dispose(): void {
    this.rotateHalf.dispose();
  }
}
