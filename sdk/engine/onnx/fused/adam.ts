// The optimizer's fused kernels (sdk/ppo/optimizer.ts is their caller and holds the composite
// they must equal):
//
// OrzAdam: one AdamW update of a parameter p and its moments m, v from gradient g, as one ONNX
// graph, i.e. one ORT run instead of ~12 tfjs kernels with an output each. The step's numbers are
// scalar INPUTS, not graph constants (they change every step: lr warmup, bias corrections, clip
// scale), so one session serves every parameter and every step. With s the gradient scale from
// global-norm clipping (1 when not clipping), b1, b2 the betas, c1 = 1 - b1^t, c2 = 1 - b2^t:
//     g~  = s g
//     m_t = b1 m + (1 - b1) g~                 (1 - b1 and 1 - b2 come as inputs, rounded to
//     v_t = b2 v + (1 - b2) g~^2                float32 as the composite's tfjs scalars are)
//     u   = (m_t / c1) / (sqrt(v_t / c2) + eps) + wd p      (decoupled weight decay, AdamW)
//     p_t = p - lr u
// in the composite's operation order, so each elementwise step rounds the same way.
// Inputs: param, grad, m, v (float32, any one shape) and the float32 scalars lr, beta1,
// oneMinusBeta1, beta2, oneMinusBeta2, biasCorrection1, biasCorrection2, eps, weightDecay,
// gradScale. Outputs: [p_t, m_t, v_t], each of param's shape.
//
// OrzSumSquares: sum_i sum_j x_i[j]^2 over any number of float32 tensors (inputs named 0..k-1),
// as a float32 scalar (accumulated in float64): the global gradient norm's square in one ORT run
// instead of a Square and a Sum per tensor and an AddN. One session per input count.

import { ELEM, type OnnxGraph, type OnnxNode } from '../proto.ts';
import { outputArray, sizeOf, tensorValues, type KernelArgs, type TensorInfo } from '../kernel-util.ts';
import { ortTensor, sessionFor } from '../session.ts';
import { FUSED } from '../../fused.ts';

const F = ELEM.float;
/** TensorProto.DataType DOUBLE (not in proto.ts's ELEM: tfjs has no float64). */
const DOUBLE = 11;

export const ADAM_KERNEL = FUSED.adam;
export const SUM_SQUARES_KERNEL = FUSED.sumSquares;

/** The scalar inputs of OrzAdam, in the graph's input order after param, grad, m, v. */
export const ADAM_SCALARS = [
  'lr', 'beta1', 'oneMinusBeta1', 'beta2', 'oneMinusBeta2', 'biasCorrection1', 'biasCorrection2', 'eps', 'weightDecay', 'gradScale',
] as const;

function adamGraph(): OnnxGraph {
  const node = (op: string, inputs: string[], output: string): OnnxNode => ({ op, inputs, outputs: [output] });
  return {
    nodes: [
      node('Mul', ['grad', 'gradScale'], 'gs'),                 // g~ = s g
      node('Mul', ['m', 'beta1'], 'm_b1'),
      node('Mul', ['gs', 'oneMinusBeta1'], 'g_b1'),
      node('Add', ['m_b1', 'g_b1'], 'm_t'),                     // m_t = b1 m + (1 - b1) g~
      node('Mul', ['v', 'beta2'], 'v_b2'),
      node('Mul', ['gs', 'gs'], 'gs2'),
      node('Mul', ['gs2', 'oneMinusBeta2'], 'g_b2'),
      node('Add', ['v_b2', 'g_b2'], 'v_t'),                     // v_t = b2 v + (1 - b2) g~^2
      node('Div', ['m_t', 'biasCorrection1'], 'm_hat'),
      node('Div', ['v_t', 'biasCorrection2'], 'v_hat'),
      node('Sqrt', ['v_hat'], 'v_sqrt'),
      node('Add', ['v_sqrt', 'eps'], 'denom'),
      node('Div', ['m_hat', 'denom'], 'u_adam'),
      node('Mul', ['param', 'weightDecay'], 'decay'),
      node('Add', ['u_adam', 'decay'], 'u'),                    // u = m^ / (sqrt(v^) + eps) + wd p
      node('Mul', ['u', 'lr'], 'step'),
      node('Sub', ['param', 'step'], 'p_t'),                    // p_t = p - lr u
    ],
    inputs: [
      ...['param', 'grad', 'm', 'v'].map((name) => ({ name, elem: F, dims: ['n'] })),
      ...ADAM_SCALARS.map((name) => ({ name, elem: F, dims: [] })),
    ],
    outputs: ['p_t', 'm_t', 'v_t'].map((name) => ({ name, elem: F, dims: ['n'] })),
  };
}

/**
 * Elements per ORT run of OrzAdam. ORT runs the graph node by node, each over its whole input:
 * on a 3.4M-element parameter that is 17 passes through memory of 14 MB arrays. Fed in chunks
 * that keep the intermediates in cache, the update ran ~3x faster here (best of 21: 72 ms whole,
 * 23 ms at 2^19, 20 ms at 2^20, 33 ms at 2^18; below that the per-run cost of ~17 node launches wins).
 */
export const ADAM_CHUNK = 1 << 19;

