// The ONNX graph of one decoder layer's backward pass (the forward is layer-forward-graph.ts).
// Inputs: dy, the layer input x, the rope tables and mask, the forward's saved activations
// q (roped, scaled), k (roped), v, o, x1, a, u, and the weights. Recomputed here (cheap,
// elementwise or one small GEMM): both RMSNorms, the MLP hidden h, the attention probabilities P.
//
// MLP, with h = act(a) * u (gated) or h = act(u):
//   dh = dy Wd,  dWd = dy^T h,  du = dh act(a),  da = dh u act'(a)
//   silu'(z) = s (1 + z (1 - s)), s = sigmoid(z);  gelu'(z) = Phi(z) + z phi(z)
//   dxm = da Wg + du Wu,  dWg = da^T xm,  dWu = du^T xm,  dbu = sum du,  dbd = sum dy
//   dx1 = dy + Norm2'(dxm) (sequential); with the parallel residual Norm2 reads x, so
//   dx1 = dy and Norm2'(dxm) joins dx at the end
// Attention, per (B, kv head, group) with P = softmax(q k^T + M):
//   do = dx1 Wo,  dWo = dx1^T o,  dbo = sum dx1
//   dv = sum_g P^T do,  dP = do v^T,  dS = P (dP - rowsum(dP P)),  dq = dS k,  dk = sum_g dS^T q
//   dq', dk' through rope^T (and the 1/sqrt(d) scale for q), then the three projections:
//   dxn = dq' Wq + dk' Wk + dv' Wv,  dW = d(.)^T xn,  db = sum d(.),  dx = dx1 + Norm1'(dxn)

import { ELEM, type OnnxGraph, type OnnxValue } from '../proto.ts';
import { activationValues, isVectorInput, mlpHidden, weightInputNames, weightValues } from './layer-forward-graph.ts';
import { GraphBuilder, groupQueries, mergeHeads, normGradNodes, normNodes, ropeGradNodes, type LayerSpec } from './layer-graph-builder.ts';

const F = ELEM.float;

/**
 * Weight inputs the backward reads: the linears' biases enter no gradient (the saved activations
 * include them); LayerNorm's biases do, through the recomputed normed inputs.
 */
export function backwardWeightNames(spec: LayerSpec): string[] {
  return weightInputNames(spec).filter((n) => !/^b[qkvoud]$/.test(n));
}

/** Saved activations the backward reads, in order (the forward's train outputs after y). */
export function savedNames(spec: LayerSpec): string[] {
  return ['q', 'k', 'v', 'o', 'x1', ...(spec.gate ? ['a'] : []), 'u'];
}

/** Graph inputs of the backward kernel, in feeding order. */
export function backwardInputNames(spec: LayerSpec): string[] {
  return ['dy', 'x', 'cos', 'sin', 'mask', ...savedNames(spec), ...backwardWeightNames(spec)];
}

/** Outputs: dx, then the gradient of every weight in weightInputNames order. */
export function backwardOutputNames(spec: LayerSpec): string[] {
  return ['dx', ...weightInputNames(spec).map((n) => `d_${n}`)];
}

/** act'(z) for the configured activation. */
function actGrad(g: GraphBuilder, spec: LayerSpec, z: string): string {
  if (spec.act === 'silu') {
    const s = g.op('Sigmoid', [z]);
    return g.mul(s, g.add(g.scalar(1), g.mul(z, g.sub(g.scalar(1), s))));
  }
  const Phi = g.mul(g.add(g.op('Erf', [g.mul(z, g.scalar(Math.SQRT1_2))]), g.scalar(1)), g.scalar(0.5));
  const phi = g.mul(g.op('Exp', [g.mul(g.mul(z, z), g.scalar(-0.5))]), g.scalar(1 / Math.sqrt(2 * Math.PI)));
  return g.add(Phi, g.mul(z, phi));
}

function actValue(g: GraphBuilder, spec: LayerSpec, z: string): string {
  if (spec.act === 'silu') return g.mul(z, g.op('Sigmoid', [z]));
  const phi = g.add(g.op('Erf', [g.mul(z, g.scalar(Math.SQRT1_2))]), g.scalar(1));
  return g.mul(g.mul(z, g.scalar(0.5)), phi);
}

