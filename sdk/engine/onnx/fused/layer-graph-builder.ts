// A small helper for writing multi-node ONNX graphs by hand: each call appends one node and
// returns the name of its output, so a graph reads like the formula it computes. Also the pieces
// both layer graphs (forward and backward) share: RMSNorm / LayerNorm, rotate_half, head reshapes.

import type { AttrValue, OnnxNode } from '../proto.ts';

/** The config-level facts a layer graph depends on (its session key); never B, T or a cache length. */
export interface LayerSpec {
  heads: number;
  kvHeads: number;
  headDim: number;
  act: 'silu' | 'gelu';
  gate: boolean;                    // SwiGLU (gate_proj present) vs ungated
  /** Biases of q, k, v, o and of the MLP's up (u) and down (d) projections. */
  bias: { q: boolean; k: boolean; v: boolean; o: boolean; u: boolean; d: boolean };
  eps: number;
  norm: 'rms' | 'layer';            // LayerNorm has a bias (inputs inputNormBias, postNormBias)
  parallel: boolean;                // y = x + attn(norm1 x) + mlp(norm2 x) (GPT-NeoX), else sequential
  rotaryDims: number;               // leading dims of each head that rotary turns (headDim when full)
}

export function specKey(s: LayerSpec): string {
  const b = `${+s.bias.q}${+s.bias.k}${+s.bias.v}${+s.bias.o}${+s.bias.u}${+s.bias.d}`;
  return `h${s.heads}:kv${s.kvHeads}:d${s.headDim}:r${s.rotaryDims}:${s.act}:${s.gate ? 'gate' : 'nogate'}:b${b}:eps${s.eps}:${s.norm}:${s.parallel ? 'par' : 'seq'}`;
}

export class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  private count = 0;

  /** Appends `op(inputs)` and returns its (single) output name. */
  op(op: string, inputs: string[], attrs?: Record<string, AttrValue>, domain?: string): string {
    return this.opMulti(op, inputs, 1, attrs, domain)[0]!;
  }

  opMulti(op: string, inputs: string[], outputs: number, attrs?: Record<string, AttrValue>, domain?: string): string[] {
    const names = Array.from({ length: outputs }, () => `_t${this.count++}`);
    const node: OnnxNode = { op, inputs, outputs: names };
    if (attrs) node.attrs = attrs;
    if (domain) node.domain = domain;
    this.nodes.push(node);
    return names;
  }

  /**
   * Makes `value` the graph output `name` by renaming it everywhere (not an Identity node: ORT then
   * writes the producing node's result straight into the caller's preallocated output buffer).
   * Graph inputs cannot be renamed; those get an Identity.
   */
  output(value: string, name: string): void {
    if (!value.startsWith('_t')) {
      this.nodes.push({ op: 'Identity', inputs: [value], outputs: [name] });
      return;
    }
    for (const n of this.nodes) {
      n.inputs = n.inputs.map((i) => (i === value ? name : i));
      n.outputs = n.outputs.map((o) => (o === value ? name : o));
    }
  }

  ints(values: number[]): string {
    return this.op('Constant', [], { value_ints: values });
  }

  scalar(v: number): string {
    return this.op('Constant', [], { value_float: { float: v } });
  }

  add(a: string, b: string): string { return this.op('Add', [a, b]); }
  sub(a: string, b: string): string { return this.op('Sub', [a, b]); }
  mul(a: string, b: string): string { return this.op('Mul', [a, b]); }

  /** a @ b with optional transposes (com.microsoft FusedMatMul: batched, broadcasting, no copies). */
  matmul(a: string, b: string, transA = false, transB = false): string {
    if (!transA && !transB) return this.op('MatMul', [a, b]);
    return this.op('FusedMatMul', [a, b], { transA: +transA, transB: +transB, alpha: { float: 1 } }, 'com.microsoft');
  }

  reshape(x: string, shape: number[]): string {
    return this.op('Reshape', [x, this.ints(shape)]);
  }

  transpose(x: string, perm: number[]): string {
    return this.op('Transpose', [x], { perm });
  }

  reduceSum(x: string, axes: number[], keepdims: boolean): string {
    return this.op('ReduceSum', [x, this.ints(axes)], { keepdims: +keepdims });
  }

  reduceMean(x: string, axes: number[], keepdims: boolean): string {
    return this.op('ReduceMean', [x, this.ints(axes)], { keepdims: +keepdims });
  }

  /** [B, T, X] -> [B*T, X] (for weight gradients, which sum over every row). */
  rows(x: string): string {
    return this.op('Flatten', [x], { axis: 2 });
  }
}

/**
 * RMSNorm over the last axis of x [B, T, H]: xn = x * r * w with r = (mean(x^2) + eps)^(-1/2).
 * Returns xn and r [B, T, 1].
 */
export function rmsNormNodes(g: GraphBuilder, x: string, w: string, eps: number): { xn: string; r: string } {
  const ms = g.reduceMean(g.mul(x, x), [-1], true);
  const r = g.op('Reciprocal', [g.op('Sqrt', [g.add(ms, g.scalar(eps))])]);
  return { xn: g.mul(g.mul(x, r), w), r };
}

/**
 * Gradient of RMSNorm, with g = dxn * w:  dx = r g - x r^3 mean(g x),  dw = sum_rows dxn * x * r.
 */
