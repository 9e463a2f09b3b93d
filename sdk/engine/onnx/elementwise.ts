// Elementwise float32 kernels on ORT: binary ops with numpy broadcasting (tfjs broadcasts the
// same way: shapes right-aligned, size-1 dims stretch), AddN as a variadic Sum, and unary maps.
// Float32 only: int32 arithmetic in tfjs's cpu kernels goes through doubles (and Abs of int32
// returns float values), which ORT's integer kernels would not reproduce.
// The cpu backend walks an index per element for broadcast binary ops (15-30 ns per element at
// the model's sizes), where ORT runs vectorised loops on both cores.

import { tf } from '../tf.ts';
import { ELEM, type OnnxNode } from './proto.ts';
import { cpuKernel, runFloat, sizeOf, symDims, type KernelArgs, type TensorInfo } from './kernel-util.ts';

/** Outputs smaller than this stay on the cpu kernel (the ORT call overhead is ~30 us). */
export const ELEMENTWISE_MIN_SIZE = 4096;

const F = ELEM.float;

/**
 * tfjs binary kernel -> ONNX nodes from 'a', 'b' to 'y'. Maximum/Minimum are left out: ONNX
 * Max/Min need not keep NaN like Math.max.
 */
const BINARY: Record<string, OnnxNode[]> = {
  Add: [{ op: 'Add', inputs: ['a', 'b'], outputs: ['y'] }],
  Sub: [{ op: 'Sub', inputs: ['a', 'b'], outputs: ['y'] }],
  Multiply: [{ op: 'Mul', inputs: ['a', 'b'], outputs: ['y'] }],
  RealDiv: [{ op: 'Div', inputs: ['a', 'b'], outputs: ['y'] }],
  // (a - b)^2, rounded twice in float32 where tfjs rounds once from double: within 2 ulp
  SquaredDifference: [{ op: 'Sub', inputs: ['a', 'b'], outputs: ['d'] }, { op: 'Mul', inputs: ['d', 'd'], outputs: ['y'] }],
  // C's pow gives 1 for pow(1, NaN) and pow(-1, +-inf); JS Math.pow gives NaN: y = |a| == 1 and b not finite ? NaN : a^b
  Pow: [
    { op: 'Pow', inputs: ['a', 'b'], outputs: ['p'] },
    { op: 'Abs', inputs: ['a'], outputs: ['absA'] },
    { op: 'Constant', inputs: [], outputs: ['one'], attrs: { value_float: { float: 1 } } },
    { op: 'Constant', inputs: [], outputs: ['nan'], attrs: { value_float: { float: NaN } } },
    { op: 'Equal', inputs: ['absA', 'one'], outputs: ['unit'] },
    { op: 'IsNaN', inputs: ['b'], outputs: ['bNaN'] },
    { op: 'IsInf', inputs: ['b'], outputs: ['bInf'] },
    { op: 'Or', inputs: ['bNaN', 'bInf'], outputs: ['bOdd'] },
    { op: 'And', inputs: ['unit', 'bOdd'], outputs: ['jsNaN'] },
    { op: 'Where', inputs: ['jsNaN', 'nan', 'p'], outputs: ['y'] },
  ],
};

/** How a and b are fed for a broadcast binary op: equal shapes (the common case) flat, so one session serves every rank. */
export function binaryViews(a: TensorInfo, b: TensorInfo, outShape: number[]): { aDims: number[]; bDims: number[]; outDims: number[] } {
  const same = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
  return same
    ? { aDims: [sizeOf(a.shape)], bDims: [sizeOf(b.shape)], outDims: [sizeOf(outShape)] }
    : { aDims: a.shape, bDims: b.shape, outDims: outShape };
}

/** tfjs's broadcast shape of a and b, or null where tfjs raises (the cpu kernel then gives tfjs's error). */
export function broadcastShape(a: TensorInfo, b: TensorInfo): number[] | null {
  try {
    return tf.broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
  } catch {
    return null;
  }
}

