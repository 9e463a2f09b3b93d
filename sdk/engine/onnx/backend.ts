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
import { fusedKernels } from './fused/index.ts';
import { disposeSessions, loadNative } from './session.ts';

export const ONNX_BACKEND = 'onnxruntime';

export class OnnxBackend extends MathBackendCPU {
  constructor() {
    super();
    // the cpu backend's one-time "install tfjs-node" banner is wrong advice for this backend
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  override dispose(): void {
    disposeSessions();
    super.dispose();
  }
}

/** Every kernel this backend routes itself: on ORT sessions, or as JS block copies (copy-kernels.ts); the rest are the cpu backend's. */
function routedKernels(): { name: string; fn: (args: KernelArgs) => TensorInfo }[] {
  return [...matMulKernels, ...elementwiseKernels, ...reduceKernels, ...shapeKernels, ...copyKernels];
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
