// Causal self-attention with rotary positions and grouped KV heads:
//   Attention(Q, K, V) = softmax(Q K^T / sqrt(d) + M) V,  query head h reading KV head floor(h / g),
//   g = heads / kvHeads.
//
// Layout: heads lead, [heads, B*T, d], so a head (or a group of heads) is a contiguous block and
// nothing is ever transposed or sliced along its last axis (both crawl on the tfjs cpu backend).
// For GQA the query heads are taken in the order (i, j) = (h mod g, h div g): group i is then the
// contiguous block of kvHeads query heads that pair one-to-one with the KV heads, so K and V are
// never repeated. The weight matrices are permuted to match (cheap: weight-sized).

import { tf } from '../engine/tf.ts';
import type { KVCache } from './kv-cache.ts';
import { projectHeads, spreadRows } from './ops.ts';
import type { Rope, RopeAngles } from './rope.ts';

/** Additive mask value for keys a query may not see: exp(-1e9 - max) is exactly 0 in float32. */
const MASKED = -1e9;

/**
 * The additive mask M [B, T, S] of one forward pass, S = past + T: 0 where query t may attend key s
 * (s <= past + t and key s is a real token), MASKED elsewhere. `keyMask` is [B, S] row-major or null
 * (all real). `segments` [B, T] (packed samples, past = 0) adds "and key s is in query t's segment":
 * a block-diagonal causal mask, so masked keys leave the softmax exactly as padding does.
 * Built once per forward and shared by every layer and head (and by the fused kernels, which take M).
 */
export function attentionMask(keyMask: ArrayLike<number> | null, B: number, T: number, past: number, segments: ArrayLike<number> | null = null): tf.Tensor3D {
  const S = past + T;
  if (segments !== null && past !== 0) throw new Error('attentionMask: segments (packed samples) need past = 0');
  const m = new Float32Array(B * T * S);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * S;
      for (let s = 0; s < S; s++) {
        const visible = s <= past + t && (keyMask === null || keyMask[b * S + s] !== 0)
          && (segments === null || segments[b * T + s] === segments[b * T + t]);
        if (!visible) m[row + s] = MASKED;
      }
    }
  }
  return tf.tensor3d(m, [B, T, S]);
}

/**
 * The mask of a decode step over a preallocated cache (the fused kernel's layout), [B, T, C + T]:
 * columns s < C are cache slots, visible to every new query when s < past and key s is real;
 * columns C + j are the new tokens, visible to query t when j <= t and key past + j is real.
 * `keyMask` is [B, past + T] row-major or null (all real).
 */
export function cacheAttentionMask(keyMask: ArrayLike<number> | null, B: number, T: number, past: number, capacity: number): tf.Tensor3D {
  const S = past + T, W = capacity + T;
  const m = new Float32Array(B * T * W).fill(MASKED);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * W;
      for (let s = 0; s < past; s++) if (keyMask === null || keyMask[b * S + s] !== 0) m[row + s] = 0;
      for (let j = 0; j <= t; j++) if (keyMask === null || keyMask[b * S + past + j] !== 0) m[row + capacity + j] = 0;
    }
  }
  return tf.tensor3d(m, [B, T, W]);
}

export interface AttentionWeights {
  q: tf.Tensor2D; k: tf.Tensor2D; v: tf.Tensor2D; o: tf.Tensor2D; // [out, in]
  qBias?: tf.Tensor1D; kBias?: tf.Tensor1D; vBias?: tf.Tensor1D; oBias?: tf.Tensor1D;
}

/** What one forward pass shares across layers. */
export interface AttentionContext {
  B: number;
  T: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  rope: Rope;
  qAngles: RopeAngles; // with the 1/sqrt(d) scale folded in
  kAngles: RopeAngles;
  mask: tf.Tensor3D;   // [B, T, S]
  cache?: KVCache;
  layer: number;
}