function binaryKernel(tfName: string, nodes: OnnxNode[]) {
  const cpu = cpuKernel(tfName);
  return (args: KernelArgs): TensorInfo => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return cpu(args) as TensorInfo;
    const outShape = broadcastShape(a, b);
    if (!outShape || sizeOf(outShape) < ELEMENTWISE_MIN_SIZE) return cpu(args) as TensorInfo;
    const { aDims, bDims, outDims } = binaryViews(a, b, outShape);
    return runFloat(args.backend, `Binary:${tfName}:${aDims.length}:${bDims.length}`, () => ({
      nodes,
      inputs: [{ name: 'a', elem: F, dims: symDims('a', aDims.length) }, { name: 'b', elem: F, dims: symDims('b', bDims.length) }],
      outputs: [{ name: 'y', elem: F, dims: symDims('y', outDims.length) }],
    }), [[a, aDims], [b, bDims]], outShape, outDims);
  };
}

/** tfjs unary kernel -> ONNX nodes from 'x' to 'y'. */
const UNARY: Record<string, OnnxNode[]> = {
  Exp: [{ op: 'Exp', inputs: ['x'], outputs: ['y'] }],
  Sigmoid: [{ op: 'Sigmoid', inputs: ['x'], outputs: ['y'] }],
  Tanh: [{ op: 'Tanh', inputs: ['x'], outputs: ['y'] }],
  Log: [{ op: 'Log', inputs: ['x'], outputs: ['y'] }],
  Sqrt: [{ op: 'Sqrt', inputs: ['x'], outputs: ['y'] }],
  Rsqrt: [{ op: 'Sqrt', inputs: ['x'], outputs: ['s'] }, { op: 'Reciprocal', inputs: ['s'], outputs: ['y'] }],
  Reciprocal: [{ op: 'Reciprocal', inputs: ['x'], outputs: ['y'] }],
  Neg: [{ op: 'Neg', inputs: ['x'], outputs: ['y'] }],
  Square: [{ op: 'Mul', inputs: ['x', 'x'], outputs: ['y'] }],
  Erf: [{ op: 'Erf', inputs: ['x'], outputs: ['y'] }],
  Abs: [{ op: 'Abs', inputs: ['x'], outputs: ['y'] }],
  // ORT's Relu keeps NaN, like tfjs's Math.max(0, x)
  Relu: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }],
};

function unaryKernel(tfName: string, nodes: OnnxNode[]) {
  const cpu = cpuKernel(tfName);
  return (args: KernelArgs): TensorInfo => {
    const { x } = args.inputs as { x: TensorInfo };
    const n = sizeOf(x.shape);
    if (x.dtype !== 'float32' || n < ELEMENTWISE_MIN_SIZE) return cpu(args) as TensorInfo;
    return runFloat(args.backend, `Unary:${tfName}`, () => ({
      nodes,
      inputs: [{ name: 'x', elem: F, dims: ['n'] }],
      outputs: [{ name: 'y', elem: F, dims: ['n'] }],
    }), [[x, [n]]], x.shape, [n]);
  };
}

const cpuAddN = cpuKernel('AddN');

/** AddN: tfjs requires equal shapes, so the inputs are fed flat to one variadic Sum. */
function addN(args: KernelArgs): TensorInfo {
  const xs = Object.values(args.inputs) as TensorInfo[];
  const first = xs[0];
  if (!first || xs.length < 2 || xs.some((t) => t.dtype !== 'float32') || sizeOf(first.shape) < ELEMENTWISE_MIN_SIZE) return cpuAddN(args) as TensorInfo;
  const n = sizeOf(first.shape);
  const names = xs.map((_, i) => `x${i}`);
  return runFloat(args.backend, `AddN:${xs.length}`, () => ({
    nodes: [{ op: 'Sum', inputs: names, outputs: ['y'] }],
    inputs: names.map((name) => ({ name, elem: F, dims: ['n'] })),
    outputs: [{ name: 'y', elem: F, dims: ['n'] }],
  }), xs.map((t) => [t, [n]]), first.shape, [n]);
}

export const elementwiseKernels: { name: string; fn: (args: KernelArgs) => TensorInfo }[] = [
  ...Object.entries(BINARY).map(([name, nodes]) => ({ name, fn: binaryKernel(name, nodes) })),
  ...Object.entries(UNARY).map(([name, nodes]) => ({ name, fn: unaryKernel(name, nodes) })),
  { name: 'AddN', fn: addN },
];
