// The decoder layers' weights as the forward reads them (LayerWeights), taken from the model's
// variables under their Hugging Face names by the family table (family.ts). GPT-NeoX's fused
// query_key_value [heads * 3 * d, H] is split into q, k, v here, inside the forward, so the
// gradient flows back into the one stored variable and checkpoints keep HF's layout. Without a
// gradient tape (sampling, evaluation) the split is kept between forwards until the variable is
// assigned new values (tfjs gives it a new dataId then): the split costs about 4 ms per layer on
// onnxruntime, more than a whole decode step of pythia-14m's layer.

import { tf } from '../engine/tf.ts';
import type { AttentionWeights } from './attention.ts';
import type { ResolvedModelConfig } from './config.ts';
import { hasLayerTensor, layerWeightName, type Architecture, type LayerSlot } from './family.ts';

export interface LayerWeights {
  inputNorm: tf.Tensor1D;
  inputNormBias?: tf.Tensor1D; // LayerNorm only
  attn: AttentionWeights;
  postNorm: tf.Tensor1D;
  postNormBias?: tf.Tensor1D;
  gate?: tf.Tensor2D;
  up: tf.Tensor2D;
  upBias?: tf.Tensor1D;
  down: tf.Tensor2D;
  downBias?: tf.Tensor1D;
}

/**
 * q, k, v rows of a per-head interleaved [heads, 3, d, ...] tensor (weight [heads*3*d, H] or bias
 * [heads*3*d]), each as [heads*d, ...].
 */
function splitInterleaved(t: tf.Tensor, heads: number, d: number): [tf.Tensor, tf.Tensor, tf.Tensor] {
  const inner = t.rank === 2 ? t.shape[1]! : 1;
  const parts = tf.split(t.reshape([heads, 3, d * inner]), 3, 1);
  const shape = t.rank === 2 ? [heads * d, inner] : [heads * d];
  return parts.map((p) => p.reshape(shape)) as [tf.Tensor, tf.Tensor, tf.Tensor];
}

function isTapeOn(): boolean {
  return (tf.engine() as unknown as { isTapeOn(): boolean }).isTapeOn();
}

/** Splits of interleaved weights kept across gradient-free forwards, keyed by variable name. */
export class SplitCache {
  private readonly entries = new Map<string, { dataId: object; parts: tf.Tensor[] }>();

  /** `split(v)`, reused while v holds the same data and no gradient is being recorded. */
  get(name: string, v: tf.Variable, split: (t: tf.Tensor) => tf.Tensor[]): tf.Tensor[] {
    if (isTapeOn()) return split(v);
    const dataId = (v as unknown as { dataId: object }).dataId;
    const hit = this.entries.get(name);
    if (hit && hit.dataId === dataId) return hit.parts;
    if (hit) tf.dispose(hit.parts);
    const parts = split(v).map((p) => tf.keep(p));
    this.entries.set(name, { dataId, parts });
    return parts;
  }

  dispose(): void {
    for (const e of this.entries.values()) tf.dispose(e.parts);
    this.entries.clear();
  }
}

/** Every layer's weights for one forward pass (call inside the forward's tidy). */
export function layerWeights(c: ResolvedModelConfig, a: Architecture, weights: Map<string, tf.Variable>, splits: SplitCache): LayerWeights[] {
  return Array.from({ length: c.num_hidden_layers }, (_, i) => {
    const get = (slot: LayerSlot, part: 'weight' | 'bias'): tf.Tensor | undefined =>
      (hasLayerTensor(a, slot, part) ? weights.get(layerWeightName(a.family, i, slot, part)) : undefined);
    const w2 = (slot: LayerSlot) => get(slot, 'weight') as tf.Tensor2D;
    const b1 = (slot: LayerSlot) => get(slot, 'bias') as tf.Tensor1D | undefined;

    let attn: AttentionWeights;
    if (a.family.qkv === 'per-head-interleaved') {
      const thirds = (part: 'weight' | 'bias') => {
        const name = layerWeightName(a.family, i, 'qkv', part);
        return splits.get(name, weights.get(name)!, (t) => splitInterleaved(t, c.num_attention_heads, c.head_dim));
      };
      const [q, k, v] = thirds('weight') as tf.Tensor2D[];
      attn = { q: q!, k: k!, v: v!, o: w2('o') };
      if (hasLayerTensor(a, 'qkv', 'bias')) [attn.qBias, attn.kBias, attn.vBias] = thirds('bias') as tf.Tensor1D[];
    } else {
      attn = { q: w2('q'), k: w2('k'), v: w2('v'), o: w2('o') };
      const [qb, kb, vb] = [b1('q'), b1('k'), b1('v')];
      if (qb) attn.qBias = qb;
      if (kb) attn.kBias = kb;
      if (vb) attn.vBias = vb;
    }
    const ob = b1('o');
    if (ob) attn.oBias = ob;

    const layer: LayerWeights = { inputNorm: get('inputNorm', 'weight') as tf.Tensor1D, attn, postNorm: get('postNorm', 'weight') as tf.Tensor1D, up: w2('up'), down: w2('down') };
    const optional: [keyof LayerWeights, tf.Tensor | undefined][] = [
      ['inputNormBias', b1('inputNorm')], ['postNormBias', b1('postNorm')], ['gate', get('gate', 'weight')],
      ['upBias', b1('up')], ['downBias', b1('down')],
    ];
    for (const [key, t] of optional) if (t) (layer as unknown as Record<string, tf.Tensor>)[key] = t;
    return layer;
  });
}
