// Every fused kernel (sdk/engine/fused.ts names them) this backend implements as one ONNX graph.
import type { KernelArgs, TensorInfo } from '../kernel-util.ts';
import { adamKernels } from './adam.ts';
import { layerKernels } from './layer.ts';
import { lossHeadKernels } from './loss-head.ts';

export const fusedKernels: { name: string; fn: (args: KernelArgs) => TensorInfo | TensorInfo[] }[] = [
  ...layerKernels,
  ...adamKernels,
  ...lossHeadKernels,
];
