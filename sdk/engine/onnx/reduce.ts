// Reductions (Sum, Mean, Max, Min, Prod), Softmax and Cumsum on ORT.
//
// The input is viewed with runs of neighbouring reduced / kept dims merged ([B, T, H] summed
// over the last axis becomes [B*T, H] over axis 1), so a handful of sessions serve every rank.

import { tf } from '../tf.ts';
import { ELEM, type OnnxNode } from './proto.ts';
import { cpuKernel, operandType, runFloat, runOne, sizeOf, symDims, type KernelArgs, type TensorInfo } from './kernel-util.ts';
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
  // tfjs multiplies in double and rounds once, ReduceProd rounds every step in float32: the same
  // product within a few ulp (int32 and bool stay on the cpu: its double product is not int32 math)
  Prod: ['ReduceProd', 'axis'],
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

const cpuCumsum = cpuKernel('Cumsum');

/**
 * Cumsum along one axis, x viewed as [outer, n, inner] and summed along the middle axis. tfjs's
 * cpu kernel adds into a typed array step by step (float32 rounding every step, int32 wrapping),
 * which is what CumSum does; bool input is counted as int32 (tfjs's upcast).
 */
function cumsum(args: KernelArgs): TensorInfo {
  const { x } = args.inputs as { x: TensorInfo };
  const { axis, exclusive, reverse } = args.attrs as { axis: number; exclusive: boolean; reverse: boolean };
  const rank = x.shape.length;
  const type = operandType(x.dtype);
  if (!type || rank === 0 || sizeOf(x.shape) < ELEMENTWISE_MIN_SIZE) return cpuCumsum(args) as TensorInfo;
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) return cpuCumsum(args) as TensorInfo;
  const a = axis < 0 ? axis + rank : axis;
  const dims = [sizeOf(x.shape.slice(0, a)), x.shape[a]!, sizeOf(x.shape.slice(a + 1))];
  const isFloat = x.dtype === 'float32';
  const outElem = isFloat ? F : ELEM.int32;
  const nodes: OnnxNode[] = [
    { op: 'Constant', inputs: [], outputs: ['axis'], attrs: { value_int: 1 } },
    ...(x.dtype === 'bool' ? [{ op: 'Cast', inputs: ['x'], outputs: ['xs'], attrs: { to: ELEM.int32 } }] : []),
    { op: 'CumSum', inputs: [x.dtype === 'bool' ? 'xs' : 'x', 'axis'], outputs: ['y'], attrs: { exclusive: exclusive ? 1 : 0, reverse: reverse ? 1 : 0 } },
  ];
  return runOne(args.backend, `Cumsum:${x.dtype}:${exclusive ? 1 : 0}:${reverse ? 1 : 0}`, () => ({
    nodes,
    inputs: [{ name: 'x', elem: type.elem, dims: ['o', 'n', 'i'] }],
    outputs: [{ name: 'y', elem: outElem, dims: ['o', 'n', 'i'] }],
  }), [[x, dims, type.ort]], { shape: x.shape, dtype: isFloat ? 'float32' : 'int32', dims });
}

export const reduceKernels: { name: string; fn: (args: KernelArgs) => TensorInfo }[] = [
  ...Object.entries(REDUCTIONS).map(([name, [op, axisAttr]]) => ({ name, fn: reductionKernel(name, op, axisAttr) })),
  { name: 'Softmax', fn: softmax },
  { name: 'Cumsum', fn: cumsum },
];
