// The ONNX graph of one decoder layer's forward pass, Llama/Qwen2/GPT-NeoX (sdk/model computes the
// same function op by op; Norm is RMSNorm, or LayerNorm with a bias):
//   xn = Norm1(x),  q = rope(xn Wq^T + bq) / sqrt(d),  k = rope(xn Wk^T + bk),  v = xn Wv^T + bv
//   o = softmax(q k^T + M) v   (query head h reads KV head floor(h / g)),   x1 = x + o Wo^T + bo
//   xm = Norm2(x1), or Norm2(x) with the parallel residual (then y = x + attn + mlp)
//   y = x1 + down(act(xm Wg^T) * (xm Wu^T))   (or down(act(xm Wu^T + bu)) + bd ungated)
// rope turns the first rotaryDims dims of each head (all of them for llama).
// Layout for ORT: rows stay [B, T, .] so every projection is one GEMM over all B*T rows; heads are
// split by Reshape/Transpose inside the graph. Every dim is symbolic (B, T, S, cache capacity C).
//
// Modes (the outputs differ):
//   train    y plus the activations the backward needs: q, k, v (after rope), o, x1, a (gate), u (up)
//   infer    y only (no gradient will be taken)
//   prefill  y and the new k, v [B, kvHeads, T, d] (written into a KV cache by the caller)
//   decode   like prefill, but also attends over a cache K_c, V_c [B, kvHeads, C, d]: the scores are
//            [q K_c^T, q k^T] + M with M [B, T, C + T]; unused cache slots are masked by M, so the
//            shapes stay fixed while the cache fills and the cache is never copied.

import { ELEM, type OnnxGraph, type OnnxValue } from '../proto.ts';
import { GraphBuilder, groupQueries, mergeHeads, normNodes, ropeNodes, splitHeads, type LayerSpec } from './layer-graph-builder.ts';

export type LayerMode = 'train' | 'infer' | 'prefill' | 'decode';

const F = ELEM.float;

/** Graph inputs of the forward kernel, in feeding order (weights after the activations). */
export function forwardInputNames(spec: LayerSpec, mode: LayerMode): string[] {
  const names = ['x', 'cos', 'sin', 'mask'];
  if (mode === 'decode') names.push('kCache', 'vCache');
  return [...names, ...weightInputNames(spec)];
}

/** The layer's weights as kernel inputs (tfjs names), in order; biases and gate only when present. */
export function weightInputNames(spec: LayerSpec): string[] {
  const names = ['inputNorm'];
  if (spec.norm === 'layer') names.push('inputNormBias');
  names.push('wq');
  if (spec.bias.q) names.push('bq');
  names.push('wk');
  if (spec.bias.k) names.push('bk');
  names.push('wv');
  if (spec.bias.v) names.push('bv');
  names.push('wo');
  if (spec.bias.o) names.push('bo');
  names.push('postNorm');
  if (spec.norm === 'layer') names.push('postNormBias');
  if (spec.gate) names.push('wg');
  names.push('wu');
  if (spec.bias.u) names.push('bu');
  names.push('wd');
  if (spec.bias.d) names.push('bd');
  return names;
}

/** Whether a weight input is a vector (norm weights and biases) rather than a matrix. */
export function isVectorInput(name: string): boolean {
  return name === 'inputNorm' || name === 'postNorm' || name.endsWith('Bias') || /^b[qkvoud]$/.test(name);
}

/** Outputs of the forward kernel, in order. */
export function forwardOutputNames(spec: LayerSpec, mode: LayerMode): string[] {
  if (mode === 'train') return ['y', 'q', 'k', 'v', 'o', 'x1', ...(spec.gate ? ['a'] : []), 'u'];
  if (mode === 'infer') return ['y'];
  return ['y', 'k', 'v'];
}

/** ONNX value infos of the layer's weights (symbolic sizes; the config fixes them anyway). */
export function weightValues(spec: LayerSpec): OnnxValue[] {
  return weightInputNames(spec).map((n) => ({
    name: n, elem: F,
    dims: isVectorInput(n) ? [`${n}0`] : [`${n}0`, `${n}1`],
  }));
}

/** The activation inputs every layer graph shares: x [B,T,H], cos/sin [B,T,1,d], mask [B,1,1,T,S]. */
export function activationValues(): OnnxValue[] {
  return [
    { name: 'x', elem: F, dims: ['B', 'T', 'H'] },
    { name: 'cos', elem: F, dims: ['B', 'T', 1, 'd'] },
    { name: 'sin', elem: F, dims: ['B', 'T', 1, 'd'] },
    { name: 'mask', elem: F, dims: ['B', 1, 1, 'T', 'S'] },
  ];
}

/** xn W^T (+ b) for xn [B, T, in] and W [out, in]. */
export function projection(g: GraphBuilder, xn: string, w: string, bias: string | null): string {
  const y = g.matmul(xn, w, false, true);
  return bias ? g.add(y, bias) : y;
}

/** The MLP's hidden activation h from a = xm Wg^T (or null when ungated) and u = xm Wu^T. */
export function mlpHidden(g: GraphBuilder, spec: LayerSpec, a: string | null, u: string): string {
  if (spec.gate) {
    const actA = spec.act === 'silu' ? g.mul(a!, g.op('Sigmoid', [a!])) : geluNodes(g, a!);
    return g.mul(actA, u);
  }
  return spec.act === 'silu' ? g.mul(u, g.op('Sigmoid', [u])) : geluNodes(g, u);
}

