// (placeholder: filled in by the fused-kernel work of issue 3)
import type { KernelArgs, TensorInfo } from '../kernel-util.ts';

export const layerKernels: { name: string; fn: (args: KernelArgs) => TensorInfo | TensorInfo[] }[] = [];
