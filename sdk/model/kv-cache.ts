// Keys and values of the tokens seen so far, so a decode step only computes the new token.
// One K and one V tensor per layer, laid out [kvHeads, B, len, headDim] (heads leading, as the
// attention computes them): appending along the time axis and selecting rows are block copies.

import { tf } from '../engine/tf.ts';

export class KVCache {
  private keys: (tf.Tensor4D | null)[];
  private values: (tf.Tensor4D | null)[];
  private len = 0;
  private rows: number;

  /** Made by TransformerLM.newCache(batch). */
  constructor(readonly numLayers: number, readonly kvHeads: number, readonly headDim: number, batch: number) {
    if (!Number.isInteger(batch) || batch < 1) throw new Error(`KVCache: batch must be a positive integer, got ${batch}`);
    this.rows = batch;
    this.keys = Array(numLayers).fill(null);
    this.values = Array(numLayers).fill(null);
  }

  /** Cached time steps. */
  get length(): number {
    return this.len;
  }

  /** Rows (sequences) in the cache. */
  get batch(): number {
    return this.rows;
  }

  /**
   * Appends one layer's new keys/values [kvHeads, B, T, headDim] and returns that layer's whole
   * K and V [kvHeads, B, len + T, headDim]. The stored tensors are kept out of any enclosing
   * tf.tidy. Internal to the model, which calls advance(T) once every layer has appended.
   */
  append(layer: number, k: tf.Tensor4D, v: tf.Tensor4D): { keys: tf.Tensor4D; values: tf.Tensor4D } {
    const grow = (old: tf.Tensor4D | null, add: tf.Tensor4D) => {
      const next = tf.keep(old ? (tf.concat([old, add], 2) as tf.Tensor4D) : add.clone());
      old?.dispose();
      return next;
    };
    this.keys[layer] = grow(this.keys[layer]!, k);
    this.values[layer] = grow(this.values[layer]!, v);
    return { keys: this.keys[layer]!, values: this.values[layer]! };
  }

  /** Records that every layer has appended `steps` new time steps. */
  advance(steps: number): void {
    this.len += steps;
  }

  /**
   * Keeps only these batch rows, in this order (e.g. drop finished sequences); disposes the old
   * tensors. Runs of consecutive rows are copied as blocks (tf.gather walks element by element on cpu).
   */
  select(rows: number[]): void {
    if (rows.length === 0) throw new Error('KVCache.select: rows is empty (dispose the cache instead)');
    rows.forEach((r, i) => {
      if (!Number.isInteger(r) || r < 0 || r >= this.rows) {
        throw new Error(`KVCache.select: rows[${i}] = ${r} is not a row of this cache (batch ${this.rows})`);
      }
    });
    const B = this.rows;
    const runs: [number, number][] = []; // [start, count] over the flattened (kvHead, row) axis
    for (let j = 0; j < this.kvHeads; j++) {
      for (const r of rows) {
        const flat = j * B + r;
        const last = runs[runs.length - 1];
        if (last && last[0] + last[1] === flat) last[1]++;
        else runs.push([flat, 1]);
      }
    }
    const pick = (t: tf.Tensor4D | null): tf.Tensor4D | null => {
      if (!t || (runs.length === 1 && runs[0]![1] === this.kvHeads * B)) return t;
      const [, , len, d] = t.shape;
      const out = tf.keep(tf.tidy(() => {
        const flat = t.reshape([this.kvHeads * B, len, d]);
        const parts = runs.map(([start, n]) => tf.slice(flat, [start, 0, 0], [n, -1, -1]));
        return (parts.length === 1 ? parts[0]!.clone() : tf.concat(parts, 0)).reshape([this.kvHeads, rows.length, len, d]) as tf.Tensor4D;
      }));
      t.dispose();
      return out;
    };
    this.keys = this.keys.map(pick);
    this.values = this.values.map(pick);
    this.rows = rows.length;
  }

  dispose(): void {
    tf.dispose([...this.keys, ...this.values].filter((t): t is tf.Tensor4D => t !== null));
    this.keys.fill(null);
    this.values.fill(null);
    this.len = 0;
  }
}
