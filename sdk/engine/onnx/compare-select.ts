// Comparisons (Equal, NotEqual, Greater, GreaterEqual, Less, LessEqual) and Select (tf.where) on
// ORT, with tfjs's broadcasting. Comparisons give bool tensors (a Uint8Array of 0/1 in tfjs, the
// same bytes as an ONNX bool tensor); IEEE comparisons agree with JS's on NaN (every comparison
// with NaN is false, so NotEqual = Not(Equal) is true). ONNX's order comparisons and Where have no
// bool kernel, so bool operands are fed as uint8, which compares false < true like tfjs's 0 < 1.

import { ELEM, type OnnxNode } from './proto.ts';
import { cpuKernel, operandType, runOne, sizeOf, symDims, type KernelArgs, type TensorInfo } from './kernel-util.ts';
import { binaryViews, broadcastShape, ELEMENTWISE_MIN_SIZE } from './elementwise.ts';

/** tfjs comparison kernel -> ONNX nodes from 'a', 'b' to the bool 'y'. */
const COMPARISONS: Record<string, OnnxNode[]> = {
  Equal: [{ op: 'Equal', inputs: ['a', 'b'], outputs: ['y'] }],
  NotEqual: [{ op: 'Equal', inputs: ['a', 'b'], outputs: ['eq'] }, { op: 'Not', inputs: ['eq'], outputs: ['y'] }],
  Greater: [{ op: 'Greater', inputs: ['a', 'b'], outputs: ['y'] }],
  GreaterEqual: [{ op: 'GreaterOrEqual', inputs: ['a', 'b'], outputs: ['y'] }],
  Less: [{ op: 'Less', inputs: ['a', 'b'], outputs: ['y'] }],
  LessEqual: [{ op: 'LessOrEqual', inputs: ['a', 'b'], outputs: ['y'] }],
};

function comparisonKernel(tfName: string, nodes: OnnxNode[]) {
  const cpu = cpuKernel(tfName);
  return (args: KernelArgs): TensorInfo => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const type = operandType(a.dtype);
    // tfjs's comparison ops make both dtypes match before the kernel; anything else is the cpu's
    if (!type || a.dtype !== b.dtype) return cpu(args) as TensorInfo;
    const outShape = broadcastShape(a, b);
    if (!outShape || sizeOf(outShape) < ELEMENTWISE_MIN_SIZE) return cpu(args) as TensorInfo;
    const { aDims, bDims, outDims } = binaryViews(a, b, outShape);
    return runOne(args.backend, `Compare:${tfName}:${type.ort}:${aDims.length}:${bDims.length}`, () => ({
      nodes,
      inputs: [{ name: 'a', elem: type.elem, dims: symDims('a', aDims.length) }, { name: 'b', elem: type.elem, dims: symDims('b', bDims.length) }],
      outputs: [{ name: 'y', elem: ELEM.bool, dims: symDims('y', outDims.length) }],
    }), [[a, aDims, type.ort], [b, bDims, type.ort]], { shape: outShape, dtype: 'bool', dims: outDims });
  };
}

const cpuSelect = cpuKernel('Select');

/**
 * Select: y = condition ? t : e. tf.where broadcasts all three to one shape before the kernel,
 * so they are fed flat. The kernel's older form, a rank-1 condition against a higher-rank t and
 * e, stays on the cpu: its loop copies t[i] (not row i) into every element of row i.
 */
function select(args: KernelArgs): TensorInfo {
  const { condition, t, e } = args.inputs as { condition: TensorInfo; t: TensorInfo; e: TensorInfo };
  const type = operandType(t.dtype);
  const n = sizeOf(t.shape);
  const sameShape = (x: TensorInfo) => x.shape.length === t.shape.length && x.shape.every((d, i) => d === t.shape[i]);
  if (!type || condition.dtype !== 'bool' || t.dtype !== e.dtype || !sameShape(e) || !sameShape(condition) || n < ELEMENTWISE_MIN_SIZE) return cpuSelect(args) as TensorInfo;
  return runOne(args.backend, `Select:${type.ort}`, () => ({
    nodes: [{ op: 'Where', inputs: ['c', 't', 'e'], outputs: ['y'] }],
    inputs: [{ name: 'c', elem: ELEM.bool, dims: ['n'] }, { name: 't', elem: type.elem, dims: ['n'] }, { name: 'e', elem: type.elem, dims: ['n'] }],
    outputs: [{ name: 'y', elem: type.elem, dims: ['n'] }],
  }), [[condition, [n], 'bool'], [t, [n], type.ort], [e, [n], type.ort]], { shape: t.shape, dtype: t.dtype as 'float32' | 'int32' | 'bool', dims: [n], ortType: type.ort });
}

export const compareSelectKernels: { name: string; fn: (args: KernelArgs) => TensorInfo }[] = [
  ...Object.entries(COMPARISONS).map(([name, nodes]) => ({ name, fn: comparisonKernel(name, nodes) })),
  { name: 'Select', fn: select },
];