export function rmsNormGradNodes(g: GraphBuilder, dxn: string, x: string, r: string, w: string): { dx: string; dw: string } {
  const gw = g.mul(dxn, w);
  const m = g.reduceMean(g.mul(gw, x), [-1], true);
  const r3m = g.mul(g.mul(g.mul(r, r), r), m);
  const dx = g.sub(g.mul(gw, r), g.mul(x, r3m));
  const dw = g.reduceSum(g.mul(g.mul(dxn, x), r), [0, 1], false);
  return { dx, dw };
}

/**
 * LayerNorm over the last axis of x [B, T, H]: xn = xh * w + b with xh = (x - mean) r,
 * r = (var + eps)^(-1/2). Returns xn, r [B, T, 1] and xh.
 */
export function layerNormNodes(g: GraphBuilder, x: string, w: string, b: string, eps: number): { xn: string; r: string; xh: string } {
  const xc = g.sub(x, g.reduceMean(x, [-1], true));
  const r = g.op('Reciprocal', [g.op('Sqrt', [g.add(g.reduceMean(g.mul(xc, xc), [-1], true), g.scalar(eps))])]);
  const xh = g.mul(xc, r);
  return { xn: g.add(g.mul(xh, w), b), r, xh };
}

/** Gradient of LayerNorm, with g = dxn * w: dx = r (g - mean(g) - xh mean(g xh)), dw = sum dxn xh, db = sum dxn. */
export function layerNormGradNodes(g: GraphBuilder, dxn: string, xh: string, r: string, w: string): { dx: string; dw: string; db: string } {
  const gw = g.mul(dxn, w);
  const inner = g.sub(g.sub(gw, g.reduceMean(gw, [-1], true)), g.mul(xh, g.reduceMean(g.mul(gw, xh), [-1], true)));
  return { dx: g.mul(inner, r), dw: g.reduceSum(g.mul(dxn, xh), [0, 1], false), db: g.reduceSum(dxn, [0, 1], false) };
}

/** The layer's norm (RMSNorm or LayerNorm as the spec says) of x with weight w (and bias b). */
export interface NormOut { xn: string; r: string; xh?: string }
export function normNodes(g: GraphBuilder, spec: LayerSpec, x: string, w: string, b: string): NormOut {
  return spec.norm === 'layer' ? layerNormNodes(g, x, w, b, spec.eps) : rmsNormNodes(g, x, w, spec.eps);
}

/** Gradient of normNodes: dx, dw and (LayerNorm) db. */
export function normGradNodes(g: GraphBuilder, spec: LayerSpec, dxn: string, x: string, n: NormOut, w: string): { dx: string; dw: string; db?: string } {
  return spec.norm === 'layer' ? layerNormGradNodes(g, dxn, n.xh!, n.r, w) : rmsNormGradNodes(g, dxn, x, n.r, w);
}

/**
 * rotate_half over the first r dims of the last axis: [-t2, t1] for halves t1, t2 of those dims;
 * dims >= r pass through unchanged (rope's sin is 0 there, so they never contribute).
 */
export function rotateHalfNodes(g: GraphBuilder, t: string, d: number, r = d): string {
  if (r === d) {
    const [t1, t2] = g.opMulti('Split', [t, g.ints([d / 2, d / 2])], 2, { axis: -1 });
    return g.op('Concat', [g.op('Neg', [t2!]), t1!], { axis: -1 });
  }
  const [t1, t2, rest] = g.opMulti('Split', [t, g.ints([r / 2, r / 2, d - r])], 3, { axis: -1 });
  return g.op('Concat', [g.op('Neg', [t2!]), t1!, rest!], { axis: -1 });
}

/** rope(t) = t cos + rotate_half(t) sin for t [B, T, n, d], cos/sin [B, T, 1, d] (cos 1, sin 0 past r). */
export function ropeNodes(g: GraphBuilder, t: string, cos: string, sin: string, d: number, r = d): string {
  return g.add(g.mul(t, cos), g.mul(rotateHalfNodes(g, t, d, r), sin));
}

/**
 * Gradient of rope: on the rotary dims rotate_half is a signed permutation R with R^T = -R, so
 * d t = dy cos + R^T (dy sin) = dy cos - rotate_half(dy sin); past r, dy sin is 0 either way.
 */
export function ropeGradNodes(g: GraphBuilder, dy: string, cos: string, sin: string, d: number, r = d): string {
  return g.sub(g.mul(dy, cos), rotateHalfNodes(g, g.mul(dy, sin), d, r));
}

/** [B, T, n*d] -> [B, n, T, d] (heads split off and moved before time). */
export function splitHeads(g: GraphBuilder, t: string, n: number, d: number): string {
  return g.transpose(g.reshape(t, [0, 0, n, d]), [0, 2, 1, 3]);
}

/** [B, n, T, d] -> [B, T, n*d]. */
export function mergeHeads(g: GraphBuilder, t: string): string {
  return g.reshape(g.transpose(t, [0, 2, 1, 3]), [0, 0, -1]);
}

/**
 * Query heads [B, heads, T, d] -> [B, kvHeads, g, T, d]: query head h = kv * g + j reads KV head
 * kv = floor(h / g), so the KV axis broadcasts over the group axis j with no repeat of K or V.
 */
export function groupQueries(g: GraphBuilder, q: string, spec: LayerSpec): string {
  return g.reshape(q, [0, spec.kvHeads, spec.heads / spec.kvHeads, -1, spec.headDim]);
}
