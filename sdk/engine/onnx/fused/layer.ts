// OrzLayerForward / OrzLayerBackward: one decoder layer as ONE ONNX session run each (the graphs
// are layer-forward-graph.ts and layer-backward-graph.ts; the op side is sdk/model/layer-op.ts).
//
// tfjs-side shapes (N = B*T rows, as sdk/model keeps activations): x, y, x1, dy, dx [N, H];
// cos, sin [N, d]; mask [B, T, S]; o [N, heads*d]; a, u [N, I]; q [B, heads, T, d];
// k, v and the cache [B, kvHeads, ., d]. They are fed to ORT at the graph's ranks (free views of
// the same row-major data). Sessions are keyed on config-level attributes only, never on B, T, S.

import { FUSED, type FusedLayerAttrs } from '../../fused.ts';
import { runGraph, type GraphOutput, type KernelArgs, type TensorInfo } from '../kernel-util.ts';
import { backwardInputNames, backwardOutputNames, layerBackwardGraph } from './layer-backward-graph.ts';
import { forwardInputNames, forwardOutputNames, layerForwardGraph, weightInputNames, type LayerMode } from './layer-forward-graph.ts';
import { specKey, type LayerSpec } from './layer-graph-builder.ts';

/** Attributes of both kernels. `mode` only for the forward. */
export interface LayerAttrs extends FusedLayerAttrs {
  mode?: LayerMode;
}

function specOf(inputs: KernelArgs['inputs'], attrs: LayerAttrs): LayerSpec {
  const has = (n: string) => inputs[n] !== undefined;
  return {
    heads: attrs.heads, kvHeads: attrs.kvHeads, headDim: attrs.headDim, act: attrs.act, eps: attrs.eps,
    norm: attrs.norm, parallel: attrs.parallel, rotaryDims: attrs.rotaryDims,
    gate: has('wg'),
    bias: { q: has('bq'), k: has('bk'), v: has('bv'), o: has('bo'), u: has('bu'), d: has('bd') },
  };
}

/** The dims ORT sees for each named input, given B and T (other inputs are fed at their tfjs shape). */
function feedDims(name: string, t: TensorInfo, B: number, T: number): readonly number[] {
  switch (name) {
    case 'x': case 'dy': case 'x1': case 'o': case 'a': case 'u':
      return [B, T, t.shape[1]!];
    case 'cos': case 'sin':
      return [B, T, 1, t.shape[1]!];
    case 'mask':
      return [B, 1, 1, T, t.shape[2]!];
    default:
      return t.shape;
  }
}

function feeds(args: KernelArgs, names: string[], B: number, T: number): [TensorInfo, readonly number[]][] {
  return names.map((n) => {
    const t = args.inputs[n];
    if (!t) throw new Error(`OrzLayer: missing input ${n}`);
    return [t, feedDims(n, t, B, T)];
  });
}

function batchAndTime(args: KernelArgs): [number, number] {
  const mask = args.inputs['mask']!;
  return [mask.shape[0]!, mask.shape[1]!];
}

function layerForward(args: KernelArgs): TensorInfo[] {
  const attrs = args.attrs as unknown as LayerAttrs;
  const mode = attrs.mode ?? 'train';
  const spec = specOf(args.inputs, attrs);
  const [B, T] = batchAndTime(args);
  const N = B * T;
  const H = args.inputs['x']!.shape[1]!;
  const I = args.inputs['wu']!.shape[0]!;
  const { heads, kvHeads, headDim: d } = spec;
  const shapes: Record<string, GraphOutput> = {
    y: { shape: [N, H], dims: [B, T, H] },
    q: { shape: [B, heads, T, d] },
    k: { shape: [B, kvHeads, T, d] },
    v: { shape: [B, kvHeads, T, d] },
    o: { shape: [N, heads * d], dims: [B, T, heads * d] },
    x1: { shape: [N, H], dims: [B, T, H] },
    a: { shape: [N, I], dims: [B, T, I] },
    u: { shape: [N, I], dims: [B, T, I] },
  };
  return runGraph(
    args.backend, `${FUSED.layerForward}:${mode}:${specKey(spec)}`, () => layerForwardGraph(spec, mode),
    feeds(args, forwardInputNames(spec, mode), B, T),
    forwardOutputNames(spec, mode).map((n) => shapes[n]!),
  );
}

function layerBackward(args: KernelArgs): TensorInfo[] {
  const attrs = args.attrs as unknown as LayerAttrs;
  const spec = specOf(args.inputs, attrs);
  const [B, T] = batchAndTime(args);
  const H = args.inputs['x']!.shape[1]!;
  const outputs: GraphOutput[] = [{ shape: [B * T, H], dims: [B, T, H] }];
  // bias inputs are not fed (they do not enter any gradient) but their shapes size the outputs
  for (const n of weightInputNames(spec)) outputs.push({ shape: [...args.inputs[n]!.shape] });
  if (outputs.length !== backwardOutputNames(spec).length) throw new Error('OrzLayerBackward: output list mismatch');
  return runGraph(
    args.backend, `${FUSED.layerBackward}:${specKey(spec)}`, () => layerBackwardGraph(spec),
    feeds(args, backwardInputNames(spec), B, T), outputs,
  );
}

export const layerKernels: { name: string; fn: (args: KernelArgs) => TensorInfo | TensorInfo[] }[] = [
  { name: FUSED.layerForward, fn: layerForward },
  { name: FUSED.layerBackward, fn: layerBackward },
];
