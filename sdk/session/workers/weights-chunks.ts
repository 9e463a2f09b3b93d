// Weights on their way to the workers, in chunks: a broadcast of one version is cut into messages of at most
// `chunkBytes` (whole tensors grouped together, a tensor bigger than a chunk cut along its flat data), so that no
// message approaches the socket's size limit and a big model streams instead of being copied whole into one
// message. The last chunk carries the sha256 of the whole set (digest.ts); the worker assembles the chunks,
// checks the digest on what it received, and only then assigns the weights: a corrupt or partial broadcast
// changes nothing.

import { HostTensor } from '../codec.ts';
import { hostWeightsDigest } from '../digest.ts';

/** One piece of a weight: `data` holds its flat values from `offset` on. */
export interface WeightPart { name: string; shape: number[]; offset: number }

export interface WeightsChunk { chunk: number; chunks: number; parts: WeightPart[]; tensors: HostTensor[]; digest?: string }

type F32 = Float32Array<ArrayBuffer>;

export const DEFAULT_CHUNK_BYTES = 32 * 1024 * 1024;

/** The chunks of a snapshot (names in order, float32 tensors), the digest on the last one. */
export function chunkWeights(names: string[], tensors: HostTensor[], chunkBytes: number): WeightsChunk[] {
  const perChunk = Math.max(1, Math.floor(chunkBytes / 4));
  const out: { parts: WeightPart[]; tensors: HostTensor[]; values: number }[] = [{ parts: [], tensors: [], values: 0 }];
  const place = (name: string, shape: number[], offset: number, values: F32) => {
    let cur = out.at(-1)!;
    if (cur.values > 0 && cur.values + values.length > perChunk) out.push((cur = { parts: [], tensors: [], values: 0 }));
    cur.parts.push({ name, shape, offset });
    cur.tensors.push(new HostTensor(values, [values.length], 'float32'));
    cur.values += values.length;
  };
  names.forEach((name, i) => {
    const t = tensors[i]!;
    const data = t.data as F32;
    if (data.length === 0) place(name, t.shape, 0, data);
    for (let offset = 0; offset < data.length; offset += perChunk) place(name, t.shape, offset, data.subarray(offset, offset + perChunk));
  });
  const digest = hostWeightsDigest(names.map((name, i) => ({ name, shape: tensors[i]!.shape, dtype: 'float32', data: () => tensors[i]!.data as Float32Array })));
  return out.map((c, i) => ({ chunk: i, chunks: out.length, parts: c.parts, tensors: c.tensors, ...(i === out.length - 1 ? { digest } : {}) }));
}

/** A worker's side: collects the chunks of one version; complete() gives the whole tensors once all arrived. */
export class ChunkAssembly {
  readonly #weights = new Map<string, { shape: number[]; data: F32; filled: number }>();
  #received = new Set<number>();
  #digest: string | undefined;

  constructor(readonly version: number, readonly chunks: number) {}

  add(c: WeightsChunk, where: string): void {
    if (c.chunks !== this.chunks || c.chunk >= this.chunks) throw new Error(`${where}: chunk ${c.chunk} of ${c.chunks}, the broadcast has ${this.chunks}`);
    if (this.#received.has(c.chunk)) throw new Error(`${where}: chunk ${c.chunk} arrived twice`);
    if (c.parts.length !== c.tensors.length) throw new Error(`${where}: ${c.parts.length} parts for ${c.tensors.length} tensors`);
    c.parts.forEach((p, i) => {
      const size = p.shape.reduce((a, b) => a * b, 1);
      let w = this.#weights.get(p.name);
      if (!w) this.#weights.set(p.name, (w = { shape: p.shape, data: new Float32Array(size), filled: 0 }));
      const part = c.tensors[i]!.data as Float32Array;
      if (w.shape.join() !== p.shape.join()) throw new Error(`${where}: ${p.name} arrives with shapes [${w.shape}] and [${p.shape}]`);
      if (!(Number.isInteger(p.offset) && p.offset >= 0 && p.offset + part.length <= size)) throw new Error(`${where}: ${p.name} part at ${p.offset} (+${part.length}) is outside its ${size} values`);
      w.data.set(part, p.offset);
      w.filled += part.length;
    });
    this.#received.add(c.chunk);
    if (c.digest !== undefined) this.#digest = c.digest;
  }

  get done(): boolean {
    return this.#received.size === this.chunks;
  }

  /** The assembled weights, after checking that every value arrived and that the digest matches. */
  complete(where: string): { names: string[]; tensors: HostTensor[] } {
    const names = [...this.#weights.keys()].sort();
    for (const n of names) {
      const w = this.#weights.get(n)!;
      if (w.filled !== w.data.length) throw new Error(`${where}: ${n} received ${w.filled} of ${w.data.length} values`);
    }
    const digest = hostWeightsDigest(names.map((name) => ({ name, shape: this.#weights.get(name)!.shape, dtype: 'float32', data: () => this.#weights.get(name)!.data })));
    if (digest !== this.#digest) throw Object.assign(new Error(`${where}: the weights received have digest ${digest.slice(0, 12)}, the session sent ${String(this.#digest).slice(0, 12)}: nothing assigned`), { code: 'digest_mismatch' });
    return { names, tensors: names.map((n) => new HostTensor(this.#weights.get(n)!.data, this.#weights.get(n)!.shape, 'float32')) };
  }
}
