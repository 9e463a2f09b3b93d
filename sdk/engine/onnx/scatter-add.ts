// UnsortedSegmentSum (the embedding gradient) and ScatterNd as plain JS scatter-adds, not ORT.
//
// Why not ORT: ScatterND with reduction='add' runs its updates in parallel without ordering
// (measured: 20000 rows into 3 segments came back wrong by up to 100 and different every run), and
// ScatterElements(add) is sequential but ~12 ns per element, 6x slower than this loop. The cpu
// backend's UnsortedSegmentSum is O(segments x size) (one masked sum per segment: 24 s of a 28 s
// training step in issue 3's profile); here it is one pass over the rows.

import { tf } from '../tf.ts';
import { cpuKernel, outputArray, sizeOf, type KernelArgs, type TensorInfo } from './kernel-util.ts';

let scatters = 0;
/** How many times a scatter-add here (rather than the cpu fallback) produced an output; for tests. */
export function scatterAddCount(): number {
  return scatters;
}

const cpuSegmentSum = cpuKernel('UnsortedSegmentSum');

/**
 * out[s, :] = sum over rows r with ids[r] = s of x[r, :], x viewed as [N, inner] (ids: [N]).
 * Exactly the cpu kernel's numbers: it sums mask * x over all rows, in row order, in a double (its
 * Sum kernel), rounded to float32 once. So rows are bucketed by segment (stable) and each segment
 * summed in a double in row order; rows of other segments added +-0 there, which changes nothing,
 * except where x is not finite: 0 * inf = NaN, so a column holding a non-finite value in a row
 * outside segment s is NaN in s (fixed up after the sums).
 */
function unsortedSegmentSum(args: KernelArgs): TensorInfo {
  const { x, segmentIds } = args.inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = args.attrs as { numSegments: number };
  const xValues = args.backend.data.get(x.dataId)?.values;
  const idValues = args.backend.data.get(segmentIds.dataId)?.values;
  if ((x.dtype !== 'float32' && x.dtype !== 'int32') || !(xValues instanceof Float32Array || xValues instanceof Int32Array)
      || segmentIds.dtype !== 'int32' || !(idValues instanceof Int32Array) || !Number.isInteger(numSegments) || numSegments <= 0
      // ids of rank > 1: the cpu kernel expands them at the wrong axis and raises; let it
      || segmentIds.shape.length !== 1 || x.shape.length === 0 || segmentIds.shape[0] !== x.shape[0]) {
    return cpuSegmentSum(args) as TensorInfo;
  }
  const rows = segmentIds.shape[0]!, inner = sizeOf(x.shape.slice(1));
  const outShape = [numSegments, ...x.shape.slice(1)];
  // rows bucketed by segment, in row order: start[s]..start[s+1] in `order`
  const start = new Int32Array(numSegments + 1);
  for (let r = 0; r < rows; r++) { const s = idValues[r]!; if (s >= 0 && s < numSegments) start[s + 1]!++; }
  for (let s = 0; s < numSegments; s++) start[s + 1]! += start[s]!;
  const order = new Int32Array(start[numSegments]!);
  const fill = start.slice(0, numSegments);
  for (let r = 0; r < rows; r++) { const s = idValues[r]!; if (s >= 0 && s < numSegments) order[fill[s]!++] = r; }
  const out = outputArray(args.backend, 'float32', numSegments * inner, false) as Float32Array;
  const acc = new Float64Array(inner);
  // int32 values (an int32 x, or a float32 x relabelled from one) are rounded to float32 first:
  // the cpu's float32 mask times them is a float32 product (exact below 2^24)
  const rounded = xValues instanceof Int32Array;
  for (let s = 0; s < numSegments; s++) {
    acc.fill(0);
    for (let j = start[s]!; j < start[s + 1]!; j++) {
      const base = order[j]! * inner;
      if (rounded) for (let c = 0; c < inner; c++) acc[c]! += Math.fround(xValues[base + c]!);
      else for (let c = 0; c < inner; c++) acc[c]! += xValues[base + c]!;
    }
    out.set(acc, s * inner);
  }
  if (xValues instanceof Float32Array) markNonFiniteElsewhere(xValues, idValues, rows, inner, numSegments, out);
  scatters++;
  return args.backend.makeTensorInfo(outShape, 'float32', out);
}

/** out[s, c] = NaN where column c has a non-finite x in some row not in segment s (0 * inf and 0 * NaN are NaN). */
function markNonFiniteElsewhere(x: Float32Array, ids: Int32Array, rows: number, inner: number, numSegments: number, out: Float32Array): void {
  let any = false;
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]!)) { any = true; break; }
  if (!any) return;
  for (let c = 0; c < inner; c++) {
    // how many non-finite values column c has, in all and per segment
    let total = 0;
    const perSegment = new Map<number, number>();
    for (let r = 0; r < rows; r++) {
      if (Number.isFinite(x[r * inner + c]!)) continue;
      total++;
      const s = ids[r]!;
      perSegment.set(s, (perSegment.get(s) ?? 0) + 1);
    }
    if (total === 0) continue;
    for (let s = 0; s < numSegments; s++) if (total > (perSegment.get(s) ?? 0)) out[s * inner + c] = NaN;
  }
}

const cpuScatterNd = cpuKernel('ScatterNd');

/**
 * ScatterNd: zeros of `shape`, then out[flat(indices[i]), :] += updates[i, :] for i in order,
 * each add rounded into the output array as the cpu kernel does (float32 steps; int32 wraps).
 * An index is checked only as a flat row number, like tfjs; bad ones take the cpu kernel's error.
 */
function scatterNd(args: KernelArgs): TensorInfo {
  const { indices, updates } = args.inputs as { indices: TensorInfo; updates: TensorInfo };
  const { shape } = args.attrs as { shape: number[] };
  const idx = args.backend.data.get(indices.dataId)?.values;
  const upd = args.backend.data.get(updates.dataId)?.values;
  const floatUpdates = updates.dtype === 'float32' && upd instanceof Float32Array;
  if (!(floatUpdates || (updates.dtype === 'int32' && upd instanceof Int32Array)) || indices.dtype !== 'int32' || !(idx instanceof Int32Array)) return cpuScatterNd(args) as TensorInfo;
  const { sliceRank, numUpdates, sliceSize, strides, outputSize } = tf.backend_util.calculateShapes(updates as tf.Tensor, indices as tf.Tensor, shape);
  const numRows = sliceSize > 0 ? outputSize / sliceSize : 0;
  if (outputSize === 0 || numUpdates === 0) return cpuScatterNd(args) as TensorInfo;
  const rowsAt = new Int32Array(numUpdates);
  for (let i = 0; i < numUpdates; i++) {
    let flat = 0;
    for (let j = 0; j < sliceRank; j++) flat += idx[i * sliceRank + j]! * strides[j]!;
    if (!(flat >= 0 && flat < numRows)) return cpuScatterNd(args) as TensorInfo;
    rowsAt[i] = flat;
  }
  const out = outputArray(args.backend, floatUpdates ? 'float32' : 'int32', outputSize, true);
  for (let i = 0; i < numUpdates; i++) {
    const o = rowsAt[i]! * sliceSize, u = i * sliceSize;
    for (let c = 0; c < sliceSize; c++) out[o + c]! += upd[u + c]!;
  }
  scatters++;
  return args.backend.makeTensorInfo(shape, updates.dtype, out);
}

export const scatterAddKernels: { name: string; fn: (args: KernelArgs) => TensorInfo }[] = [
  { name: 'UnsortedSegmentSum', fn: unsortedSegmentSum },
  { name: 'ScatterNd', fn: scatterNd },
];
