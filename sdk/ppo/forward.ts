// The two forward passes PPO needs on response tokens: policy log-probs (and entropy) and critic values.

import { tf } from '../engine/tf.ts';
import { tokenLogprobs, type TokenLogprobs } from '../model/logprobs-op.ts';
import type { TransformerLM } from '../model/index.ts';
import type { TokenBatch } from './token-batch.ts';

/**
 * Hidden states of the positions that predict each response token: [B, R, H]. Padded: columns
 * P - 1 .. P + R - 2 of every row; packed: the gather of those positions out of the [S, W] sequences
 * (sdk/ppo/token-batch.ts), so what follows is the same either way.
 */
export function responseHidden(model: TransformerLM, tb: TokenBatch): tf.Tensor3D {
  return tf.tidy(() => {
    if (tb.packed) {
      const h = model.hidden(tb.inputIds, { positions: tb.positions, keyMask: tb.keyMask, segmentIds: tb.packed.segmentIds });
      const H = h.shape[2];
      return tf.gather(h.reshape([-1, H]), tb.packed.gather).reshape([tb.rows, tb.R, H]) as tf.Tensor3D;
    }
    const h = model.hidden(tb.inputIds, { positions: tb.positions, keyMask: tb.keyMask });
    return tf.slice(h, [0, tb.P - 1, 0], [tb.rows, tb.R, -1]) as tf.Tensor3D;
  });
}

/**
 * log pi(a_t | s_t) of every response token, [B, R], and optionally the policy entropy
 * H_t = -sum_v pi(v|s_t) log pi(v|s_t), [B, R].
 */
export function responseLogprobs(model: TransformerLM, tb: TokenBatch, withEntropy = false): TokenLogprobs {
  return tf.tidy(() => tokenLogprobs(model, responseHidden(model, tb), tb.targets, withEntropy));
}
