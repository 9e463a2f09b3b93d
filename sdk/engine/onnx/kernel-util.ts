// What every routed kernel shares: reading a tensor's typed array from the cpu backend's storage,
// running a cached single-op session into an output buffer from the backend's pool (buffer-pool.ts;
// ORT writes every element of an output, so a reused buffer needs no clearing), and falling back
// to the cpu kernel for anything a route does not cover (other dtypes, tiny sizes, odd broadcasts).

import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { tf } from '../tf.ts';
import { ELEM, type ElemType, type OnnxGraph } from './proto.ts';
import { ortTensor, sessionFor, type OrtTensor, type OrtType } from './session.ts';
import { poolOf } from './buffer-pool.ts';

export type TensorInfo = tf.TensorInfo;
export type NamedAttrMap = tf.NamedAttrMap;
export type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: MathBackendCPU; attrs?: NamedAttrMap };
export type Kernel = (args: KernelArgs) => TensorInfo | TensorInfo[];

/** The cpu backend's kernel for `name` (our fallback). */
export function cpuKernel(name: string): Kernel {
  const k = tf.getKernel(name, 'cpu');
  if (!k) throw new Error(`onnx/kernel-util: the cpu backend has no ${name} kernel`);
  return k.kernelFunc as unknown as Kernel;
}

/**
 * The float32 or int32 values behind a tensor, shared, not copied. Some cpu kernels label another
 * typed array float32 (Cast from bool keeps the Uint8Array); those are converted.
 */
export function tensorValues(backend: MathBackendCPU, t: TensorInfo): Float32Array | Int32Array;
export function tensorValues(backend: MathBackendCPU, t: TensorInfo, allowBool: true): Float32Array | Int32Array | Uint8Array;
export function tensorValues(backend: MathBackendCPU, t: TensorInfo, allowBool = false): Float32Array | Int32Array | Uint8Array {
  const values = backend.data.get(t.dataId)?.values;
  if (t.dtype === 'float32' && values instanceof Float32Array) return values;
  if (t.dtype === 'int32' && values instanceof Int32Array) return values;
  if (allowBool && t.dtype === 'bool' && values instanceof Uint8Array) return values;
  if (ArrayBuffer.isView(values) && !(values instanceof DataView) && !(values instanceof BigInt64Array) && !(values instanceof BigUint64Array)) {
    if (t.dtype === 'bool' && allowBool) return Uint8Array.from(values, (v) => (v !== 0 ? 1 : 0));
    return t.dtype === 'float32' ? Float32Array.from(values) : Int32Array.from(values);
  }
  throw new Error(`onnx/kernel-util: no numeric values behind a ${t.dtype} tensor of shape [${t.shape}]`);
}

/**
 * A new output array of `length` elements for a kernel of `backend`: from its buffer pool when it
 * has one. Pass `zero` unless the kernel writes every element (a reused buffer holds old values).
 */
