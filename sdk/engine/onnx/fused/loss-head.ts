// The policy's loss head as two ONNX graphs: from hidden states h [M, H] through the LM head W [V, H]
// to the log-prob of each target token and the policy entropy, and back.
//   z = h W^T,   log pi = logsoftmax(z),   logp_m = log pi[m, t_m],   H_m = -sum_v pi_mv log pi_mv
// Gradient, with upstream g_logp, g_H [M] and p = pi:
//   dz = onehot(t) g_logp - p * (g_logp + g_H (log pi + H)),   dh = dz W,   dW = dz^T h
// (d logp_m/dz_v = [v = t_m] - p_v;  dH_m/dz_v = -p_v (log p_v + H_m)).
// The backward recomputes z (one [M, H] x [H, V] GEMM) instead of saving the [M, V] log-probs: the
// composite path allocates and walks ~10 tensors of that size in each direction.
// Output layout: [2, M] = (logp, entropy) rows, so each is a contiguous block for the caller.

import { FUSED } from '../../fused.ts';
import { ELEM, type OnnxNode } from '../proto.ts';
import { runGraph, type KernelArgs, type TensorInfo } from '../kernel-util.ts';

const F = ELEM.float;

/** Nodes computing z, log pi (ls), pi (p) and the entropy column ent [M, 1] from h, w. */
function headNodes(): OnnxNode[] {
  return [
    { op: 'FusedMatMul', domain: 'com.microsoft', inputs: ['h', 'w'], outputs: ['z'], attrs: { transA: 0, transB: 1, alpha: { float: 1 } } },
    { op: 'LogSoftmax', inputs: ['z'], outputs: ['ls'], attrs: { axis: -1 } },
    { op: 'Exp', inputs: ['ls'], outputs: ['p'] },
    { op: 'Mul', inputs: ['p', 'ls'], outputs: ['pls'] },
    { op: 'Constant', inputs: [], outputs: ['ax1'], attrs: { value_ints: [1] } },
    { op: 'ReduceSum', inputs: ['pls', 'ax1'], outputs: ['negEnt'], attrs: { keepdims: 1 } },
    { op: 'Neg', inputs: ['negEnt'], outputs: ['ent'] },
    { op: 'Unsqueeze', inputs: ['t', 'ax1'], outputs: ['t2'] }, // [M, 1] indices
  ];
}

const headInputs = [
  { name: 'h', elem: F, dims: ['m', 'hd'] },
  { name: 'w', elem: F, dims: ['v', 'hd'] },
  { name: 't', elem: ELEM.int32, dims: ['m'] },
];

function tokenLogprobs(args: KernelArgs): TensorInfo {
  const { h, w, targets } = args.inputs as { h: TensorInfo; w: TensorInfo; targets: TensorInfo };
  const M = h.shape[0]!;
  const [out] = runGraph(args.backend, 'OrzTokenLogprobs', () => ({
    nodes: [
      ...headNodes(),
      { op: 'GatherElements', inputs: ['ls', 't2'], outputs: ['lp'], attrs: { axis: 1 } },
      { op: 'Concat', inputs: ['lp', 'ent'], outputs: ['both'], attrs: { axis: 1 } },
      { op: 'Transpose', inputs: ['both'], outputs: ['y'], attrs: { perm: [1, 0] } },
    ],
    inputs: headInputs,
    outputs: [{ name: 'y', elem: F, dims: [2, 'm'] }],
    opset: 18,
  }), [[h, h.shape], [w, w.shape], [targets, targets.shape]], [{ shape: [2, M] }]);
  return out!;
}

function tokenLogprobsGrad(args: KernelArgs): TensorInfo[] {
  const { dy, h, w, targets } = args.inputs as { dy: TensorInfo; h: TensorInfo; w: TensorInfo; targets: TensorInfo };
  return runGraph(args.backend, 'OrzTokenLogprobsGrad', () => ({
    nodes: [
      ...headNodes(),
      { op: 'Transpose', inputs: ['dy'], outputs: ['dyT'], attrs: { perm: [1, 0] } },       // [M, 2]
      { op: 'Split', inputs: ['dyT'], outputs: ['gLp', 'gEnt'], attrs: { axis: 1, num_outputs: 2 } },
      { op: 'Add', inputs: ['ls', 'ent'], outputs: ['lsEnt'] },                            // log pi + H
      { op: 'Mul', inputs: ['gEnt', 'lsEnt'], outputs: ['gEntTerm'] },
      { op: 'Add', inputs: ['gEntTerm', 'gLp'], outputs: ['coef'] },                       // g_logp + g_H (log pi + H)
      { op: 'Mul', inputs: ['p', 'coef'], outputs: ['pCoef'] },
      { op: 'Neg', inputs: ['pCoef'], outputs: ['dzDense'] },
      { op: 'ScatterElements', inputs: ['dzDense', 't2', 'gLp'], outputs: ['dz'], attrs: { axis: 1, reduction: 'add' } }, // + onehot(t) g_logp
      { op: 'MatMul', inputs: ['dz', 'w'], outputs: ['dh'] },
      { op: 'FusedMatMul', domain: 'com.microsoft', inputs: ['dz', 'h'], outputs: ['dw'], attrs: { transA: 1, transB: 0, alpha: { float: 1 } } },
    ],
    inputs: [{ name: 'dy', elem: F, dims: [2, 'm'] }, ...headInputs],
    outputs: [{ name: 'dh', elem: F, dims: ['m', 'hd'] }, { name: 'dw', elem: F, dims: ['v', 'hd'] }],
    opset: 18,
  }), [[dy, dy.shape], [h, h.shape], [w, w.shape], [targets, targets.shape]], [{ shape: h.shape }, { shape: w.shape }]);
}

export const lossHeadKernels: { name: string; fn: (args: KernelArgs) => TensorInfo | TensorInfo[] }[] = [
  { name: FUSED.tokenLogprobs, fn: tokenLogprobs },
  { name: FUSED.tokenLogprobsGrad, fn: tokenLogprobsGrad },
];
