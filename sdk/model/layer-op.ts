// The decoder stack as an op (sdk/engine/fused.ts): every layer
//   sequential:  x_l' = x_l + Attn(Norm1(x_l)),   x_{l+1} = x_l' + MLP(Norm2(x_l'))
//   parallel:    x_{l+1} = x_l + Attn(Norm1(x_l)) + MLP(Norm2(x_l))      (GPT-NeoX's use_parallel_residual)
// over x [B*T, H], Norm being RMSNorm or LayerNorm as the family table says (family.ts). The composite runs each layer op by op (attention.ts, ops.ts) on any backend; the
// fused path runs each layer as one OrzLayerForward call, and its gradient as one OrzLayerBackward.
//
// Which fused forward mode runs:
//   cache, empty      prefill: y and the new k, v, written into the cache
//   cache, non-empty  decode: attends over the cache's whole buffers (unused slots masked)
//   no cache, no tape infer: y only
//   no cache, tape    train: a tf.customGrad over (x, weights...) whose gradient is OrzLayerBackward

import { tf } from '../engine/tf.ts';
import { FUSED, fusedOp, runFused, type FusedLayerAttrs } from '../engine/fused.ts';
import { attentionMask, cacheAttentionMask, selfAttention, type AttentionWeights } from './attention.ts';
import type { ResolvedModelConfig } from './config.ts';
import type { Architecture } from './family.ts';
import type { KVCache } from './kv-cache.ts';
import type { LayerWeights } from './layer-weights.ts';
import { gelu, layerNorm, linear, rmsNorm, silu } from './ops.ts';
import type { Rope } from './rope.ts';

/** What every fused layer of one forward pass shares. */
interface FusedLayerContext extends FusedLayerAttrs {
  cos: tf.Tensor2D;  // [B*T, d], rope at each row's position (unscaled)
  sin: tf.Tensor2D;
  mask: tf.Tensor3D; // [B, T, S] additive; [B, T, C + T] when decoding over a cache (cacheAttentionMask)
  cache?: KVCache;
  layer: number;
}

/** The layer's weights as kernel inputs, in the kernels' order (biases and gate only when present). */
function weightInputs(l: LayerWeights): [string, tf.Tensor][] {
  const a = l.attn;
  const list: [string, tf.Tensor | undefined][] = [
    ['inputNorm', l.inputNorm], ['inputNormBias', l.inputNormBias], ['wq', a.q], ['bq', a.qBias], ['wk', a.k], ['bk', a.kBias], ['wv', a.v], ['bv', a.vBias],
    ['wo', a.o], ['bo', a.oBias], ['postNorm', l.postNorm], ['postNormBias', l.postNormBias], ['wg', l.gate],
    ['wu', l.up], ['bu', l.upBias], ['wd', l.down], ['bd', l.downBias],
  ];
  return list.filter((e): e is [string, tf.Tensor] => e[1] !== undefined);
}

function isTapeOn(): boolean {
  return (tf.engine() as unknown as { isTapeOn(): boolean }).isTapeOn();
}

/** One layer's output [B*T, H] for its input x [B*T, H], as one fused kernel call. */
function fusedLayer(x: tf.Tensor2D, l: LayerWeights, ctx: FusedLayerContext): tf.Tensor2D {
  const attrs: FusedLayerAttrs = {
    heads: ctx.heads, kvHeads: ctx.kvHeads, headDim: ctx.headDim, act: ctx.act, eps: ctx.eps,
    norm: ctx.norm, parallel: ctx.parallel, rotaryDims: ctx.rotaryDims,
  };
  const weights = weightInputs(l);
  const named = (pairs: [string, tf.Tensor][]): tf.NamedTensorMap => Object.fromEntries(pairs);
  const common: [string, tf.Tensor][] = [['x', x], ['cos', ctx.cos], ['sin', ctx.sin], ['mask', ctx.mask]];

  const { cache } = ctx;
  if (cache) {
    const T = ctx.mask.shape[1];
    if (cache.length === 0) {
      const [y, k, v] = runFused(FUSED.layerForward, named([...common, ...weights]), { ...attrs, mode: 'prefill' });
      cache.write(ctx.layer, k!.dataSync() as Float32Array, v!.dataSync() as Float32Array, T);
      tf.dispose([k!, v!]);
      return y as tf.Tensor2D;
    }
    const view = cache.view(ctx.layer);
    const [y, k, v] = runFused(FUSED.layerForward, named([...common, ['kCache', view.keys], ['vCache', view.values], ...weights]), { ...attrs, mode: 'decode' });
    tf.dispose([view.keys, view.values]); // before the write: they share the cache's storage
    cache.write(ctx.layer, k!.dataSync() as Float32Array, v!.dataSync() as Float32Array, T);
    tf.dispose([k!, v!]);
    return y as tf.Tensor2D;
  }
  if (!isTapeOn()) return runFused(FUSED.layerForward, named([...common, ...weights]), { ...attrs, mode: 'infer' })[0] as tf.Tensor2D;

  const names = weights.map(([n]) => n);
  const { cos, sin, mask } = ctx;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const inputs = args.slice(0, -1) as tf.Tensor[]; // x, then the weights in `names` order
    const w = names.map((n, i) => [n, inputs[i + 1]!] as [string, tf.Tensor]);
    const [y, ...activations] = runFused(FUSED.layerForward, named([['x', inputs[0]!], ['cos', cos], ['sin', sin], ['mask', mask], ...w]), { ...attrs, mode: 'train' });
    // closures would see cos/sin/mask disposed by the caller's tidy before the backward runs
    save([inputs[0]!, cos, sin, mask, ...activations, ...w.map(([, t]) => t)]);
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, cs, sn, mk] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        const acts = saved.slice(4, 4 + activations.length);
        const ws = saved.slice(4 + activations.length);
        const actNames = ['q', 'k', 'v', 'o', 'x1', ...(l.gate ? ['a'] : []), 'u'];
        const inputsBack: [string, tf.Tensor][] = [
          ['dy', dy], ['x', xs], ['cos', cs], ['sin', sn], ['mask', mk],
          ...actNames.map((n, i) => [n, acts[i]!] as [string, tf.Tensor]),
          ...names.map((n, i) => [n, ws[i]!] as [string, tf.Tensor]),
        ];
        return runFused(FUSED.layerBackward, named(inputsBack), attrs); // dx, then one per weight
      },
    };
  });
  return f(x, ...weights.map(([, t]) => t)) as tf.Tensor2D;
}

