// Building blocks with hand-written gradients, shaped for the tfjs cpu backend.
//
// Why: on the cpu backend an elementwise op whose operand broadcasts along a *trailing* axis
// (x[N,H] * r[N,1]) walks an index per element and is ~15x slower than the same-shape op, and the
// built-in gradients of mean/sum/softmax do exactly that; the gather gradient is worse still
// (one pass over the whole input per vocabulary row). So per-row scalars are spread with a rank-1
// matMul (r[N,1] @ ones[1,H]) and these ops carry their own gradients. All use standard tfjs ops
// only, so they run on any backend.

import { tf } from '../engine/tf.ts';

/** [N] -> [N, W]: row n filled with col[n] (or col[n] * row[j] when `row` is given), via matMul. */
export function spreadRows(col: tf.Tensor1D, width: number, row?: tf.Tensor1D): tf.Tensor2D {
  const r = row ? row.reshape([1, width]) : tf.ones([1, width]);
  return tf.matMul(col.reshape([col.shape[0], 1]), r as tf.Tensor2D);
}

/**
 * RMSNorm over the last axis of x [N, H]:  y = x / sqrt(mean(x^2) + eps) * w.
 * Gradient, with r = (mean(x^2)+eps)^(-1/2) and g = dy * w:
 *   dx = r g - x r^3 mean(g x),   dw = sum_n r_n dy_n x_n.
 */
export function rmsNorm(x: tf.Tensor2D, w: tf.Tensor1D, eps: number): tf.Tensor2D {
  const H = x.shape[1];
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xx, w, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
    // sum then scale: tf.mean divides every element first, which costs more than the reduction
    const r = tf.rsqrt(tf.add(tf.mul(tf.sum(tf.square(xx), -1), 1 / H), eps)) as tf.Tensor1D;
    save([xx, w, r]);
    return {
      value: tf.mul(xx, spreadRows(r, H, w)) as tf.Tensor2D, // x * (r w^T)
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [x, w, r] = saved as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
        const g = tf.mul(dy, w);
        const gxMean = tf.mul(tf.sum(tf.mul(g, x), -1), 1 / H) as tf.Tensor1D;
        const r3m = tf.mul(tf.mul(tf.mul(r, r), r), gxMean) as tf.Tensor1D;
        const dx = tf.sub(tf.mul(g, spreadRows(r, H)), tf.mul(x, spreadRows(r3m, H)));
        const dw = tf.matMul(r.reshape([1, -1]) as tf.Tensor2D, tf.mul(dy, x) as tf.Tensor2D).reshape([H]);
        return [dx, dw];
      },
    };
  });
  return f(x, w) as tf.Tensor2D;
}

/**
 * LayerNorm over the last axis of x [N, H]:  y = (x - mu) r * w + b,  r = (var(x) + eps)^(-1/2)
 * (biased variance, as torch). Gradient, with xh = (x - mu) r and g = dy * w:
 *   dx = r (g - mean(g) - xh mean(g xh)),   dw = sum_n dy_n xh_n,   db = sum_n dy_n.
 */
export function layerNorm(x: tf.Tensor2D, w: tf.Tensor1D, b: tf.Tensor1D, eps: number): tf.Tensor2D {
  const [N, H] = x.shape;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xx, w, b, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const mu = tf.mul(tf.sum(xx, -1), 1 / H) as tf.Tensor1D;
    const xc = tf.sub(xx, spreadRows(mu, H));
    const r = tf.rsqrt(tf.add(tf.mul(tf.sum(tf.square(xc), -1), 1 / H), eps)) as tf.Tensor1D;
    const xh = tf.mul(xc, spreadRows(r, H)) as tf.Tensor2D;
    save([xh, w, r]);
    return {
      value: tf.add(tf.mul(xh, w), b) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [xh, w, r] = saved as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
        const g = tf.mul(dy, w);
        const gMean = tf.mul(tf.sum(g, -1), 1 / H) as tf.Tensor1D;
        const gxMean = tf.mul(tf.sum(tf.mul(g, xh), -1), 1 / H) as tf.Tensor1D;
        const inner = tf.sub(tf.sub(g, spreadRows(gMean, H)), tf.mul(xh, spreadRows(gxMean, H)));
        const dx = tf.mul(inner, spreadRows(r, H));
        const ones = tf.ones([1, N]) as tf.Tensor2D;
        const dw = tf.matMul(ones, tf.mul(dy, xh) as tf.Tensor2D).reshape([H]);
        const db = tf.matMul(ones, dy).reshape([H]);
        return [dx, dw, db];
      },
    };
  });
  return f(x, w, b) as tf.Tensor2D;
}

/**
 * Rows of the embedding table E [V, H] for int32 ids [N]; the gradient scatter-adds dy into E:
 * dE[v] = sum over n with ids[n] = v of dy[n] (tf.scatterND; the onnxruntime backend runs it as one
 * pass over the rows, sdk/engine/onnx/scatter-add.ts).
 */
export function embeddingLookup(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  const [V, H] = table.shape;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [table, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    save([ids]); // kept for the backward pass (a closure would see it disposed)
    return {
      value: tf.gather(table, ids) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => tf.scatterND(saved[0]!.reshape([-1, 1]), dy, [V, H]),
    };
  });
  return f(table) as tf.Tensor2D;
}

/**
 * Per-head projections in one batched matMul: y_h = x W_h^T (+ b_h) for x [N, H], w [heads, d, H],
 * b [heads, 1, d]; y [heads, N, d], heads on the leading axis so each head is a contiguous block.
 * Gradient: dx = sum_h dy_h W_h (an addN of contiguous blocks; tfjs's broadcast-matMul gradient
 * would reduce over a leading axis, which transposes), dW_h = dy_h^T x, db_h = sum_n dy_h.
 */
export function projectHeads(x: tf.Tensor2D, w: tf.Tensor3D, b?: tf.Tensor3D): tf.Tensor3D {
  const [N, H] = x.shape;
  const heads = w.shape[0];
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const [x, w, b] = args as [tf.Tensor2D, tf.Tensor3D, tf.Tensor3D | tf.GradSaveFunc];
    const x3 = x.reshape([1, N, H]) as tf.Tensor3D;
    let y: tf.Tensor3D = tf.matMul(x3, w, false, true);
    if (b instanceof tf.Tensor) y = tf.add(y, tf.matMul(tf.ones([1, N, 1]) as tf.Tensor3D, b)); // b_h in every row
    save([x3, w]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor3D, saved: tf.Tensor[]) => {
        const [x3, w] = saved as [tf.Tensor3D, tf.Tensor3D];
        const perHead = tf.matMul(dy, w); // [heads, N, H]
        const dx = heads === 1 ? perHead.reshape([N, H]) : tf.addN(tf.unstack(perHead));
        const dw = tf.matMul(dy, x3, true, false);
        return b instanceof tf.Tensor ? [dx, dw, tf.matMul(tf.ones([1, 1, N]) as tf.Tensor3D, dy)] : [dx, dw];
      },
    };
  });
  return (b ? f(x, w, b) : f(x, w)) as tf.Tensor3D;
}

/** x W^T for x [N, in], W [out, in] (torch.nn.Linear layout, bias-free). */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  return tf.matMul(x, w, false, true);
}

/** silu(x) = x * sigmoid(x) (the SwiGLU gate). */
export function silu(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.sigmoid(x));
}

/** Exact GELU, as torch's nn.GELU(): x/2 * (1 + erf(x / sqrt 2)). */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
}
