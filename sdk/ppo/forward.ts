// The two forward passes PPO needs on response tokens: policy log-probs (and entropy) and critic values.

import { tf } from '../engine/tf.ts';
import { FUSED, fusedKernel, runFused } from '../engine/fused.ts';
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
    if (fusedKernel(FUSED.tokenLogprobs, FUSED.tokenLogprobsGrad)) {
      const [B, R, H] = h.shape;
      const both = fusedTokenLogprobs(h.reshape([B * R, H]) as tf.Tensor2D, headWeight(model), tb.targets.reshape([B * R]) as tf.Tensor1D);
      out.logp = tf.keep(tf.slice(both, [0, 0], [1, B * R]).reshape([B, R]) as tf.Tensor2D);
      if (withEntropy) out.entropy = tf.keep(tf.slice(both, [1, 0], [1, B * R]).reshape([B, R]) as tf.Tensor2D);
      return;
    }
    const logits = model.logits(h) as tf.Tensor3D; // [B, R, V]
    const logsm = tf.logSoftmax(logits);
    out.logp = tf.keep(selectLastAxis(logsm, tb.targets));
    if (withEntropy) {
      out.entropy = tf.keep(tf.neg(tf.sum(tf.mul(tf.exp(logsm), logsm), -1)) as tf.Tensor2D);
    }
  });
  return out;
}

/** The LM head's weight [V, H] (the embedding table when tied). */
function headWeight(model: TransformerLM): tf.Tensor2D {
  const name = model.config.tie_word_embeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';
  const w = model.weights.get(name);
  if (!w) throw new Error(`responseLogprobs: the model has no ${name}`);
  return w as tf.Tensor2D;
}

/**
 * [2, M]: log pi(t_m | h_m) and the entropy of pi(. | h_m), through the LM head W, as one fused
 * kernel each way (sdk/engine/onnx/fused/loss-head.ts); the same function as model.logits then
 * logSoftmax, selectLastAxis and the entropy sum, without materialising [M, V] tensors in tfjs.
 */
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
