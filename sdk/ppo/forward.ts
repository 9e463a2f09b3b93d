// The two forward passes PPO needs on response tokens: policy log-probs (and entropy) and critic values.

import { tf } from '../engine/tf.ts';
import type { TransformerLM } from '../model/index.ts';
import type { TokenBatch } from './token-batch.ts';

/** Hidden states of the positions that predict each response token: [B, R, H]. */
export function responseHidden(model: TransformerLM, tb: TokenBatch): tf.Tensor3D {
  return tf.tidy(() => {
    const h = model.hidden(tb.inputIds, { positions: tb.positions, keyMask: tb.keyMask });
    return tf.slice(h, [0, tb.P - 1, 0], [tb.rows, tb.R, -1]) as tf.Tensor3D;
  });
}

/**
 * log pi(a_t | s_t) of every response token, [B, R], and optionally the policy entropy
 * H_t = -sum_v pi(v|s_t) log pi(v|s_t), [B, R].
 */
export function responseLogprobs(model: TransformerLM, tb: TokenBatch, withEntropy = false): { logp: tf.Tensor2D; entropy?: tf.Tensor2D } {
  const out: { logp: tf.Tensor2D; entropy?: tf.Tensor2D } = { logp: null as unknown as tf.Tensor2D };
  tf.tidy(() => {
    const h = responseHidden(model, tb);
    const logits = model.logits(h) as tf.Tensor3D; // [B, R, V]
    const logsm = tf.logSoftmax(logits);
    out.logp = tf.keep(selectLastAxis(logsm, tb.targets));
    if (withEntropy) {
      out.entropy = tf.keep(tf.neg(tf.sum(tf.mul(tf.exp(logsm), logsm), -1)) as tf.Tensor2D);
    }
  });
  return out;
}

/**
 * x[b, t, ids[b, t]] for x [B, T, V]: the log-prob of each target token. Written as a one-hot
 * product rather than a gather, because the cpu backend's gather gradient (an unsorted segment
 * sum over B*T*V entries) takes minutes at training sizes while this is one elementwise pass.
 */
export function selectLastAxis(x: tf.Tensor3D, ids: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.sum(tf.mul(x, tf.oneHot(ids, x.shape[2])), -1) as tf.Tensor2D);
}
