// Kernels that produce or consume indices: ArgMax and ArgMin on ORT, OneHot in JS.

import { ELEM, type OnnxNode } from './proto.ts';
import { cpuKernel, operandType, outputArray, runGraph, sizeOf, type KernelArgs, type TensorInfo } from './kernel-util.ts';
import { ELEMENTWISE_MIN_SIZE } from './elementwise.ts';

const F = ELEM.float;

/**
 * ArgMax / ArgMin over one axis, x viewed as [outer, n, inner]; ONNX returns int64, cast to int32
 * in the graph. Ties give the first index in both (ONNX's select_last_index = 0; tfjs's cpu loop
 * keeps the first strictly better element). NaN is where they part: tfjs never picks a NaN (it
 * compares false) unless it is element 0, which then stays. Handling that in the graph (IsNaN,
 * Where) made ArgMax 25x slower, so the graph also sums x: a NaN sum (a NaN in x, or +inf and
 * -inf together) sends the call to the cpu kernel, which is exact on every input.
 */
function argKernel(tfName: 'ArgMax' | 'ArgMin') {
  const cpu = cpuKernel(tfName);
  return (args: KernelArgs): TensorInfo => {
    const { x } = args.inputs as { x: TensorInfo };
    const { axis } = args.attrs as { axis: number | number[] };
    const rank = x.shape.length;
    const ax = Array.isArray(axis) ? (axis.length === 1 ? axis[0]! : NaN) : axis;
    const type = operandType(x.dtype);
    if (!type || rank === 0 || !Number.isInteger(ax) || ax < -rank || ax >= rank || sizeOf(x.shape) < ELEMENTWISE_MIN_SIZE) return cpu(args) as TensorInfo;
    const a = ax < 0 ? ax + rank : ax;
    // (a float32 relabelled from int32 holds exact integers that a float view could tie)
    if (x.shape[a] === 0 || (x.dtype === 'float32' && !(args.backend.data.get(x.dataId)?.values instanceof Float32Array))) return cpu(args) as TensorInfo;
    const dims = [sizeOf(x.shape.slice(0, a)), x.shape[a]!, sizeOf(x.shape.slice(a + 1))];
    const outShape = x.shape.filter((_, i) => i !== a);
    const isFloat = x.dtype === 'float32';
    const nodes: OnnxNode[] = [
      { op: tfName, inputs: ['x'], outputs: ['i64'], attrs: { axis: 1, keepdims: 0 } },
      { op: 'Cast', inputs: ['i64'], outputs: ['y'], attrs: { to: ELEM.int32 } },
      ...(isFloat ? [{ op: 'ReduceSum', inputs: ['x'], outputs: ['sum'], attrs: { keepdims: 0 } }] : []),
    ];
    const [y, sum] = runGraph(args.backend, `${tfName}:${x.dtype}`, () => ({
      nodes,
      inputs: [{ name: 'x', elem: type.elem, dims: ['o', 'n', 'i'] }],
      outputs: [{ name: 'y', elem: ELEM.int32, dims: ['o', 'i'] }, ...(isFloat ? [{ name: 'sum', elem: F, dims: [] }] : [])],
      opset: 18,
    }), [[x, dims, type.ort]], [{ shape: outShape, dtype: 'int32', dims: [dims[0]!, dims[2]!] }, ...(isFloat ? [{ shape: [] }] : [])]);
    if (sum) {
      const nan = Number.isNaN((args.backend.data.get(sum.dataId)!.values as Float32Array)[0]);
      args.backend.disposeIntermediateTensorInfo(sum);
      if (nan) {
        args.backend.disposeIntermediateTensorInfo(y!);
        return cpu(args) as TensorInfo;
      }
    }
    return y!;
  };
}

const cpuOneHot = cpuKernel('OneHot');

let oneHots = 0;
/** How many times the OneHot here (rather than the cpu fallback) produced an output; for tests. */
export function oneHotCount(): number {
  return oneHots;
}

/**
 * OneHot: y[e, j] = indices[e] == j ? on : off, in JS: the cpu kernel's own loop (fill with off,
 * set on where 0 <= index < depth, so negative and too large indices give all-off rows, where
 * ONNX's OneHot would wrap -1 to depth - 1), but into an output from the buffer pool. The cpu
 * kernel's time is almost all first-touch page faults of its fresh array; as an ORT graph
 * (Equal against a Range, then Where) it was 2x slower still.
 */
function oneHot(args: KernelArgs): TensorInfo {
  const { indices } = args.inputs as { indices: TensorInfo };
  const { dtype, depth, onValue, offValue } = args.attrs as { dtype: string; depth: number; onValue: number; offValue: number };
  const idx = args.backend.data.get(indices.dataId)?.values;
  const n = sizeOf(indices.shape);
  if (!(idx instanceof Int32Array) || (dtype !== 'float32' && dtype !== 'int32') || !Number.isInteger(depth) || depth <= 0 || n * depth < ELEMENTWISE_MIN_SIZE) return cpuOneHot(args) as TensorInfo;
  // the cpu kernel fills a Float32Array whatever the dtype: an int32 one-hot holds on/off rounded
  // to float32, then read as int32; an int32 array here takes them through both conversions
  const on = Math.fround(onValue), off = Math.fround(offValue);
  const out = outputArray(args.backend, dtype, n * depth, false);
  out.fill(off);
  for (let e = 0; e < n; e++) {
    const j = idx[e]!;
    if (j >= 0 && j < depth) out[e * depth + j] = on;
  }
  oneHots++;
  return args.backend.makeTensorInfo([...indices.shape, depth], dtype, out);
}

export const indexKernels: { name: string; fn: (args: KernelArgs) => TensorInfo }[] = [
  { name: 'ArgMax', fn: argKernel('ArgMax') },
  { name: 'ArgMin', fn: argKernel('ArgMin') },
  { name: 'OneHot', fn: oneHot },
];
