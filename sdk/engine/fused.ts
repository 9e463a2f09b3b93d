// Fused kernels: one kernel call for a whole sub-graph (a transformer layer, an Adam update, a
// loss head) that a backend may provide. The op side lives with its caller (sdk/model, sdk/ppo):
// it asks `fusedKernel(name)` and, when the active backend registers that kernel, runs it inside a
// tf.customGrad whose gradient is the matching "...Grad" kernel; otherwise it runs the composite
// of standard tfjs ops, which every backend has. So a backend is swappable without touching callers.
//
// ORZ_FUSED=0 turns every fused kernel off (the composite path runs), for comparison and debugging.

import { tf } from './tf.ts';

/** Names of the fused kernels (tfjs kernel names; a backend registers the ones it implements). */
export const FUSED = {
  /** One transformer layer's forward (and its saved activations) and backward. */
  layerForward: 'OrzLayerForward',
  layerBackward: 'OrzLayerBackward',
  /** One Adam(W) update of a parameter and its two moments. */
  adam: 'OrzAdam',
  /** sum_i ||x_i||^2 over any number of tensors (the global gradient norm), accumulated in float64. */
  sumSquares: 'OrzSumSquares',
  /** log pi(target) (and entropy) from hidden states through the LM head, and its gradient. */
  tokenLogprobs: 'OrzTokenLogprobs',
  tokenLogprobsGrad: 'OrzTokenLogprobsGrad',
} as const;
export type FusedKernelName = (typeof FUSED)[keyof typeof FUSED];

let override: boolean | null = null;

/** Turns fused kernels on or off for this process (null: back to ORZ_FUSED, default on). */
export function setFusedKernels(on: boolean | null): void {
  override = on;
}

function fusedEnabled(): boolean {
  if (override !== null) return override;
  const env = process.env['ORZ_FUSED'];
  if (env === undefined || env === '' || env === '1') return true;
  if (env === '0') return false;
  throw new Error(`ORZ_FUSED must be 0 or 1, got "${env}"`);
}

/** True when fused kernels are enabled and the active backend registers every one of `names`. */
export function fusedKernel(...names: FusedKernelName[]): boolean {
  if (!fusedEnabled()) return false;
  const backend = tf.getBackend();
  return names.every((n) => tf.getKernel(n, backend) !== undefined);
}

/** Runs a fused kernel; every output comes back as a tensor (in the kernel's output order). */
export function runFused(name: FusedKernelName, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}): tf.Tensor[] {
  const out = tf.engine().runKernel(name, inputs, attrs) as tf.Tensor | tf.Tensor[];
  return Array.isArray(out) ? out : [out];
}