/** Attention block output for x [B*T, H] (already normed): [B*T, H]. */
export function selfAttention(x: tf.Tensor2D, w: AttentionWeights, ctx: AttentionContext): tf.Tensor2D {
  const { B, T, heads, kvHeads, headDim: d, rope } = ctx;
  const H = x.shape[1], N = B * T, g = heads / kvHeads;
  // [heads * d, ...] -> [heads, d, ...], query heads in group-major order (see the top of the file)
  const byHead = (t: tf.Tensor, n: number, inner: number, grouped: boolean) => {
    const r = t.reshape([n, d, inner]) as tf.Tensor3D;
    return grouped && g > 1
      ? (r.reshape([kvHeads, g, d * inner]).transpose([1, 0, 2]).reshape([n, d, inner]) as tf.Tensor3D)
      : r;
  };
  const bias = (b: tf.Tensor1D | undefined, n: number, grouped: boolean) => (b ? byHead(b, n, 1, grouped).reshape([n, 1, d]) as tf.Tensor3D : undefined);

  const q = rope.apply(projectHeads(x, byHead(w.q, heads, H, true), bias(w.qBias, heads, true)), ctx.qAngles); // [heads, N, d]
  let k = rope.apply(projectHeads(x, byHead(w.k, kvHeads, H, false), bias(w.kBias, kvHeads, false)), ctx.kAngles)
    .reshape([kvHeads, B, T, d]) as tf.Tensor4D;
  let v = projectHeads(x, byHead(w.v, kvHeads, H, false), bias(w.vBias, kvHeads, false)).reshape([kvHeads, B, T, d]) as tf.Tensor4D;
  if (ctx.cache) ({ keys: k, values: v } = ctx.cache.append(ctx.layer, k, v));
  const S = k.shape[2];
  const K = k.reshape([kvHeads * B, S, d]) as tf.Tensor3D;
  const V = v.reshape([kvHeads * B, S, d]) as tf.Tensor3D;

  const groups = g === 1 ? [q] : tf.split(q, g, 0); // group i: [kvHeads, N, d]
  const outs = groups.map((qi) => attend(qi.reshape([kvHeads * B, T, d]) as tf.Tensor3D, K, V, ctx.mask));
  const o = (outs.length === 1 ? outs[0]! : tf.concat(outs, 0)).reshape([heads, N, d]) as tf.Tensor3D;

  // y = sum_h o_h Wo_h^T with Wo_h = columns h*d..(h+1)*d of o_proj = rows of o_proj^T
  const woT = byHead(tf.transpose(w.o), heads, H, true); // [heads, d, H]
  const perHead = tf.matMul(o, woT); // [heads, N, H]
  const y = heads === 1 ? (perHead.reshape([N, H]) as tf.Tensor2D) : (tf.addN(tf.unstack(perHead)) as tf.Tensor2D);
  return w.oBias ? tf.add(y, w.oBias) : y;
}

/**
 * softmax(Q K^T + M) V for Q [n*B, T, d] (already scaled by 1/sqrt(d)), K, V [n*B, S, d] and a mask
 * M [B, T, S] shared by the n heads. With E = exp(s - rowmax) and z = rowsum(E), O = (E V) / z:
 * normalising after the V product divides a [.., T, d] tensor instead of [.., T, S].
 * Gradient, with P = E / z and dO' = dO / z:
 *   dV = E^T dO',   dS = P * (dO V^T - rowsum(dO * O)) = E * ([dO', -rowsum(dO' * O)] [V, 1]^T),
 *   dQ = dS K,   dK = dS^T Q.
 * The bracketed product folds the per-row subtraction and scaling into one matMul, leaving a single
 * elementwise pass over [.., T, S] in the backward. M is a constant (it gets no gradient).
 */
export function attend(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, mask: tf.Tensor3D): tf.Tensor3D {
  const [R, T, d] = q.shape;
  const S = k.shape[1];
  const [B] = mask.shape;
  if (R % B !== 0 || mask.shape[1] !== T || mask.shape[2] !== S) throw new Error(`attend: mask [${mask.shape}] does not fit queries [${q.shape}] and keys [${k.shape}]`);
  const rows = (x: tf.Tensor, width: number) => spreadRows(x.reshape([R * T]) as tf.Tensor1D, width).reshape([R, T, width]);
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [q, k, v, save] = args as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.GradSaveFunc];
    // [n, B, T, S] + [B, T, S]: broadcasting over a leading axis is the fast path
    const s = tf.add(tf.matMul(q, k, false, true).reshape([R / B, B, T, S]), mask).reshape([R, T, S]);
    const e = tf.exp(tf.sub(s, rows(tf.max(s, -1), S))) as tf.Tensor3D;
    const invZ = tf.reciprocal(tf.sum(e, -1));
    const o = tf.mul(tf.matMul(e, v), rows(invZ, d)) as tf.Tensor3D;
    save([q, k, v, e, invZ, o]);
    return {
      value: o,
      gradFunc: (dO: tf.Tensor3D, saved: tf.Tensor[]) => {
        const [q, k, v, e, invZ, o] = saved as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.Tensor2D, tf.Tensor3D];
        const dOz = tf.mul(dO, rows(invZ, d)) as tf.Tensor3D;                  // dO / z
        const delta = tf.neg(tf.sum(tf.mul(dOz, o), -1, true));               // -rowsum(dO' * O), [R, T, 1]
        const lhs = tf.concat([dOz, delta], 2) as tf.Tensor3D;                 // [R, T, d+1]
        const rhs = tf.concat([v, tf.ones([R, S, 1])], 2) as tf.Tensor3D;      // [R, S, d+1]
        const dS = tf.mul(e, tf.matMul(lhs, rhs, false, true)) as tf.Tensor3D; // [R, T, S]
        return [tf.matMul(dS, k), tf.matMul(dS, q, true, false), tf.matMul(e, dOz, true, false)];
      },
    };
  });
  return f(q, k, v) as tf.Tensor3D;
}
