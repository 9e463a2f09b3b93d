// A pool of output buffers for the onnxruntime backend's kernels.
//
// Why: a kernel's output used to be a fresh typed array. A fresh large array is fresh memory from
// the OS (mmap'd zero pages), and its first write page-faults page by page: on this VM filling a
// fresh 6 MB array takes ~17 ms, a reused one ~0.2 ms. A PPO step writes GBs of kernel outputs, most
// of them the same sizes every step, so outputs now come from per-byte-length free lists, and a
// buffer goes back to its list when the backend really frees the tensor data that owns it.
//
// Safety: a buffer may be handed out again only when no one can still see it. Each buffer the
// pool made has a record; its state moves
//     issued --adopt(dataId)--> owned --release(same dataId)--> free --take--> issued ...
// and drops to `pinned` (never reused; the GC frees it when unreferenced) as soon as anything but
// its single owner might hold it:
//   - escape: its values were returned by readSync/read (dataSync, data, arraySync on the cpu
//     backend hand out the backend's own array, not a copy);
//   - a second data entry (or a view of part of it) is written with values in this buffer
//     (cpu kernels such as Slice or Complex wrap subarrays / the same array in a new dataId).
// Arrays the pool did not make (a user's tf.tensor(array), cpu kernels' own outputs) have no
// record and are never touched. Sharing one dataId between tensors (reshape, clone, variables) is
// the cpu backend's refcount: the owner releases only when that count reaches zero and the
// backend deletes the entry (OnnxBackend.disposeData).

type DataId = object;
type Pooled = Float32Array | Int32Array;

type BufferState =
  | { kind: 'issued' }
  | { kind: 'owned'; owner: DataId }
  | { kind: 'free' }
  | { kind: 'pinned' };

export interface BufferPoolStats {
  /** take() served from a free list (bytes counted in reusedBytes). */
  hits: number;
  /** take() had to allocate (bytes counted in freshBytes). */
  misses: number;
  reusedBytes: number;
  freshBytes: number;
  /** Buffers returned to a free list. */
  released: number;
  /** Buffers that became never-reusable (escaped or viewed by another data entry). */
  pinned: number;
  /** Released buffers dropped because the free lists were at their byte cap. */
  dropped: number;
  /** Bytes now waiting in the free lists. */
  freeBytes: number;
}

/** Buffers smaller than this are plain allocations: V8 serves them cheaply and pooling costs more than it saves. */
export const MIN_POOLED_BYTES = 16 * 1024;

/** Free-list byte cap from ORZ_POOL_MB (default 512; 0 turns pooling off). */
export function poolCapFromEnv(): number {
  const env = process.env['ORZ_POOL_MB'];
  if (env === undefined || env === '') return 512 * 2 ** 20;
  const mb = Number(env);
  if (!Number.isFinite(mb) || mb < 0) throw new Error(`onnx/buffer-pool: ORZ_POOL_MB must be a number >= 0, got "${env}"`);
  return Math.floor(mb * 2 ** 20);
}

function isWholeBuffer(values: ArrayBufferView): boolean {
  return values.byteOffset === 0 && values.byteLength === values.buffer.byteLength;
}

export class BufferPool {
  /** byteLength -> free buffers of exactly that length (LIFO: the most recently used is warmest in cache). */
  private readonly free = new Map<number, ArrayBuffer[]>();
  /** Insertion-ordered set of free buffers, oldest first, for eviction at the cap. */
  private readonly freeOrder = new Set<ArrayBuffer>();
  private readonly records = new WeakMap<ArrayBufferLike, BufferState>();
  private counters = { hits: 0, misses: 0, reusedBytes: 0, freshBytes: 0, released: 0, pinned: 0, dropped: 0 };
  private freeBytes = 0;

  /** @param capBytes most bytes kept in the free lists; 0 disables pooling (every take allocates). */
  constructor(private capBytes: number = poolCapFromEnv()) {}

  get enabled(): boolean {
    return this.capBytes > 0;
  }

  /** Changes the free-list cap (0: off; free buffers beyond the new cap are dropped). */
  setCap(capBytes: number): void {
    this.capBytes = capBytes;
    this.evictDownTo(capBytes);
  }

  float32(length: number, zero = false): Float32Array {
    const buf = this.take(length * 4, zero);
    return buf ? new Float32Array(buf) : new Float32Array(length);
  }

  int32(length: number, zero = false): Int32Array {
    const buf = this.take(length * 4, zero);
    return buf ? new Int32Array(buf) : new Int32Array(length);
  }

