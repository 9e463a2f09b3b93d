// PPO's losses as tfjs ops over padded [B, T] response-token tensors with a 0/1 mask.
// ORZ averages over all response tokens of the minibatch ("token mean"), not per sequence.

import { tf } from '../engine/tf.ts';

/** sum(x * mask) / max(sum(mask), 1) */
export function maskedMean(x: tf.Tensor, mask: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.div(tf.sum(tf.mul(x, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar);
}

/**
 * Clipped surrogate (Schulman et al. 2017), written as a loss to minimise:
 *   rho_t = exp(log pi(a_t) - log pi_old(a_t))
 *   L     = mean_t max(-A_t * rho_t, -A_t * clip(rho_t, 1 - eps, 1 + eps))
 */
export function policyLoss(
  logp: tf.Tensor2D, oldLogp: tf.Tensor2D, advantages: tf.Tensor2D, mask: tf.Tensor2D, clipEps = 0.2,
): { loss: tf.Scalar; clipFraction: tf.Scalar; approxKL: tf.Scalar } {
  return tf.tidy(() => {
    const logRatio = tf.sub(logp, oldLogp);
    const ratio = tf.exp(logRatio); // rho_t
    const unclipped = tf.neg(tf.mul(advantages, ratio));
    const clipped = tf.neg(tf.mul(advantages, tf.clipByValue(ratio, 1 - clipEps, 1 + clipEps)));
    const loss = maskedMean(tf.maximum(unclipped, clipped), mask);
    const clipFraction = maskedMean(tf.cast(tf.greater(clipped, unclipped), 'float32'), mask);
    // k3 estimate of KL(pi_old || pi), for logging only
    const approxKL = maskedMean(tf.sub(tf.sub(ratio, 1), logRatio), mask);
    return { loss, clipFraction, approxKL };
  });
}

/**
 * Clipped value loss (ORZ / OpenRLHF):
 *   V_clip = V_old + clip(V - V_old, -c, c)
 *   L      = 0.5 * mean_t max((V - G)^2, (V_clip - G)^2)
 */
export function valueLoss(
  values: tf.Tensor2D, oldValues: tf.Tensor2D, returns: tf.Tensor2D, mask: tf.Tensor2D, clipRange = 0.2,
): { loss: tf.Scalar; clipFraction: tf.Scalar } {
  return tf.tidy(() => {
    const vClip = tf.add(oldValues, tf.clipByValue(tf.sub(values, oldValues), -clipRange, clipRange));
    const err = tf.square(tf.sub(values, returns));
    const errClip = tf.square(tf.sub(vClip, returns));
    const loss = tf.mul(0.5, maskedMean(tf.maximum(err, errClip), mask)) as tf.Scalar;
    // A token counts as clipped only when V really left the trust region AND the clipped error is the larger one:
    // inside the region V_old + (V - V_old) equals V only up to rounding, and comparing errors alone counts that noise.
    const outside = tf.greater(tf.abs(tf.sub(values, oldValues)), clipRange);
    const clipFraction = maskedMean(tf.cast(tf.logicalAnd(outside, tf.greater(errClip, err)), 'float32'), mask);
    return { loss, clipFraction };
  });
}

export type KLEstimator = 'k1' | 'k3';

/** Per-token KL(pi || pi_ref) estimates from log-probs of the sampled tokens (Schulman's k1 and k3). */
export function klPerToken(logp: tf.Tensor, refLogp: tf.Tensor, estimator: KLEstimator): tf.Tensor {
  return tf.tidy(() => {
    const logRatio = tf.sub(logp, refLogp); // log pi - log pi_ref
    if (estimator === 'k1') return logRatio;
    // k3 = exp(log pi_ref - log pi) - (log pi_ref - log pi) - 1  >= 0
    const r = tf.neg(logRatio);
    return tf.sub(tf.sub(tf.exp(r), r), 1);
  });
}

/** Same estimators on plain numbers, for the reward-side KL penalty. */
export function klValue(logp: number, refLogp: number, estimator: KLEstimator): number {
  const d = logp - refLogp;
  return estimator === 'k1' ? d : Math.exp(-d) + d - 1;
}
