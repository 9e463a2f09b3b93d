// Data movement on ORT: Transpose, GatherV2 (the embedding lookup), Concat and Tile. Each input is
// viewed at the lowest rank that keeps the op's meaning, so one session serves many shapes.

import { tf } from '../tf.ts';
import { ELEM } from './proto.ts';
import { cpuKernel, operandType, runFloat, runOne, sizeOf, symDims, tensorValues, type KernelArgs, type TensorInfo } from './kernel-util.ts';
import { ELEMENTWISE_MIN_SIZE } from './elementwise.ts';

const F = ELEM.float;

const cpuTranspose = cpuKernel('Transpose');

function transpose(args: KernelArgs): TensorInfo {
  const { x } = args.inputs as { x: TensorInfo };
  const { perm } = args.attrs as { perm: number[] };
  if (x.dtype !== 'float32' || sizeOf(x.shape) < ELEMENTWISE_MIN_SIZE || perm.length !== x.shape.length) return cpuTranspose(args) as TensorInfo;
  const outShape = perm.map((p) => x.shape[p]!);
  return runFloat(args.backend, `Transpose:${perm.join(',')}`, () => ({
    nodes: [{ op: 'Transpose', inputs: ['x'], outputs: ['y'], attrs: { perm } }],
    inputs: [{ name: 'x', elem: F, dims: symDims('x', perm.length) }],
    outputs: [{ name: 'y', elem: F, dims: symDims('y', perm.length) }],
  }), [[x, x.shape]], outShape);
}

const cpuGather = cpuKernel('GatherV2');

/** x viewed as [outer, axisDim, inner], indices flat: y = [outer, n, inner]. */
function gatherV2(args: KernelArgs): TensorInfo {
  const { x, indices } = args.inputs as { x: TensorInfo; indices: TensorInfo };
  const { axis, batchDims } = args.attrs as { axis: number; batchDims: number };
  if (x.dtype !== 'float32' || indices.dtype !== 'int32' || batchDims !== 0 || x.shape.length === 0) return cpuGather(args) as TensorInfo;
  const a = tf.util.parseAxisParam(axis, x.shape)[0]!;
  const axisDim = x.shape[a]!;
  const outer = sizeOf(x.shape.slice(0, a)), inner = sizeOf(x.shape.slice(a + 1)), n = sizeOf(indices.shape);
  if (outer * n * inner < ELEMENTWISE_MIN_SIZE) return cpuGather(args) as TensorInfo;
  // ORT wraps negative indices where tfjs rejects them: out-of-range indices get tfjs's error
  const idx = tensorValues(args.backend, indices);
  for (let i = 0; i < idx.length; i++) if (!(idx[i]! >= 0 && idx[i]! < axisDim)) return cpuGather(args) as TensorInfo;
  const outShape = [...x.shape.slice(0, a), ...indices.shape, ...x.shape.slice(a + 1)];
  return runFloat(args.backend, 'Gather', () => ({
    nodes: [{ op: 'Gather', inputs: ['x', 'i'], outputs: ['y'], attrs: { axis: 1 } }],
    inputs: [{ name: 'x', elem: F, dims: ['o', 'a', 'k'] }, { name: 'i', elem: ELEM.int32, dims: ['n'] }],
    outputs: [{ name: 'y', elem: F, dims: ['o', 'n', 'k'] }],
  }), [[x, [outer, axisDim, inner]], [indices, [n]]], outShape, [outer, n, inner]);
}

const cpuConcat = cpuKernel('Concat');

/** Along axis a every input is [outer, inner_i] with outer = prod(shape[:a]): concat on axis 1. */
function concat(args: KernelArgs): TensorInfo {
  const xs = Object.values(args.inputs) as TensorInfo[];
  const first = xs[0];
  if (!first || xs.length < 2 || first.shape.length === 0 || xs.some((t) => t.dtype !== 'float32' || sizeOf(t.shape) === 0 || t.shape.length !== first.shape.length)) return cpuConcat(args) as TensorInfo;
  const a = tf.util.parseAxisParam((args.attrs as { axis: number }).axis, first.shape)[0]!;
  const outer = sizeOf(first.shape.slice(0, a));
  if (xs.some((t) => t.shape.some((d, i) => i !== a && d !== first.shape[i]))) return cpuConcat(args) as TensorInfo; // tfjs's error
  const outShape = [...first.shape];
  outShape[a] = xs.reduce((s, t) => s + t.shape[a]!, 0);
  if (sizeOf(outShape) < ELEMENTWISE_MIN_SIZE) return cpuConcat(args) as TensorInfo;
  const names = xs.map((_, i) => `x${i}`);
  return runFloat(args.backend, `Concat:${xs.length}`, () => ({
    nodes: [{ op: 'Concat', inputs: names, outputs: ['y'], attrs: { axis: 1 } }],
    inputs: names.map((name, i) => ({ name, elem: F, dims: ['o', `i${i}`] })),
    outputs: [{ name: 'y', elem: F, dims: ['o', 'n'] }],
  }), xs.map((t) => [t, [outer, sizeOf(t.shape) / Math.max(outer, 1)]]), outShape, [outer, sizeOf(outShape) / Math.max(outer, 1)]);
}

const cpuTile = cpuKernel('Tile');

/**
 * Tile: y[i] = x[i mod shape] with shape * reps elements (tf.where and broadcastTo use it too).
 * The repeats are an int64 input, so one session serves each rank and dtype; bool is fed as uint8.
 */
function tile(args: KernelArgs): TensorInfo {
  const { x } = args.inputs as { x: TensorInfo };
  const { reps } = args.attrs as { reps: number[] };
  const rank = x.shape.length;
  const type = operandType(x.dtype);
  if (!type || rank === 0 || reps.length !== rank || reps.some((r) => !Number.isInteger(r) || r < 0)) return cpuTile(args) as TensorInfo;
  const outShape = x.shape.map((d, i) => d * reps[i]!);
  if (sizeOf(outShape) < ELEMENTWISE_MIN_SIZE || sizeOf(x.shape) === 0) return cpuTile(args) as TensorInfo;
  const { elem, ort } = type;
  return runOne(args.backend, `Tile:${ort}:${rank}`, () => ({
    nodes: [{ op: 'Tile', inputs: ['x', 'reps'], outputs: ['y'] }],
    inputs: [{ name: 'x', elem, dims: symDims('x', rank) }, { name: 'reps', elem: ELEM.int64, dims: [rank] }],
    outputs: [{ name: 'y', elem, dims: symDims('y', rank) }],
  }), [[x, x.shape, ort], { type: 'int64', data: BigInt64Array.from(reps, (r) => BigInt(r)), dims: [rank] }],
  { shape: outShape, dtype: x.dtype as 'float32' | 'int32' | 'bool', ortType: ort });
}

export const shapeKernels: { name: string; fn: (args: KernelArgs) => TensorInfo }[] = [
  { name: 'Transpose', fn: transpose },
  { name: 'GatherV2', fn: gatherV2 },
  { name: 'Concat', fn: concat },
  { name: 'Tile', fn: tile },
];