  /**
   * A buffer of exactly `byteLength` bytes, recorded as issued; null when the size is not pooled
   * (the caller allocates normally). A reused buffer holds old values: `zero` clears it, for
   * callers that do not overwrite every element.
   */
  private take(byteLength: number, zero: boolean): ArrayBuffer | null {
    if (!this.enabled || byteLength < MIN_POOLED_BYTES) return null;
    const list = this.free.get(byteLength);
    const reused = list?.pop();
    if (reused) {
      this.freeOrder.delete(reused);
      this.freeBytes -= byteLength;
      this.counters.hits++;
      this.counters.reusedBytes += byteLength;
      if (zero) new Uint8Array(reused).fill(0);
      this.records.set(reused, { kind: 'issued' });
      return reused;
    }
    const fresh = new ArrayBuffer(byteLength); // zero-filled by the allocator
    this.counters.misses++;
    this.counters.freshBytes += byteLength;
    this.records.set(fresh, { kind: 'issued' });
    return fresh;
  }

  /**
   * The backend stored `values` under `dataId` (write, makeTensorInfo, move). An issued buffer
   * stored whole becomes that entry's; any other sighting of a pooled buffer pins it.
   */
  adopt(values: unknown, dataId: DataId): void {
    if (!ArrayBuffer.isView(values)) return;
    const state = this.records.get(values.buffer);
    if (!state || state.kind === 'pinned') return;
    if (state.kind === 'issued' && isWholeBuffer(values)) this.records.set(values.buffer, { kind: 'owned', owner: dataId });
    else this.pin(values.buffer);
  }

  /** `values` left the backend (readSync/read hand out the stored array itself): never reuse it. */
  escape(values: unknown): void {
    if (!ArrayBuffer.isView(values)) return;
    const state = this.records.get(values.buffer);
    if (state && state.kind !== 'pinned') this.pin(values.buffer);
  }

  /** The backend deleted `dataId`'s entry, whose values were `values`: the owner's buffer goes back to its free list. */
  release(values: unknown, dataId: DataId): void {
    if (!ArrayBuffer.isView(values)) return;
    const buffer = values.buffer;
    const state = this.records.get(buffer);
    if (!state || state.kind !== 'owned' || state.owner !== dataId || !(buffer instanceof ArrayBuffer)) return;
    const bytes = buffer.byteLength;
    if (bytes > this.capBytes) {
      this.records.delete(buffer);
      this.counters.dropped++;
      return;
    }
    this.evictDownTo(this.capBytes - bytes);
    this.records.set(buffer, { kind: 'free' });
    let list = this.free.get(bytes);
    if (!list) this.free.set(bytes, (list = []));
    list.push(buffer);
    this.freeOrder.add(buffer);
    this.freeBytes += bytes;
    this.counters.released++;
  }

  /** How `values`' buffer stands with the pool (for tests): issued, owned, free, pinned, or foreign (not the pool's). */
  stateOf(values: ArrayBufferView): BufferState['kind'] | 'foreign' {
    return this.records.get(values.buffer)?.kind ?? 'foreign';
  }

  stats(): BufferPoolStats {
    return { ...this.counters, freeBytes: this.freeBytes };
  }

  resetStats(): void {
    this.counters = { hits: 0, misses: 0, reusedBytes: 0, freshBytes: 0, released: 0, pinned: 0, dropped: 0 };
  }

  /** Drops every free buffer (the GC reclaims them). */
  clear(): void {
    this.evictDownTo(0);
  }

  private pin(buffer: ArrayBufferLike): void {
    // a free buffer seen again (someone kept its array past its release) must leave the free list too
    if (this.records.get(buffer)?.kind === 'free') this.unlistFree(buffer as ArrayBuffer);
    this.records.set(buffer, { kind: 'pinned' });
    this.counters.pinned++;
  }

  private unlistFree(buffer: ArrayBuffer): void {
    this.freeOrder.delete(buffer);
    const list = this.free.get(buffer.byteLength)!;
    list.splice(list.indexOf(buffer), 1);
    if (list.length === 0) this.free.delete(buffer.byteLength);
    this.freeBytes -= buffer.byteLength;
  }

  /** Drops the oldest free buffers until at most `bytes` remain free. */
  private evictDownTo(bytes: number): void {
    for (const buffer of this.freeOrder) {
      if (this.freeBytes <= bytes) return;
      this.unlistFree(buffer);
      this.records.delete(buffer);
      this.counters.dropped++;
    }
  }
}

const pools = new WeakMap<object, BufferPool>();

/** Gives `backend` a pool (OnnxBackend's constructor); kernels find it with poolOf. */
export function attachPool(backend: object, pool: BufferPool): void {
  pools.set(backend, pool);
}

/** The pool of `backend`, or null when it has none (then kernels allocate plainly). */
export function poolOf(backend: object): BufferPool | null {
  return pools.get(backend) ?? null;
}
