// A checksum of a set of weights: sha256 over (name, shape, float32 bytes) in name order. Two clients, or a
// session before and after a resume, hold the same weights exactly when their digests match.

import { createHash } from 'node:crypto';
import type { tf } from '../engine/tf.ts';

export function weightsDigest(weights: Map<string, tf.Variable> | Map<string, tf.Tensor>): string {
  const h = createHash('sha256');
  for (const name of [...weights.keys()].sort()) {
    const t = weights.get(name)!;
    h.update(`${name}:${t.shape.join('x')}:${t.dtype};`);
    const data = t.dataSync() as Float32Array;
    h.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return h.digest('hex');
}
