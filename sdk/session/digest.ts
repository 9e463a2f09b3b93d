// A checksum of a set of weights: sha256 over (name, shape, float32 bytes) in name order. Two clients, or a
// session before and after a resume, hold the same weights exactly when their digests match.

import { createHash } from 'node:crypto';
import type { tf } from '../engine/tf.ts';

export function weightsDigest(weights: Map<string, tf.Variable> | Map<string, tf.Tensor>): string {
  return hostWeightsDigest([...weights].map(([name, t]) => ({ name, shape: t.shape, dtype: t.dtype, data: () => t.dataSync() as Float32Array })));
}

/** The same digest of weights held as host arrays (a broadcast before it is assigned); `data` is read in name order. */
export function hostWeightsDigest(weights: { name: string; shape: readonly number[]; dtype: string; data: () => Float32Array }[]): string {
  const h = createHash('sha256');
  for (const w of [...weights].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    h.update(`${w.name}:${w.shape.join('x')}:${w.dtype};`);
    const data = w.data();
    h.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return h.digest('hex');
}
