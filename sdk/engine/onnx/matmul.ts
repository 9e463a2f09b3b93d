// BatchMatMul and _FusedMatMul on ORT's MLAS GEMM.
//
// Inputs are fed as rank 3 [batch, rows, cols] (a free reshape of tfjs's row-major data), and the
// whole product is one com.microsoft FusedMatMul node: it takes transA/transB like Gemm but also
// batches and broadcasts a batch of 1 like MatMul, so no transpose is ever materialised in JS.
// tfjs flattens batch dims and pairs batch i of the output with i % batchA and i % batchB; that
// equals numpy broadcasting when the two batches are equal or one is 1 (every case the SDK uses).
// Anything else, and non-float32 or tiny products, goes to the cpu kernel.

import { tf } from '../tf.ts';
import { ELEM, type OnnxNode } from './proto.ts';
import { cpuKernel, runFloat, sizeOf, type KernelArgs, type TensorInfo } from './kernel-util.ts';

/** Below this many multiply-adds the ~30 us per ORT call costs more than the JS loop. */
export const MATMUL_MIN_MACS = 8192;

const F = ELEM.float;

interface MatMulPlan {
  aDims: number[];   // rank-3 view of a
  bDims: number[];   // rank-3 view of b
  outShape: number[];
  outDims: number[]; // rank-3 view of the output
  macs: number;
}

/** The rank-3 views of a matMul, or null when it must go to the cpu kernel. */
function plan(a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean): MatMulPlan | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return null;
  const ra = a.shape.length, rb = b.shape.length;
  const [aRows, aCols] = [a.shape[ra - 2]!, a.shape[ra - 1]!];
  const [bRows, bCols] = [b.shape[rb - 2]!, b.shape[rb - 1]!];
  const M = transposeA ? aCols : aRows, K = transposeA ? aRows : aCols;
  const N = transposeB ? bRows : bCols, Kb = transposeB ? bCols : bRows;
  if (K !== Kb) return null; // the cpu kernel raises tfjs's own error
  const batchA = sizeOf(a.shape.slice(0, -2)), batchB = sizeOf(b.shape.slice(0, -2));
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return null;
  let outer: number[];
  try {
    outer = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  } catch {
    return null;
  }
  const batch = Math.max(batchA, batchB);
  return {
    aDims: [batchA, aRows, aCols], bDims: [batchB, bRows, bCols],
    outShape: [...outer, M, N], outDims: [batch, M, N], macs: batch * M * N * K,
  };
}

function matMulNode(tA: boolean, tB: boolean, out: string): OnnxNode {
  return { op: 'FusedMatMul', domain: 'com.microsoft', inputs: ['a', 'b'], outputs: [out], attrs: { transA: +tA, transB: +tB, alpha: { float: 1 } } };
}

const abInputs = [
  { name: 'a', elem: F, dims: ['ba', 'ra', 'ca'] },
  { name: 'b', elem: F, dims: ['bb', 'rb', 'cb'] },
];

const cpuBatchMatMul = cpuKernel('BatchMatMul');

export function batchMatMul(args: KernelArgs): TensorInfo {
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
  const p = plan(a, b, transposeA, transposeB);
  if (!p || p.macs < MATMUL_MIN_MACS) return cpuBatchMatMul(args) as TensorInfo;
  return runFloat(args.backend, `MatMul:${+transposeA}${+transposeB}`, () => ({
    nodes: [matMulNode(transposeA, transposeB, 'y')],
    inputs: abInputs,
    outputs: [{ name: 'y', elem: F, dims: ['bo', 'm', 'n'] }],
  }), [[a, p.aDims], [b, p.bDims]], p.outShape, p.outDims);
}

/** ONNX nodes applying a tfjs fused activation to `x`, writing `y`; null if not covered. */
function activationNodes(activation: string, leakyreluAlpha: number, x: string, y: string): OnnxNode[] | null {
  switch (activation) {
    case 'linear': return [{ op: 'Identity', inputs: [x], outputs: [y] }];
    case 'relu': return [{ op: 'Relu', inputs: [x], outputs: [y] }];
    case 'sigmoid': return [{ op: 'Sigmoid', inputs: [x], outputs: [y] }];
    case 'elu': return [{ op: 'Elu', inputs: [x], outputs: [y], attrs: { alpha: { float: 1 } } }];
    case 'leakyrelu': return [{ op: 'LeakyRelu', inputs: [x], outputs: [y], attrs: { alpha: { float: leakyreluAlpha } } }];
    case 'relu6': return [
      { op: 'Constant', inputs: [], outputs: ['lo'], attrs: { value_float: { float: 0 } } },
      { op: 'Constant', inputs: [], outputs: ['hi'], attrs: { value_float: { float: 6 } } },
      { op: 'Clip', inputs: [x, 'lo', 'hi'], outputs: [y] },
    ];
    default: return null; // prelu (its weights broadcast like tfjs, not like ONNX PRelu)
  }
}

const cpuFusedMatMul = cpuKernel('_FusedMatMul');

export function fusedMatMul(args: KernelArgs): TensorInfo {
  const { a, b, bias, preluActivationWeights } = args.inputs as { a: TensorInfo; b: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo };
  const { transposeA, transposeB, activation = 'linear', leakyreluAlpha = 0.2 } = args.attrs as
    { transposeA: boolean; transposeB: boolean; activation?: string; leakyreluAlpha?: number };
  const p = plan(a, b, transposeA, transposeB);
  const act = activationNodes(activation, leakyreluAlpha, 'z', 'y');
  // the bias must broadcast against the rank-3 view: true for rank <= 2, or rank 3 on a rank-3 output
  const biasOk = !bias || (bias.dtype === 'float32' && (bias.shape.length <= 2 || (bias.shape.length === 3 && p?.outShape.length === 3)));
  if (!p || !act || !biasOk || preluActivationWeights || p.macs < MATMUL_MIN_MACS) return cpuFusedMatMul(args) as TensorInfo;
  const inputs: [TensorInfo, readonly number[]][] = [[a, p.aDims], [b, p.bDims]];
  const nodes = [matMulNode(transposeA, transposeB, bias ? 'p' : 'z')];
  if (bias) {
    inputs.push([bias, [...Array(3 - bias.shape.length).fill(1), ...bias.shape]]);
    nodes.push({ op: 'Add', inputs: ['p', 'bias'], outputs: ['z'] });
  }
  nodes.push(...act);
  const key = `FusedMatMul:${+transposeA}${+transposeB}:${bias ? 'bias' : ''}:${activation}:${activation === 'leakyrelu' ? leakyreluAlpha : ''}`;
  return runFloat(args.backend, key, () => ({
    nodes,
    inputs: bias ? [...abInputs, { name: 'bias', elem: F, dims: ['b0', 'b1', 'b2'] }] : abInputs,
    outputs: [{ name: 'y', elem: F, dims: ['bo', 'm', 'n'] }],
  }), inputs, p.outShape, p.outDims);
}

export const matMulKernels: { name: string; fn: (args: KernelArgs) => TensorInfo }[] = [
  { name: 'BatchMatMul', fn: batchMatMul },
  { name: '_FusedMatMul', fn: fusedMatMul },
];
