// Slice, PadV2 (Slice's gradient) and StridedSlice with unit strides as plain JS block copies.
// All three move an axis-aligned box of elements between two row-major arrays; the cpu backend
// does that element by element through index arithmetic (2.5 s of a 10.7 s PPO step for the
// response-position slice), while here each contiguous run of the box is one typed-array
// `set(subarray)`. No ORT session: a copy gains nothing from native code beyond what `set` does.

import { tf } from '../tf.ts';
import { cpuKernel, sizeOf, type KernelArgs, type TensorInfo } from './kernel-util.ts';

type Numeric = Float32Array | Int32Array | Uint8Array;

/** Below this run length a scalar loop beats creating a subarray per run. */
const MIN_SET_RUN = 16;

let copies = 0;
/** How many times a block-copy kernel (rather than the cpu fallback) produced an output; for tests. */
export function blockCopyCount(): number {
  return copies;
}

/** Row-major strides of `shape` (elements). */
function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]!; }
  return s;
}

/**
 * Copies the box of extent `size` at `srcBegin` in `src` (shape `srcShape`) to `dstBegin` in `dst`
 * (shape `dstShape`). Trailing axes that the box covers whole in both arrays join the innermost
 * axis into one contiguous run, so the copy is one `set` per run.
 */
export function copyBox(
  src: Numeric, srcShape: readonly number[], srcBegin: readonly number[],
  dst: Numeric, dstShape: readonly number[], dstBegin: readonly number[], size: readonly number[],
): void {
  const rank = size.length;
  if (sizeOf(size) === 0) return;
  if (rank === 0) { dst[0] = src[0]!; return; }
  // axes k..rank-1 form one run: every axis after k is covered whole in src and dst
  let k = rank - 1;
  while (k > 0 && size[k] === srcShape[k] && size[k] === dstShape[k]) k--;
  const srcStrides = stridesOf(srcShape), dstStrides = stridesOf(dstShape);
  const run = size[k]! * srcStrides[k]!; // = prod(size[k..]) since axes after k are whole
  let srcOff = 0, dstOff = 0;
  for (let i = 0; i < rank; i++) { srcOff += srcBegin[i]! * srcStrides[i]!; dstOff += dstBegin[i]! * dstStrides[i]!; }
  // odometer over the outer axes 0..k-1
  const idx = new Array<number>(k).fill(0);
  for (;;) {
    if (run >= MIN_SET_RUN) dst.set(src.subarray(srcOff, srcOff + run), dstOff);
    else for (let j = 0; j < run; j++) dst[dstOff + j] = src[srcOff + j]!;
    let a = k - 1;
    while (a >= 0) {
      idx[a]!++;
      srcOff += srcStrides[a]!; dstOff += dstStrides[a]!;
      if (idx[a]! < size[a]!) break;
      srcOff -= size[a]! * srcStrides[a]!; dstOff -= size[a]! * dstStrides[a]!;
      idx[a] = 0;
      a--;
    }
    if (a < 0) return;
  }
}

/** The typed array behind `t` if it is a plain numeric dtype we copy (else null: use the cpu kernel). */
function numericValues(backend: KernelArgs['backend'], t: TensorInfo): Numeric | null {
  if (t.dtype !== 'float32' && t.dtype !== 'int32' && t.dtype !== 'bool') return null;
  const v = backend.data.get(t.dataId)?.values;
  return v instanceof Float32Array || v instanceof Int32Array || v instanceof Uint8Array ? v : null;
}

function newArray(dtype: tf.DataType, n: number): Numeric {
  return tf.util.getTypedArrayFromDType(dtype as 'float32' | 'int32' | 'bool', n) as Numeric;
}

const cpuSlice = cpuKernel('Slice');

