// The Hugging Face weight names and shapes of a decoder (from its family table, family.ts), and
// the random initialisation. Linear weights are [out, in] as in torch.nn.Linear.

import { Rng } from '../engine/rng.ts';
import type { ResolvedModelConfig } from './config.ts';
import { architectureOf, hasLayerTensor, layerWeightName, type LayerSlot } from './family.ts';

export interface WeightSpec { name: string; shape: number[]; init: 'normal' | 'residual' | 'ones' | 'zeros' }

/** [out, in] of each linear slot and its init; norms are [H]. */
function slotShape(c: ResolvedModelConfig, slot: LayerSlot): { shape: number[]; init: WeightSpec['init'] } {
  const H = c.hidden_size, F = c.intermediate_size;
  const qDim = c.num_attention_heads * c.head_dim, kvDim = c.num_key_value_heads * c.head_dim;
  switch (slot) {
    case 'inputNorm': case 'postNorm': return { shape: [H], init: 'ones' };
    case 'q': return { shape: [qDim, H], init: 'normal' };
    case 'k': case 'v': return { shape: [kvDim, H], init: 'normal' };
    case 'qkv': return { shape: [qDim + 2 * kvDim, H], init: 'normal' };
    case 'o': return { shape: [H, qDim], init: 'residual' }; // writes into the residual stream
    case 'gate': case 'up': return { shape: [F, H], init: 'normal' };
    case 'down': return { shape: [H, F], init: 'residual' };
  }
}

/** Every weight the model has, in checkpoint order. */
export function weightSpecs(c: ResolvedModelConfig): WeightSpec[] {
  const a = architectureOf(c), f = a.family, H = c.hidden_size;
  const specs: WeightSpec[] = [{ name: f.embed, shape: [c.vocab_size, H], init: 'normal' }];
  for (let i = 0; i < c.num_hidden_layers; i++) {
    for (const [slot, part] of f.order) {
      if (!hasLayerTensor(a, slot, part)) continue;
      const { shape, init } = slotShape(c, slot);
      const name = layerWeightName(f, i, slot, part);
      specs.push(part === 'weight' ? { name, shape, init } : { name, shape: [shape[0]!], init: 'zeros' });
    }
  }
  specs.push({ name: `${f.finalNorm}.weight`, shape: [H], init: 'ones' });
  if (a.norm === 'layer') specs.push({ name: `${f.finalNorm}.bias`, shape: [H], init: 'zeros' });
  if (!c.tie_word_embeddings) specs.push({ name: f.head, shape: [c.vocab_size, H], init: 'normal' });
  return specs;
}

/** Names a checkpoint may carry that the model does not need (recomputed buffers, a tied head). */
export function isIgnorableWeight(name: string, c: ResolvedModelConfig): boolean {
  const f = architectureOf(c).family;
  if (name.endsWith('.rotary_emb.inv_freq')) return true;
  // GPT-NeoX checkpoints written by older transformers carry the causal-mask buffers
  if (/\.attention\.(bias|masked_bias)$/.test(name) && name.startsWith(f.layerPrefix)) return true;
  return c.tie_word_embeddings && name === f.head;
}

const INIT_STD = 0.02;

/**
 * GPT-2 style init: N(0, 0.02) everywhere, the projections that write into the residual stream
 * (o_proj, down_proj) scaled by 1/sqrt(2L) so the stream's variance does not grow with depth;
 * norms 1, biases 0. Drawn from the project's seeded RNG, so it is the same on every backend.
 */
export function initialValues(c: ResolvedModelConfig, seed: number): Map<string, { shape: number[]; data: Float32Array }> {
  const rng = new Rng(seed);
  const residualStd = INIT_STD / Math.sqrt(2 * c.num_hidden_layers);
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const spec of weightSpecs(c)) {
    const data = new Float32Array(spec.shape.reduce((a, b) => a * b, 1));
    if (spec.init === 'ones') data.fill(1);
    else if (spec.init === 'normal' || spec.init === 'residual') {
      fillNormal(data, spec.init === 'normal' ? INIT_STD : residualStd, rng);
    }
    out.set(spec.name, { shape: spec.shape, data });
  }
  return out;
}

/** Box-Muller: two standard normals from two uniforms. */
function fillNormal(out: Float32Array, std: number, rng: Rng): void {
  for (let i = 0; i < out.length; i += 2) {
    const u1 = 1 - rng.next(); // (0, 1], so log is finite
    const u2 = rng.next();
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = std * r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < out.length) out[i + 1] = std * r * Math.sin(2 * Math.PI * u2);
  }
}