function adam(args: KernelArgs): TensorInfo[] {
  const { backend } = args;
  const inputs = args.inputs as Record<string, TensorInfo>;
  const tensors = ['param', 'grad', 'm', 'v'].map((name) => {
    const t = inputs[name];
    if (!t || t.dtype !== 'float32') throw new Error(`${ADAM_KERNEL}: input ${name} must be a float32 tensor`);
    return t;
  });
  const shape = tensors[0]!.shape;
  const n = sizeOf(shape);
  for (const t of tensors) if (sizeOf(t.shape) !== n) throw new Error(`${ADAM_KERNEL}: param, grad, m, v must have one size, got [${shape}] and [${t.shape}]`);
  const scalars = ADAM_SCALARS.map((name) => {
    const t = inputs[name];
    if (!t || t.dtype !== 'float32' || sizeOf(t.shape) !== 1) throw new Error(`${ADAM_KERNEL}: input ${name} must be a float32 scalar`);
    return ortTensor('float32', tensorValues(backend, t), []);
  });
  const values = tensors.map((t) => tensorValues(backend, t));
  // the update is elementwise: every chunk is an independent run, written into its part of the outputs
  const outs = [0, 1, 2].map(() => outputArray(backend, 'float32', n, false)); // the chunks cover every element
  if (n > 0) {
    const session = sessionFor(`${ADAM_KERNEL}:f32`, adamGraph);
    for (let start = 0; start < n; start += ADAM_CHUNK) {
      const end = Math.min(n, start + ADAM_CHUNK);
      const view = (a: Float32Array | Int32Array) => ortTensor('float32', a.subarray(start, end), [end - start]);
      session.run([...values.map(view), ...scalars], outs.map(view));
    }
  }
  return outs.map((out) => backend.makeTensorInfo(shape, 'float32', out));
}

function sumSquaresGraph(k: number): OnnxGraph {
  const names = Array.from({ length: k }, (_, i) => `x${i}`);
  return {
    nodes: [
      // Accumulated in float64: ORT's float32 ReduceSumSquare over a 3.4M-element tensor is off by
      // ~1e-4 relative (the cpu backend sums in float64: ~1e-8); the casts cost ~1 ms per 1M elements.
      ...names.flatMap((x, i): OnnxNode[] => [
        { op: 'Cast', inputs: [x], outputs: [`${x}d`], attrs: { to: DOUBLE } },
        // no axes input: reduce over every axis (opset 18)
        { op: 'ReduceSumSquare', inputs: [`${x}d`], outputs: [`s${i}`], attrs: { keepdims: 0 } },
      ]),
      { op: 'Sum', inputs: names.map((_, i) => `s${i}`), outputs: ['yd'] },
      { op: 'Cast', inputs: ['yd'], outputs: ['y'], attrs: { to: F } },
    ],
    inputs: names.map((name) => ({ name, elem: F, dims: [`${name}n`] })),
    outputs: [{ name: 'y', elem: F, dims: [] }],
    opset: 18,
  };
}

/**
 * Elements per ORT run of OrzSumSquares. The graph casts its inputs to float64, so one run over every
 * gradient at once holds a float64 copy of all of them (twice the gradients' bytes; onnxruntime's arena
 * keeps it after the run): 1.1 GB for Qwen2.5-0.5B's embedding gradient alone. Runs of at most this many
 * elements (a large gradient split into views, small ones packed together) bound that copy at 32 MB.
 */
export const SUM_SQUARES_CHUNK = 1 << 22;

function sumSquares(args: KernelArgs): TensorInfo {
  // variadic inputs arrive as a map keyed 0..k-1 (integer keys enumerate in ascending order)
  const { backend } = args;
  const xs = Object.values(args.inputs as Record<string, TensorInfo>);
  if (xs.length === 0) throw new Error(`${SUM_SQUARES_KERNEL}: needs at least one tensor`);
  for (const x of xs) if (x.dtype !== 'float32') throw new Error(`${SUM_SQUARES_KERNEL}: inputs must be float32, got ${x.dtype}`);
  // views of at most SUM_SQUARES_CHUNK elements, packed into runs of at most that many in all
  const runs: Float32Array[][] = [[]];
  let inRun = 0;
  for (const x of xs) {
    const values = tensorValues(backend, x) as Float32Array;
    for (let start = 0; start < values.length; start += SUM_SQUARES_CHUNK) {
      const view = values.subarray(start, Math.min(values.length, start + SUM_SQUARES_CHUNK));
      if (inRun + view.length > SUM_SQUARES_CHUNK && inRun > 0) { runs.push([]); inRun = 0; }
      runs.at(-1)!.push(view);
      inRun += view.length;
    }
  }
  let total = 0; // sum over runs, each accumulated in float64 inside the graph
  for (const views of runs) {
    const k = views.length;
    if (k === 0) continue;
    const out = new Float32Array(1);
    sessionFor(`${SUM_SQUARES_KERNEL}:${k}`, () => sumSquaresGraph(k))
      .run(views.map((v) => ortTensor('float32', v, [v.length])), [ortTensor('float32', out, [])]);
    total += out[0]!;
  }
  const y = outputArray(backend, 'float32', 1, false);
  y[0] = total;
  return backend.makeTensorInfo([], 'float32', y);
}

export const adamKernels: { name: string; fn: (args: KernelArgs) => TensorInfo | TensorInfo[] }[] = [
  { name: ADAM_KERNEL, fn: adam },
  { name: SUM_SQUARES_KERNEL, fn: sumSquares },
];
