// The optimizer's two ops (sdk/engine/fused.ts): the global squared gradient norm and one AdamW
// update of every parameter. On a backend with the fused kernels each parameter's update is one
// OrzAdam call and the norm one OrzSumSquares call; the composites are the same functions in
// standard tfjs ops.

import { tf } from '../engine/tf.ts';
import { FUSED, fusedOp, runFused } from '../engine/fused.ts';

/** The step's scalars, as the composite rounds them (float32 scalars in the fused kernel). */
export interface AdamScalars {
  lr: number; beta1: number; oneMinusBeta1: number; beta2: number; oneMinusBeta2: number;
  biasCorrection1: number; biasCorrection2: number; eps: number; weightDecay: number; gradScale: number;
}

/** A parameter with its gradient and its two moments; the update assigns param, m and v. */
export interface AdamSlot { param: tf.Variable; grad: tf.Tensor; m: tf.Variable; v: tf.Variable }

/** sum_i ||g_i||^2 over the gradients (the square of the global norm), as a number. */
export const sumOfSquares = fusedOp({
  name: 'sumOfSquares',
  kernels: [FUSED.sumSquares],
  composite: (grads: tf.Tensor[]): number => tf.tidy(() => {
    const sq = grads.map((g) => tf.sum(tf.square(g)));
    return sq.length ? (tf.addN(sq).dataSync()[0] ?? 0) : 0;
  }),
  fused: (grads: tf.Tensor[]): number => {
    if (grads.length === 0) return 0;
    const inputs: tf.NamedTensorMap = Object.fromEntries(grads.map((g, i) => [String(i), g]));
    return tf.tidy(() => runFused(FUSED.sumSquares, inputs)[0]!.dataSync()[0] ?? 0);
  },
});

/** One AdamW step of every slot (call inside a tf.tidy). assign() drops the old values, so their buffers can be reused. */
export const adamStep = fusedOp({
  name: 'adamStep',
  kernels: [FUSED.adam],
  composite: (slots: AdamSlot[], s: AdamScalars): void => {
    for (const { param, grad, m, v } of slots) assignAll(param, m, v, compositeAdam(param, grad, m, v, s));
  },
  fused: (slots: AdamSlot[], s: AdamScalars): void => {
    // the step's scalars as tensors once, shared by every parameter's kernel call
    const scalars = Object.fromEntries(Object.entries(s).map(([k, x]) => [k, tf.scalar(x, 'float32')]));
    for (const { param, grad, m, v } of slots) {
      const [pNext, mNext, vNext] = runFused(FUSED.adam, { param, grad, m, v, ...scalars });
      assignAll(param, m, v, [pNext!, mNext!, vNext!]);
    }
  },
});

function assignAll(p: tf.Variable, m: tf.Variable, v: tf.Variable, [pNext, mNext, vNext]: [tf.Tensor, tf.Tensor, tf.Tensor]): void {
  m.assign(mNext);
  v.assign(vNext);
  p.assign(pNext);
}

/** One AdamW update in standard tfjs ops: the function OrzAdam computes, op for op. */
function compositeAdam(p: tf.Tensor, raw: tf.Tensor, m: tf.Tensor, v: tf.Tensor, s: AdamScalars): [tf.Tensor, tf.Tensor, tf.Tensor] {
  const g = s.gradScale === 1 ? raw : tf.mul(raw, s.gradScale);
  const mNext = tf.add(tf.mul(m, s.beta1), tf.mul(g, s.oneMinusBeta1));             // m_t = b1 m + (1-b1) g
  const vNext = tf.add(tf.mul(v, s.beta2), tf.mul(tf.square(g), s.oneMinusBeta2));  // v_t = b2 v + (1-b2) g^2
  const mHat = tf.div(mNext, s.biasCorrection1);
  const vHat = tf.div(vNext, s.biasCorrection2);
  let update = tf.div(mHat, tf.add(tf.sqrt(vHat), s.eps));
  if (s.weightDecay > 0) update = tf.add(update, tf.mul(p, s.weightDecay)); // AdamW
  return [tf.sub(p, tf.mul(update, s.lr)), mNext, vNext];
}
