// The LM head's token log-probs as an op (sdk/engine/fused.ts): from hidden states h [B, R, H]
// and target tokens [B, R], log pi(target | h) and optionally the entropy of pi(. | h), both [B, R].
// The composite runs the head (logits = h W^T), logSoftmax and a one-hot select; the fused path is one
// OrzTokenLogprobs kernel forward and one OrzTokenLogprobsGrad backward, which never materialise the
// [B*R, V] logits in tfjs.

import { tf } from '../engine/tf.ts';
import { FUSED, fusedOp, runFused } from '../engine/fused.ts';
import type { TransformerLM } from './transformer.ts';

export type TokenLogprobs = { logp: tf.Tensor2D; entropy?: tf.Tensor2D };

/** log pi(a_t | s_t) [B, R] and, with `withEntropy`, H_t = -sum_v pi(v|s_t) log pi(v|s_t) [B, R]. */
export const tokenLogprobs = fusedOp({
  name: 'tokenLogprobs',
  kernels: [FUSED.tokenLogprobs, FUSED.tokenLogprobsGrad],
  composite: (model: TransformerLM, h: tf.Tensor3D, targets: tf.Tensor2D, withEntropy: boolean): TokenLogprobs => {
    const logsm = tf.logSoftmax(model.logits(h) as tf.Tensor3D); // [B, R, V]
    const logp = selectLastAxis(logsm, targets);
    if (!withEntropy) return { logp };
    return { logp, entropy: tf.neg(tf.sum(tf.mul(tf.exp(logsm), logsm), -1)) as tf.Tensor2D };
  },
  fused: (model: TransformerLM, h: tf.Tensor3D, targets: tf.Tensor2D, withEntropy: boolean): TokenLogprobs => {
    const [B, R, H] = h.shape;
    const both = fusedTokenLogprobs(h.reshape([B * R, H]) as tf.Tensor2D, headWeight(model), targets.reshape([B * R]) as tf.Tensor1D);
    const logp = tf.slice(both, [0, 0], [1, B * R]).reshape([B, R]) as tf.Tensor2D;
    if (!withEntropy) return { logp };
    return { logp, entropy: tf.slice(both, [1, 0], [1, B * R]).reshape([B, R]) as tf.Tensor2D };
  },
});

/** The LM head's weight [V, H] (the embedding table when tied). */
function headWeight(model: TransformerLM): tf.Tensor2D {
  const name = model.headName;
  const w = model.weights.get(name);
  if (!w) throw new Error(`tokenLogprobs: the model has no ${name}`);
  return w as tf.Tensor2D;
}

/** [2, M]: log pi(t_m | h_m) and the entropy of pi(. | h_m) through the head W, with its gradient kernel. */
function fusedTokenLogprobs(h: tf.Tensor2D, w: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor2D {
  const t = tf.cast(targets, 'int32') as tf.Tensor1D;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [h, w, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    save([h, w, t]);
    return {
      value: runFused(FUSED.tokenLogprobs, { h, w, targets: t })[0] as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [h, w, t] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
        return runFused(FUSED.tokenLogprobsGrad, { dy, h, w, targets: t });
      },
    };
  });
  return f(h, w) as tf.Tensor2D;
}

/**
 * x[b, t, ids[b, t]] for x [B, T, V]: the log-prob of each target token. Written as a one-hot
 * product rather than a gather, because the cpu backend's gather gradient (an unsorted segment
 * sum over B*T*V entries) takes minutes at training sizes while this is one elementwise pass.
 */
export function selectLastAxis(x: tf.Tensor3D, ids: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.sum(tf.mul(x, tf.oneHot(ids, x.shape[2])), -1) as tf.Tensor2D);
}
