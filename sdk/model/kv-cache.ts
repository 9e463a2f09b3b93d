// Keys and values of the tokens seen so far, so a decode step only computes the new token.
//
// Storage: per layer one K and one V buffer [B, kvHeads, capacity, headDim] (plain Float32Arrays),
// preallocated to a capacity and written in place, so a decode step copies only the new token's
// keys/values (not the whole cache, as concatenating would). The fused layer kernel reads a layer's
// whole buffers (views, no copy) and masks the slots not yet written; the composite path
// (sdk/model/attention.ts) gets the filled part as [kvHeads, B, len, headDim] tensors (a copy).
// Without a capacity the buffers grow on demand (doubling), which is correct but copies on growth.

import { tf } from '../engine/tf.ts';

/** Capacities are rounded up to a multiple of this, so small growths do not reallocate each step. */
const CAPACITY_QUANTUM = 16;

export class KVCache {
  private keys: Float32Array[] = [];
  private values: Float32Array[] = [];
  private cap = 0;
  private len = 0;
  private rows: number;

  /** Made by TransformerLM.newCache(batch, capacity?). */
  constructor(readonly numLayers: number, readonly kvHeads: number, readonly headDim: number, batch: number, capacity = 0) {
    if (!Number.isInteger(batch) || batch < 1) throw new Error(`KVCache: batch must be a positive integer, got ${batch}`);
    if (!Number.isInteger(capacity) || capacity < 0) throw new Error(`KVCache: capacity must be a non-negative integer, got ${capacity}`);
    this.rows = batch;
    if (capacity > 0) this.allocate(capacity);
  }

  /** Cached time steps. */
  get length(): number {
    return this.len;
  }

  /** Rows (sequences) in the cache. */
  get batch(): number {
    return this.rows;
  }

  /** Time steps the buffers hold before they must grow. */
  get capacity(): number {
    return this.cap;
  }

  /** Ensures room for `steps` more time steps (grows the buffers, copying, when needed). */
  reserve(steps: number): void {
    const need = this.len + steps;
    if (need <= this.cap) return;
    const grown = Math.max(need, 2 * this.cap);
    this.allocate(Math.ceil(grown / CAPACITY_QUANTUM) * CAPACITY_QUANTUM);
  }

  private allocate(capacity: number): void {
    const d = this.headDim, blocks = this.rows * this.kvHeads, keep = this.len * d;
    const move = (old: Float32Array | undefined): Float32Array => {
      const next = new Float32Array(blocks * capacity * d);
      if (old) for (let i = 0; i < blocks; i++) next.set(old.subarray(i * this.cap * d, i * this.cap * d + keep), i * capacity * d);
      return next;
    };
    this.keys = Array.from({ length: this.numLayers }, (_, l) => move(this.keys[l]));
    this.values = Array.from({ length: this.numLayers }, (_, l) => move(this.values[l]));
    this.cap = capacity;
  }

  /**
   * Writes one layer's new keys/values, [B, kvHeads, T, headDim] row-major, at time slots
   * len..len+T-1 (reserve(T) first). Internal to the model, which calls advance(T) after every layer.
   */
  write(layer: number, k: Float32Array, v: Float32Array, T: number): void {
    if (this.len + T > this.cap) throw new Error(`KVCache.write: ${T} steps do not fit (length ${this.len}, capacity ${this.cap}); reserve first`);
    const d = this.headDim, blocks = this.rows * this.kvHeads, block = T * d;
    const K = this.keys[layer]!, V = this.values[layer]!;
    for (let i = 0; i < blocks; i++) {
      const to = (i * this.cap + this.len) * d;
      K.set(k.subarray(i * block, (i + 1) * block), to);
      V.set(v.subarray(i * block, (i + 1) * block), to);
    }
  }

  /**
   * The layer's whole buffers as tensors [B, kvHeads, capacity, headDim] that share the cache's
   * storage (no copy). Slots at and after `length` hold stale or zero values: mask them. Dispose
   * the tensors before the cache is written, grown or selected again.
   */
  view(layer: number): { keys: tf.Tensor4D; values: tf.Tensor4D } {
    const shape: [number, number, number, number] = [this.rows, this.kvHeads, this.cap, this.headDim];
    return { keys: tf.tensor4d(this.keys[layer]!, shape), values: tf.tensor4d(this.values[layer]!, shape) };
  }

