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
    const V = logits.shape[2];
    const logsm = tf.logSoftmax(logits).reshape([-1]);
    // gather log pi at the target ids: flat index (b*R + t)*V + a_t
    const base = tf.mul(tf.range(0, tb.rows * tb.R, 1, 'int32'), tf.scalar(V, 'int32'));
    const flatIdx = tf.add(base, tb.targets.reshape([-1]));
    out.logp = tf.keep(tf.gather(logsm, flatIdx).reshape([tb.rows, tb.R]) as tf.Tensor2D);
    if (withEntropy) {
      const l3 = logsm.reshape([tb.rows, tb.R, V]);
      out.entropy = tf.keep(tf.neg(tf.sum(tf.mul(tf.exp(l3), l3), -1)) as tf.Tensor2D);
    }
  });
  return out;
}
