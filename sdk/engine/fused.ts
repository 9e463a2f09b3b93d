// Fused kernels: one kernel call for a whole sub-graph (a transformer layer, an Adam update, a
// loss head) that a backend may provide, and the one seam that chooses between them and standard ops.
//
// An op (`fusedOp`) holds two implementations of one function: its composite of standard tfjs ops,
// which every backend has and which is the readable reference, and its fused path, which runs the
// backend's kernels (inside a tf.customGrad whose gradient is the matching "...Grad" kernel when it
// is differentiated). Each call runs the fused path when the active backend registers every kernel the
// op names, else the composite. The ops themselves are defined next to their composites, in the
// `*-op.ts` files (sdk/model/layer-op.ts, sdk/model/logprobs-op.ts, sdk/ppo/adam-op.ts); the model and
// the algorithm call ops and never ask for a kernel, so a backend is swappable without touching them.
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

/**
 * The configuration attributes of the layer kernels (layerForward, layerBackward), defined once for the op
 * (sdk/model/layer-op.ts) and the backends. A type, not an interface, so it passes as tfjs's NamedAttrMap.
 */
export type FusedLayerAttrs = {
  heads: number;
  kvHeads: number;
  headDim: number;
  act: 'silu' | 'gelu';
  eps: number;
  norm: 'rms' | 'layer';
  parallel: boolean;
  rotaryDims: number;
};

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

/** A function with a composite of standard ops and an optional fused path computing the same thing. */
export interface FusedOp<A extends unknown[], R> {
  (...args: A): R;
  readonly opName: string;
  /** The composite alone (the readable reference), whatever the backend. */
  readonly composite: (...args: A) => R;
  /** True when a call now runs the fused path (fused kernels enabled, all of the op's registered). */
  usesFused(): boolean;
}

/** Defines an op: each call runs `fused` when the backend has every one of `kernels`, else `composite`. */
export function fusedOp<A extends unknown[], R>(spec: {
  name: string;
  kernels: FusedKernelName[];
  composite: (...args: A) => R;
  fused: (...args: A) => R;
}): FusedOp<A, R> {
  const usesFused = () => fusedKernel(...spec.kernels);
  const op = (...args: A): R => (usesFused() ? spec.fused(...args) : spec.composite(...args));
  return Object.assign(op, { opName: spec.name, composite: spec.composite, usesFused });
}
