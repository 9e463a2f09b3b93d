// The "onnxruntime" tfjs backend: the cpu backend (tensors stay JS typed arrays, every kernel it
// has still works) with the hot kernels re-routed to ONNX Runtime's native CPU kernels.

import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { tf } from '../tf.ts';
import type { KernelArgs, TensorInfo } from './kernel-util.ts';
import { elementwiseKernels } from './elementwise.ts';
import { matMulKernels } from './matmul.ts';
import { reduceKernels } from './reduce.ts';
import { shapeKernels } from './shape.ts';
import { copyKernels } from './copy-kernels.ts';
import { compareSelectKernels } from './compare-select.ts';
import { castKernels } from './cast.ts';
import { indexKernels } from './index-kernels.ts';
import { scatterAddKernels } from './scatter-add.ts';
import { fusedKernels } from './fused/index.ts';
import { disposeSessions, loadNative } from './session.ts';
import { attachPool, BufferPool } from './buffer-pool.ts';

type DataId = object;

export const ONNX_BACKEND = 'onnxruntime';

export class OnnxBackend extends MathBackendCPU {
  /** Output buffers of routed kernels, reused once their tensor data is freed (buffer-pool.ts says when that is safe). */
  readonly pool = new BufferPool();

  constructor() {
    super();
    // the cpu backend's one-time "install tfjs-node" banner is wrong advice for this backend
    (this as unknown as { firstUse: boolean }).firstUse = false;
    attachPool(this, this.pool);
  }

  // Every data entry is created by write (makeTensorInfo, makeOutput) or move: the pool sees the
  // values each entry holds, so a pooled buffer stored under a second entry gets pinned.
  override write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType): DataId {
    const dataId = super.write(values, shape, dtype);
    this.pool.adopt(values, dataId);
    return dataId;
  }

  override move(dataId: DataId, values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType, refCount: number): void {
    super.move(dataId, values, shape, dtype, refCount);
    this.pool.adopt(values, dataId);
  }

  // The cpu backend hands its stored array itself to dataSync/data/arraySync (read calls readSync).
  override readSync(dataId: DataId): tf.backend_util.BackendValues {
    if (this.data.has(dataId)) this.pool.escape(this.data.get(dataId)!.values);
    return super.readSync(dataId);
  }

  // bufferSync is what cpu kernels read their inputs with (Gather, Tile, ...): the array stays
  // inside the kernel, so it is read without counting as an escape (a kernel that returns it as
  // an output stores it under a new entry, which pins it in write).
  override bufferSync<R extends tf.Rank, D extends tf.DataType>(t: tf.TensorInfo): tf.TensorBuffer<R, D> {
    const entry = this.data.has(t.dataId) ? this.data.get(t.dataId)! : null;
    const values = entry?.values;
    if (entry?.complexTensorInfos == null && (values instanceof Float32Array || values instanceof Int32Array)
        && ((t.dtype === 'float32' && values instanceof Float32Array) || (t.dtype === 'int32' && values instanceof Int32Array))) {
      return tf.buffer(t.shape as tf.ShapeMap[R], t.dtype as D, values as tf.DataTypeMap[D]);
    }
    return super.bufferSync<R, D>(t);
  }

  /** The cpu backend deletes an entry when its refcount reaches zero (or on force); only then can its buffer be reused. */
  override disposeData(dataId: DataId, force = false): boolean {
    const values = this.data.has(dataId) ? this.data.get(dataId)!.values : undefined;
    const released = super.disposeData(dataId, force);
    if (values !== undefined && !this.data.has(dataId)) this.pool.release(values, dataId);
    return released;
  }

  override dispose(): void {
    disposeSessions();
    this.pool.clear();
    super.dispose();
  }
}

/**
 * Every kernel this backend routes itself: on ORT sessions, or in JS (block copies in
 * copy-kernels.ts, scatter-adds in scatter-add.ts); the rest are the cpu backend's.
 */
function routedKernels(): { name: string; fn: (args: KernelArgs) => TensorInfo }[] {
  return [
    ...matMulKernels, ...elementwiseKernels, ...reduceKernels, ...shapeKernels, ...copyKernels,
    ...compareSelectKernels, ...castKernels, ...indexKernels, ...scatterAddKernels,
  ];
}

export function routedKernelNames(): string[] {
  return routedKernels().map((k) => k.name);
}

let registered = false;

/**
 * Registers the backend with tfjs (idempotent). Throws if onnxruntime-node cannot load, so a
 * caller can report why. Activate it with `await tf.setBackend('onnxruntime')`.
 */
export function registerOnnxBackend(priority = 0): void {
  if (registered) return;
  loadNative();
  const routed = new Map(routedKernels().map((k) => [k.name, k.fn]));
  for (const config of tf.getKernelsForBackend('cpu')) {
    const fn = routed.get(config.kernelName);
    tf.registerKernel({ ...config, backendName: ONNX_BACKEND, ...(fn ? { kernelFunc: fn as unknown as tf.KernelFunc } : {}) });
  }
  // kernels no other backend has: whole sub-graphs as one ONNX session (sdk/engine/fused.ts)
  for (const k of fusedKernels) tf.registerKernel({ kernelName: k.name, backendName: ONNX_BACKEND, kernelFunc: k.fn as unknown as tf.KernelFunc });
  tf.registerBackend(ONNX_BACKEND, () => new OnnxBackend(), priority);
  registered = true;
}