/** The model's layers and what they share. */
export interface LayerStack { config: ResolvedModelConfig; arch: Architecture; layers: LayerWeights[]; rope: Rope }

/** Where the rows of one forward pass sit: B rows of T new tokens after `past` cached ones. */
export interface LayerInputs {
  positions: Int32Array;             // [B*T] position of each token
  keyMask: ArrayLike<number> | null; // [B, past + T] 1 = real token; null = all real
  segments?: Int32Array | null;      // [B*T] packed sample of each token (attend within it); no cache
  B: number;
  T: number;
  past: number;
  cache?: KVCache;
}

/** Every decoder layer over x [B*T, H]; with a cache, its new keys and values are written into it. */
export const decoderLayers = fusedOp({
  name: 'layer',
  kernels: [FUSED.layerForward, FUSED.layerBackward],
  composite: compositeLayers,
  fused: fusedLayers,
});

/** Every layer op by op (any backend). */
function compositeLayers(stack: LayerStack, x: tf.Tensor2D, at: LayerInputs): tf.Tensor2D {
  const { config: c, rope } = stack;
  const { positions, keyMask, segments, B, T, past, cache } = at;
  const d = c.head_dim;
  const ctx = {
    B, T, heads: c.num_attention_heads, kvHeads: c.num_key_value_heads, headDim: d, rope,
    qAngles: rope.angles(positions, 1 / Math.sqrt(d)), kAngles: rope.angles(positions),
    mask: attentionMask(keyMask, B, T, past, segments ?? null), layer: 0,
    ...(cache ? { cache } : {}),
  };
  const a = stack.arch;
  const norm = (x: tf.Tensor2D, w: tf.Tensor1D, b: tf.Tensor1D | undefined) =>
    (a.norm === 'rms' ? rmsNorm(x, w, a.eps) : layerNorm(x, w, b!, a.eps));
  stack.layers.forEach((l, i) => {
    ctx.layer = i;
    const attnOut = selfAttention(norm(x, l.inputNorm, l.inputNormBias), l.attn, ctx);
    if (a.parallelResidual) {
      x = tf.addN([x, attnOut, mlp(a, norm(x, l.postNorm, l.postNormBias), l)]) as tf.Tensor2D;
    } else {
      x = tf.add(x, attnOut);
      x = tf.add(x, mlp(a, norm(x, l.postNorm, l.postNormBias), l));
    }
  });
  return x;
}

/** down(act(gate(x)) * up(x)), or down(act(up(x) + b_up)) + b_down without a gate. */
function mlp(a: Architecture, x: tf.Tensor2D, l: LayerWeights): tf.Tensor2D {
  const act = a.act === 'silu' ? silu : gelu;
  const withBias = (y: tf.Tensor2D, b: tf.Tensor1D | undefined) => (b ? (tf.add(y, b) as tf.Tensor2D) : y);
  const up = withBias(linear(x, l.up), l.upBias);
  const h = l.gate ? tf.mul(act(linear(x, l.gate)), up) : act(up);
  return withBias(linear(h as tf.Tensor2D, l.down), l.downBias);
}

/** Every layer as one fused kernel call; a cache is read in place. */
function fusedLayers(stack: LayerStack, x: tf.Tensor2D, at: LayerInputs): tf.Tensor2D {
  const { config: c, rope } = stack;
  const { positions, keyMask, segments, B, T, past, cache } = at;
  const d = c.head_dim;
  const { cos, sin } = rope.tables(positions);
  const ctx: FusedLayerContext = {
    heads: c.num_attention_heads, kvHeads: c.num_key_value_heads, headDim: d, act: stack.arch.act, eps: stack.arch.eps,
    norm: stack.arch.norm, parallel: stack.arch.parallelResidual, rotaryDims: stack.arch.rotaryDims,
    cos: tf.tensor2d(cos, [B * T, d]), sin: tf.tensor2d(sin, [B * T, d]),
    mask: cache && past > 0 ? cacheAttentionMask(keyMask, B, T, past, cache.capacity) : attentionMask(keyMask, B, T, past, segments ?? null),
    layer: 0,
    ...(cache ? { cache } : {}),
  };
  stack.layers.forEach((l, i) => {
    ctx.layer = i;
    x = fusedLayer(x, l, ctx);
  });
  return x;
}