/** Exact GELU: x/2 (1 + erf(x / sqrt 2)). */
function geluNodes(g: GraphBuilder, x: string): string {
  const phi = g.add(g.op('Erf', [g.mul(x, g.scalar(Math.SQRT1_2))]), g.scalar(1));
  return g.mul(g.mul(x, g.scalar(0.5)), phi);
}

export function layerForwardGraph(spec: LayerSpec, mode: LayerMode): OnnxGraph {
  const { heads, kvHeads, headDim: d } = spec;
  const g = new GraphBuilder();
  const bias = (on: boolean, name: string) => (on ? name : null);

  // attention block
  const { xn } = normNodes(g, spec, 'x', 'inputNorm', 'inputNormBias');
  const qh = g.reshape(projection(g, xn, 'wq', bias(spec.bias.q, 'bq')), [0, 0, heads, d]);
  const kh = g.reshape(projection(g, xn, 'wk', bias(spec.bias.k, 'bk')), [0, 0, kvHeads, d]);
  const vp = projection(g, xn, 'wv', bias(spec.bias.v, 'bv'));
  const qr = g.mul(ropeNodes(g, qh, 'cos', 'sin', d, spec.rotaryDims), g.scalar(1 / Math.sqrt(d)));
  const q = g.transpose(qr, [0, 2, 1, 3]);                      // [B, heads, T, d]
  const k = g.transpose(ropeNodes(g, kh, 'cos', 'sin', d, spec.rotaryDims), [0, 2, 1, 3]); // [B, kvHeads, T, d]
  const v = splitHeads(g, vp, kvHeads, d);
  const qg = groupQueries(g, q, spec);                         // [B, kvHeads, g, T, d]
  const kg = g.op('Unsqueeze', [k, g.ints([2])]);              // [B, kvHeads, 1, T, d]
  const vg = g.op('Unsqueeze', [v, g.ints([2])]);
  let og: string;
  if (mode === 'decode') {
    const kc = g.op('Unsqueeze', ['kCache', g.ints([2])]);     // [B, kvHeads, 1, C, d]
    const vc = g.op('Unsqueeze', ['vCache', g.ints([2])]);
    const scores = g.op('Concat', [g.matmul(qg, kc, false, true), g.matmul(qg, kg, false, true)], { axis: -1 });
    const p = g.op('Softmax', [g.add(scores, 'mask')], { axis: -1 }); // [B, kvHeads, g, T, C + T]
    const C = g.op('Shape', ['kCache'], { start: 2, end: 3 });
    const last = g.ints([-1]);
    const pc = g.op('Slice', [p, g.ints([0]), C, last]);
    const pn = g.op('Slice', [p, C, g.ints([2 ** 40]), last]);
    og = g.add(g.matmul(pc, vc), g.matmul(pn, vg));
  } else {
    const p = g.op('Softmax', [g.add(g.matmul(qg, kg, false, true), 'mask')], { axis: -1 });
    og = g.matmul(p, vg);                                      // [B, kvHeads, g, T, d]
  }
  const o = mergeHeads(g, g.reshape(og, [0, heads, -1, d]));  // [B, T, heads*d]
  const x1 = g.add('x', projection(g, o, 'wo', bias(spec.bias.o, 'bo')));

  // MLP block
  const { xn: xm } = normNodes(g, spec, spec.parallel ? 'x' : x1, 'postNorm', 'postNormBias');
  const a = spec.gate ? g.matmul(xm, 'wg', false, true) : null;
  const u = projection(g, xm, 'wu', spec.bias.u ? 'bu' : null);
  g.output(g.add(x1, projection(g, mlpHidden(g, spec, a, u), 'wd', spec.bias.d ? 'bd' : null)), 'y');

  const outputs: OnnxValue[] = [{ name: 'y', elem: F, dims: ['B', 'T', 'H'] }];
  const kvOut = () => {
    g.output(k, 'k');
    g.output(v, 'v');
    outputs.push({ name: 'k', elem: F, dims: ['B', 'kvHeads', 'T', 'd'] }, { name: 'v', elem: F, dims: ['B', 'kvHeads', 'T', 'd'] });
  };
  if (mode === 'train') {
    g.output(q, 'q');
    outputs.push({ name: 'q', elem: F, dims: ['B', 'heads', 'T', 'd'] });
    kvOut();
    g.output(o, 'o');
    g.output(x1, 'x1');
    outputs.push({ name: 'o', elem: F, dims: ['B', 'T', 'O'] }, { name: 'x1', elem: F, dims: ['B', 'T', 'H'] });
    if (a) {
      g.output(a, 'a');
      outputs.push({ name: 'a', elem: F, dims: ['B', 'T', 'I'] });
    }
    g.output(u, 'u');
    outputs.push({ name: 'u', elem: F, dims: ['B', 'T', 'I'] });
  } else if (mode !== 'infer') {
    kvOut();
  }

  const inputs = activationValues();
  if (mode === 'decode') {
    inputs.push({ name: 'kCache', elem: F, dims: ['B', 'kvHeads', 'C', 'd'] }, { name: 'vCache', elem: F, dims: ['B', 'kvHeads', 'C', 'd'] });
  }
  inputs.push(...weightValues(spec));
  return { nodes: g.nodes, inputs, outputs, opset: 18 };
}