/** Copies `size` elements at `begin` of x (already parsed and validated) into a new tensor. */
function sliceBox(backend: KernelArgs['backend'], x: TensorInfo, xv: Numeric, begin: number[], size: number[]): TensorInfo {
  const out = newArray(x.dtype, sizeOf(size));
  copyBox(xv, x.shape, begin, out, size, new Array<number>(size.length).fill(0), size);
  copies++;
  return backend.makeTensorInfo(size, x.dtype, out);
}

function slice(args: KernelArgs): TensorInfo {
  const { x } = args.inputs as { x: TensorInfo };
  const { begin, size } = args.attrs as { begin: number | number[]; size?: number | number[] };
  const xv = numericValues(args.backend, x);
  if (!xv) return cpuSlice(args) as TensorInfo;
  const [b, s] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
  tf.slice_util.assertParamsValid(x as tf.Tensor, b, s);
  // a contiguous slice is a zero-copy subarray in the cpu kernel already
  if (tf.slice_util.isSliceContinous(x.shape, b, s)) return cpuSlice(args) as TensorInfo;
  return sliceBox(args.backend, x, xv, b, s);
}

const cpuPad = cpuKernel('PadV2');

function padV2(args: KernelArgs): TensorInfo {
  const { x } = args.inputs as { x: TensorInfo };
  const { paddings, constantValue } = args.attrs as { paddings: [number, number][]; constantValue: number };
  const xv = numericValues(args.backend, x);
  if (!xv || paddings.length !== x.shape.length) return cpuPad(args) as TensorInfo;
  const outShape = paddings.map((p, i) => p[0] + x.shape[i]! + p[1]);
  // negative paddings (a crop) are outside Pad's contract; the cpu kernel gives tfjs's behaviour
  if (paddings.some((p) => p[0] < 0 || p[1] < 0)) return cpuPad(args) as TensorInfo;
  const out = newArray(x.dtype, sizeOf(outShape));
  if (constantValue !== 0) out.fill(constantValue);
  copyBox(xv, x.shape, new Array<number>(x.shape.length).fill(0), out, outShape, paddings.map((p) => p[0]), x.shape);
  copies++;
  return args.backend.makeTensorInfo(outShape, x.dtype, out);
}

const cpuStridedSlice = cpuKernel('StridedSlice');

function stridedSlice(args: KernelArgs): TensorInfo {
  const { x } = args.inputs as { x: TensorInfo };
  const a = args.attrs as {
    begin: number[]; end: number[]; strides: number[];
    beginMask: number; endMask: number; ellipsisMask: number; newAxisMask: number; shrinkAxisMask: number;
  };
  const xv = numericValues(args.backend, x);
  if (!xv || x.shape.length === 0) return cpuStridedSlice(args) as TensorInfo;
  const info = tf.slice_util.sliceInfo(x.shape, a.begin, a.end, a.strides, a.beginMask, a.endMask, a.ellipsisMask, a.newAxisMask, a.shrinkAxisMask);
  // the identity is a reshape and other strides take the cpu kernel's strided loop; unit strides
  // (isSimpleSlice) go through the cpu Slice implementation, element by element unless contiguous
  if (info.isIdentity || !info.isSimpleSlice) return cpuStridedSlice(args) as TensorInfo;
  const size = info.begin.map((b, i) => info.end[i]! - b);
  // end < begin: the cpu kernel's error (tfjs's Slice rejects the negative size)
  if (size.length !== x.shape.length || size.some((d) => d < 0) || tf.slice_util.isSliceContinous(x.shape, info.begin, size)) return cpuStridedSlice(args) as TensorInfo;
  const out = sliceBox(args.backend, x, xv, info.begin, size);
  // same elements, the final shape only drops shrunk axes and adds new ones
  return { ...out, shape: info.finalShape };
}

export const copyKernels: { name: string; fn: (args: KernelArgs) => TensorInfo }[] = [
  { name: 'Slice', fn: slice },
  { name: 'PadV2', fn: padV2 },
  { name: 'StridedSlice', fn: stridedSlice },
];