  /**
   * The composite attention's path: stores one layer's new keys/values [kvHeads, B, T, headDim]
   * and returns that layer's K and V [kvHeads, B, len + T, headDim] (new tensors).
   */
  append(layer: number, k: tf.Tensor4D, v: tf.Tensor4D): { keys: tf.Tensor4D; values: tf.Tensor4D } {
    const T = k.shape[2];
    this.reserve(T);
    const B = this.rows, n = this.kvHeads, d = this.headDim, S = this.len + T;
    const toRowMajor = (t: tf.Tensor4D): Float32Array => { // [n, B, T, d] -> [B, n, T, d]
      const src = t.dataSync() as Float32Array, out = new Float32Array(src.length);
      for (let j = 0; j < n; j++) for (let b = 0; b < B; b++) out.set(src.subarray((j * B + b) * T * d, (j * B + b + 1) * T * d), (b * n + j) * T * d);
      return out;
    };
    this.write(layer, toRowMajor(k), toRowMajor(v), T);
    const read = (buf: Float32Array): tf.Tensor4D => {
      const out = new Float32Array(n * B * S * d);
      for (let j = 0; j < n; j++) {
        for (let b = 0; b < B; b++) {
          const from = (b * n + j) * this.cap * d;
          out.set(buf.subarray(from, from + S * d), (j * B + b) * S * d);
        }
      }
      return tf.tensor4d(out, [n, B, S, d]);
    };
    return { keys: read(this.keys[layer]!), values: read(this.values[layer]!) };
  }

  /** Records that every layer has written `steps` new time steps. */
  advance(steps: number): void {
    this.len += steps;
  }

  /** Keeps only these batch rows, in this order (e.g. drop finished sequences): row blocks are copied. */
  select(rows: number[]): void {
    if (rows.length === 0) throw new Error('KVCache.select: rows is empty (dispose the cache instead)');
    rows.forEach((r, i) => {
      if (!Number.isInteger(r) || r < 0 || r >= this.rows) {
        throw new Error(`KVCache.select: rows[${i}] = ${r} is not a row of this cache (batch ${this.rows})`);
      }
    });
    if (rows.length === this.rows && rows.every((r, i) => r === i)) return;
    const rowSize = this.kvHeads * this.cap * this.headDim;
    const pick = (buf: Float32Array): Float32Array => {
      const out = new Float32Array(rows.length * rowSize);
      rows.forEach((r, i) => out.set(buf.subarray(r * rowSize, (r + 1) * rowSize), i * rowSize));
      return out;
    };
    this.keys = this.keys.map(pick);
    this.values = this.values.map(pick);
    this.rows = rows.length;
  }

  /**
   * Moves every row's time steps by `delta` slots (continuous batching keeps sequences that started at
   * different steps on one time axis): delta > 0 adds empty slots at the front, delta < 0 drops the
   * first -delta slots (ones no row attends to any more). Copies the cache.
   */
  shiftTime(delta: number): void {
    if (!Number.isInteger(delta) || -delta > this.len) throw new Error(`KVCache.shiftTime: cannot shift ${this.len} steps by ${delta}`);
    if (delta === 0) return;
    const d = this.headDim, blocks = this.rows * this.kvHeads, len = this.len + delta;
    const cap = Math.max(CAPACITY_QUANTUM, Math.ceil(Math.max(len, this.cap + Math.max(delta, 0)) / CAPACITY_QUANTUM) * CAPACITY_QUANTUM);
    const from = Math.max(-delta, 0), to = Math.max(delta, 0), kept = this.len - from;
    const move = (old: Float32Array): Float32Array => {
      const next = new Float32Array(blocks * cap * d);
      for (let i = 0; i < blocks; i++) next.set(old.subarray((i * this.cap + from) * d, (i * this.cap + from + kept) * d), (i * cap + to) * d);
      return next;
    };
    this.keys = this.keys.map(move);
    this.values = this.values.map(move);
    this.cap = cap;
    this.len = len;
  }

  /**
   * Copies row `srcRow` of `src` (all its time steps) into row `dstRow` here, ending at this cache's
   * last time step: a sequence prefilled apart joins a running batch. Same layers and heads.
   */
  copyRowFrom(src: KVCache, srcRow: number, dstRow: number): void {
    if (src.len > this.len) throw new Error(`KVCache.copyRowFrom: ${src.len} steps do not fit in ${this.len} (shiftTime first)`);
    if (src.numLayers !== this.numLayers || src.kvHeads !== this.kvHeads || src.headDim !== this.headDim) throw new Error('KVCache.copyRowFrom: caches of different shapes');
    const d = this.headDim, n = src.len * d, at = this.len - src.len;
    for (let l = 0; l < this.numLayers; l++) {
      for (let j = 0; j < this.kvHeads; j++) {
        const s = (srcRow * this.kvHeads + j) * src.cap * d, t = ((dstRow * this.kvHeads + j) * this.cap + at) * d;
        this.keys[l]!.set(src.keys[l]!.subarray(s, s + n), t);
        this.values[l]!.set(src.values[l]!.subarray(s, s + n), t);
      }
    }
  }

  dispose(): void {
    this.keys = [];
    this.values = [];
    this.cap = 0;
    this.len = 0;
  }
}