export function layerBackwardGraph(spec: LayerSpec): OnnxGraph {
  const { heads, kvHeads, headDim: d } = spec;
  const g = new GraphBuilder();
  const grads = new Map<string, string>(); // weight name -> gradient value
  const weightGrad = (dOut: string, input: string) => g.matmul(g.rows(dOut), g.rows(input), true, false);
  const biasGrad = (dOut: string) => g.reduceSum(dOut, [0, 1], false);

  // MLP block
  const norm2In = spec.parallel ? 'x' : 'x1';
  const n2 = normNodes(g, spec, norm2In, 'postNorm', 'postNormBias');
  const xm = n2.xn;
  const a = spec.gate ? 'a' : null;
  const h = mlpHidden(g, spec, a, 'u');
  const dh = g.matmul('dy', 'wd');
  grads.set('wd', weightGrad('dy', h));
  if (spec.bias.d) grads.set('bd', biasGrad('dy'));
  let dxm: string;
  if (a) {
    const du = g.mul(dh, actValue(g, spec, a));
    const da = g.mul(g.mul(dh, 'u'), actGrad(g, spec, a));
    grads.set('wg', weightGrad(da, xm));
    grads.set('wu', weightGrad(du, xm));
    dxm = g.add(g.matmul(da, 'wg'), g.matmul(du, 'wu'));
  } else {
    const du = g.mul(dh, actGrad(g, spec, 'u'));
    grads.set('wu', weightGrad(du, xm));
    if (spec.bias.u) grads.set('bu', biasGrad(du));
    dxm = g.matmul(du, 'wu');
  }
  const norm2 = normGradNodes(g, spec, dxm, norm2In, n2, 'postNorm');
  grads.set('postNorm', norm2.dw);
  if (norm2.db) grads.set('postNormBias', norm2.db);
  const dx1 = spec.parallel ? 'dy' : g.add('dy', norm2.dx);

  // attention block
  grads.set('wo', weightGrad(dx1, 'o'));
  if (spec.bias.o) grads.set('bo', biasGrad(dx1));
  const dO = g.matmul(dx1, 'wo');                                        // [B, T, heads*d]
  const dog = groupQueries(g, g.transpose(g.reshape(dO, [0, 0, heads, d]), [0, 2, 1, 3]), spec);
  const qg = groupQueries(g, 'q', spec);                                  // [B, kvHeads, g, T, d]
  const kg = g.op('Unsqueeze', ['k', g.ints([2])]);                      // [B, kvHeads, 1, S, d]
  const vg = g.op('Unsqueeze', ['v', g.ints([2])]);
  const p = g.op('Softmax', [g.add(g.matmul(qg, kg, false, true), 'mask')], { axis: -1 });
  const dv = g.reduceSum(g.matmul(p, dog, true, false), [2], false);     // [B, kvHeads, S, d]
  const dP = g.matmul(dog, vg, false, true);                             // [B, kvHeads, g, T, S]
  const dS = g.mul(p, g.sub(dP, g.reduceSum(g.mul(dP, p), [-1], true)));
  const dqg = g.matmul(dS, kg);                                          // [B, kvHeads, g, T, d]
  const dk = g.reduceSum(g.matmul(dS, qg, true, false), [2], false);     // [B, kvHeads, S, d]
  // back through the head split, rope (R^T = -R) and, for q, the 1/sqrt(d) scale
  const timeMajor = (t: string) => g.transpose(t, [0, 2, 1, 3]);         // [B, n, T, d] -> [B, T, n, d]
  const rd = spec.rotaryDims;
  const dqr = g.mul(ropeGradNodes(g, timeMajor(g.reshape(dqg, [0, heads, -1, d])), 'cos', 'sin', d, rd), g.scalar(1 / Math.sqrt(d)));
  const dqp = g.reshape(dqr, [0, 0, -1]);
  const dkp = g.reshape(ropeGradNodes(g, timeMajor(dk), 'cos', 'sin', d, rd), [0, 0, -1]);
  const dvp = mergeHeads(g, dv);
  const n1 = normNodes(g, spec, 'x', 'inputNorm', 'inputNormBias');
  const xn = n1.xn;
  for (const [w, b, dp] of [['wq', 'bq', dqp], ['wk', 'bk', dkp], ['wv', 'bv', dvp]] as const) {
    grads.set(w, weightGrad(dp, xn));
    if (spec.bias[b[1] as 'q' | 'k' | 'v']) grads.set(b, biasGrad(dp));
  }
  const dxn = g.add(g.add(g.matmul(dqp, 'wq'), g.matmul(dkp, 'wk')), g.matmul(dvp, 'wv'));
  const norm1 = normGradNodes(g, spec, dxn, 'x', n1, 'inputNorm');
  grads.set('inputNorm', norm1.dw);
  if (norm1.db) grads.set('inputNormBias', norm1.db);
  const dx = g.add(dx1, norm1.dx);
  g.output(spec.parallel ? g.add(dx, norm2.dx) : dx, 'dx');

  const outputs: OnnxValue[] = [{ name: 'dx', elem: F, dims: ['B', 'T', 'H'] }];
  for (const n of weightInputNames(spec)) {
    g.output(grads.get(n)!, `d_${n}`);
    outputs.push({ name: `d_${n}`, elem: F, dims: isVectorInput(n) ? [`${n}0`] : [`${n}0`, `${n}1`] });
  }
  const saved: OnnxValue[] = [
    { name: 'q', elem: F, dims: ['B', 'heads', 'T', 'd'] },
    { name: 'k', elem: F, dims: ['B', 'kvHeads', 'T', 'd'] },
    { name: 'v', elem: F, dims: ['B', 'kvHeads', 'T', 'd'] },
    { name: 'o', elem: F, dims: ['B', 'T', 'O'] },
    { name: 'x1', elem: F, dims: ['B', 'T', 'H'] },
    ...(spec.gate ? [{ name: 'a', elem: F, dims: ['B', 'T', 'I'] }] : []),
    { name: 'u', elem: F, dims: ['B', 'T', 'I'] },
  ];
  const backwardWeights = new Set(backwardWeightNames(spec));
  return {
    nodes: g.nodes,
    inputs: [{ name: 'dy', elem: F, dims: ['B', 'T', 'H'] }, ...activationValues(), ...saved, ...weightValues(spec).filter((v) => backwardWeights.has(v.name))],
    outputs,
    opset: 18,
  };
}