export function outputArray(backend: MathBackendCPU, dtype: 'float32' | 'int32', length: number, zero?: boolean): Float32Array | Int32Array;
export function outputArray(backend: MathBackendCPU, dtype: OutDtype, length: number, zero?: boolean): Float32Array | Int32Array | Uint8Array;
export function outputArray(backend: MathBackendCPU, dtype: OutDtype, length: number, zero = true): Float32Array | Int32Array | Uint8Array {
  // bool outputs (a quarter of the bytes) are plain allocations: the pool keeps 4-byte arrays only,
  // and an array it did not make is never touched by it (buffer-pool.ts)
  if (dtype === 'bool') return new Uint8Array(length);
  const pool = poolOf(backend);
  if (dtype === 'int32') return pool ? pool.int32(length, zero) : new Int32Array(length);
  return pool ? pool.float32(length, zero) : new Float32Array(length);
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Runs the session `key` (built by `graph` on first use) on float32/int32 inputs given as
 * [tensor, dims-to-feed] and returns a new float32 tensor of `outShape`, fed to ORT as `outDims`
 * (the same elements, possibly viewed at another rank).
 */
export function runFloat(
  backend: MathBackendCPU, key: string, graph: () => OnnxGraph,
  inputs: [TensorInfo, readonly number[]][], outShape: number[], outDims: readonly number[] = outShape,
): TensorInfo {
  return runOne(backend, key, graph, inputs, { shape: outShape, dims: outDims });
}

/** The tfjs dtypes a routed kernel may output. */
export type OutDtype = 'float32' | 'int32' | 'bool';

export type { OrtType };

/**
 * How a tensor of `dtype` is fed to an ONNX graph: its element type and ORT type, or null for
 * dtypes not routed. bool goes as uint8: ONNX's order comparisons, Where, Tile, ArgMax and CumSum
 * have no bool kernel, and uint8 0/1 orders false < true as tfjs's 0 < 1.
 */
export function operandType(dtype: string): { elem: ElemType; ort: OrtType } | null {
  if (dtype === 'float32') return { elem: ELEM.float, ort: 'float32' };
  if (dtype === 'int32') return { elem: ELEM.int32, ort: 'int32' };
  if (dtype === 'bool') return { elem: ELEM.uint8, ort: 'uint8' };
  return null;
}

/**
 * One input of `runGraph`: a tensor with the dims to feed it at (and optionally the ORT type to
 * declare its bytes as: bool tensors go to ops that have no bool kernel as 'uint8'), or raw data.
 */
export type GraphInput =
  | [TensorInfo, readonly number[]]
  | [TensorInfo, readonly number[], OrtType]
  | { type: OrtType; data: OrtTensor['data']; dims: readonly number[] };

/** One output of `runGraph`: its tfjs shape, dtype, the dims ORT sees (default: the shape), and its ORT type (default: the dtype). */
export interface GraphOutput { shape: number[]; dtype?: OutDtype; dims?: readonly number[]; ortType?: OrtType }

function inputTensor(backend: MathBackendCPU, input: GraphInput): OrtTensor {
  if (!Array.isArray(input)) return ortTensor(input.type, input.data, input.dims);
  const [t, dims, type] = input;
  return ortTensor(type ?? (t.dtype as OrtType), tensorValues(backend, t, true), dims);
}

/**
 * Runs the session `key` (built by `graph` on first use) on `inputs` and returns one new tensor
 * per graph output, in graph-output order. Output buffers are taken from the pool here and
 * filled by ORT in place.
 */
export function runGraph(
  backend: MathBackendCPU, key: string, graph: () => OnnxGraph,
  inputs: GraphInput[], outputs: GraphOutput[],
): TensorInfo[] {
  const buffers = outputs.map((o) => outputArray(backend, o.dtype ?? 'float32', sizeOf(o.shape), false)); // ORT fills them
  if (buffers.some((b) => b.length > 0)) {
    const session = sessionFor(key, graph);
    session.run(
      inputs.map((input) => inputTensor(backend, input)),
      outputs.map((o, i) => ortTensor(o.ortType ?? o.dtype ?? 'float32', buffers[i]!, o.dims ?? o.shape)),
    );
  }
  return outputs.map((o, i) => backend.makeTensorInfo(o.shape, o.dtype ?? 'float32', buffers[i]!));
}

/** `runGraph` for a one-output graph. */
export function runOne(
  backend: MathBackendCPU, key: string, graph: () => OnnxGraph, inputs: GraphInput[], output: GraphOutput,
): TensorInfo {
  return runGraph(backend, key, graph, inputs, [output])[0]!;
}

/** Symbolic dims d0..d{rank-1} with a prefix, so inputs of one graph get independent sizes. */
export function symDims(prefix: string, rank: number): string[] {
  return Array.from({ length: rank }, (_, i) => `${prefix}${i}`);
}
