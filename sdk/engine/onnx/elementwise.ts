// Elementwise float32 kernels on ORT: binary ops with numpy broadcasting (tfjs broadcasts the
// same way: shapes right-aligned, size-1 dims stretch), AddN as a variadic Sum, and unary maps.
// The cpu backend walks an index per element for broadcast binary ops (15-30 ns per element at
// the model's sizes), where ORT runs vectorised loops on both cores.

import { tf } from '../tf.ts';
import { ELEM, type OnnxNode } from './proto.ts';
import { cpuKernel, runFloat, sizeOf, symDims, type KernelArgs, type TensorInfo } from './kernel-util.ts';

/** Outputs smaller than this stay on the cpu kernel (the ORT call overhead is ~30 us). */
export const ELEMENTWISE_MIN_SIZE = 4096;

const F = ELEM.float;

/** tfjs kernel name -> ONNX op. Maximum/Minimum are left out: ONNX Max/Min need not keep NaN like Math.max. */
const BINARY: Record<string, string> = { Add: 'Add', Sub: 'Sub', Multiply: 'Mul', RealDiv: 'Div' };

function binaryKernel(tfName: string, onnxOp: string) {
  const cpu = cpuKernel(tfName);
  return (args: KernelArgs): TensorInfo => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return cpu(args) as TensorInfo;
    let outShape: number[];
    try {
      outShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
    } catch {
      return cpu(args) as TensorInfo; // the cpu kernel raises tfjs's error
    }
    if (sizeOf(outShape) < ELEMENTWISE_MIN_SIZE) return cpu(args) as TensorInfo;
    // same shapes (the common case) run flat, so one session serves every rank
    const same = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
    const aDims = same ? [sizeOf(a.shape)] : a.shape, bDims = same ? [sizeOf(b.shape)] : b.shape;
    const outDims = same ? [sizeOf(outShape)] : outShape;
    return runFloat(args.backend, `${onnxOp}:${aDims.length}:${bDims.length}`, () => ({
      nodes: [{ op: onnxOp, inputs: ['a', 'b'], outputs: ['y'] }],
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
  ...Object.entries(BINARY).map(([name, op]) => ({ name, fn: binaryKernel(name, op) })),
  ...Object.entries(UNARY).map(([name, nodes]) => ({ name, fn: unaryKernel(name, nodes) })),
  { name: 'AddN', fn: addN },
];
