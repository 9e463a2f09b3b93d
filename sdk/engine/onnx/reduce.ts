// Reductions (Sum, Mean, Max, Min) and Softmax on ORT.
//
// The input is viewed with runs of neighbouring reduced / kept dims merged ([B, T, H] summed
// over the last axis becomes [B*T, H] over axis 1), so a handful of sessions serve every rank.

import { tf } from '../tf.ts';
import { ELEM, type OnnxNode } from './proto.ts';
import { cpuKernel, runFloat, sizeOf, symDims, type KernelArgs, type TensorInfo } from './kernel-util.ts';
import { ELEMENTWISE_MIN_SIZE } from './elementwise.ts';

const F = ELEM.float;

/** Merges neighbouring dims that are both reduced or both kept; returns the view and its reduced axes. */
export function collapseReduction(shape: readonly number[], axes: readonly number[]): { dims: number[]; axes: number[] } {
  const dims: number[] = [], reduced: boolean[] = [];
  shape.forEach((d, i) => {
    const r = axes.includes(i);
    if (dims.length > 0 && reduced[reduced.length - 1] === r) dims[dims.length - 1]! *= d;
    else { dims.push(d); reduced.push(r); }
  });
  return { dims, axes: reduced.flatMap((r, i) => (r ? [i] : [])) };
}

/** tfjs kernel -> [ONNX op, name of the tfjs axis attribute]. */
const REDUCTIONS: Record<string, [string, string]> = {
  Sum: ['ReduceSum', 'axis'],
  Mean: ['ReduceMean', 'axis'],
  Max: ['ReduceMax', 'reductionIndices'],
  Min: ['ReduceMin', 'axis'],
};

function reductionKernel(tfName: string, onnxOp: string, axisAttr: string) {
  const cpu = cpuKernel(tfName);
  return (args: KernelArgs): TensorInfo => {
    const { x } = args.inputs as { x: TensorInfo };
    const attrs = args.attrs as Record<string, unknown>;
    const keepDims = Boolean(attrs['keepDims']);
    if (x.dtype !== 'float32' || sizeOf(x.shape) < ELEMENTWISE_MIN_SIZE) return cpu(args) as TensorInfo;
    const axes = tf.util.parseAxisParam(attrs[axisAttr] as number | number[], x.shape); // null = all axes
    if (axes.length === 0) return cpu(args) as TensorInfo; // ONNX reads "no axes" as "all axes"
    const outShape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
    const view = collapseReduction(x.shape, axes);
    const outDims = view.dims.map((d, i) => (view.axes.includes(i) ? 1 : d));
    const nodes: OnnxNode[] = [
      { op: 'Constant', inputs: [], outputs: ['axes'], attrs: { value_ints: view.axes } },
      { op: onnxOp, inputs: ['x', 'axes'], outputs: ['y'], attrs: { keepdims: 1 } },
    ];
    return runFloat(args.backend, `${onnxOp}:${view.dims.length}:${view.axes.join(',')}`, () => ({
      nodes,
      inputs: [{ name: 'x', elem: F, dims: symDims('x', view.dims.length) }],
      outputs: [{ name: 'y', elem: F, dims: symDims('y', view.dims.length) }],
      opset: 18, // from 18 on every Reduce* takes its axes as an input
    }), [[x, view.dims]], outShape, outDims);
  };
}

const cpuSoftmax = cpuKernel('Softmax');

/** Softmax over the last axis (the only one tfjs supports), fed as [rows, classes]. */
function softmax(args: KernelArgs): TensorInfo {
  const { logits } = args.inputs as { logits: TensorInfo };
  const rank = logits.shape.length;
  const dim = (args.attrs as { dim: number }).dim;
  if (logits.dtype !== 'float32' || rank === 0 || (dim !== -1 && dim !== rank - 1) || sizeOf(logits.shape) < ELEMENTWISE_MIN_SIZE) return cpuSoftmax(args) as TensorInfo;
  const classes = logits.shape[rank - 1]!;
  const dims = [sizeOf(logits.shape) / classes, classes];
  return runFloat(args.backend, 'Softmax', () => ({
    nodes: [{ op: 'Softmax', inputs: ['x'], outputs: ['y'], attrs: { axis: -1 } }],
    inputs: [{ name: 'x', elem: F, dims: ['r', 'c'] }],
    outputs: [{ name: 'y', elem: F, dims: ['r', 'c'] }],
  }), [[logits, dims]], logits.shape, dims);
}

export const reduceKernels: { name: string; fn: (args: KernelArgs) => TensorInfo }[] = [
  ...Object.entries(REDUCTIONS).map(([name, [op, axisAttr]]) => ({ name, fn: reductionKernel(name, op, axisAttr) })),
  { name: 'Softmax', fn: softmax },
];
