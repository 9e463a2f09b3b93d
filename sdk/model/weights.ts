// The Hugging Face weight names and shapes of a Llama/Qwen2 decoder, and the random initialisation.
// Linear weights are [out, in] as in torch.nn.Linear.

import { Rng } from '../engine/rng.ts';
import { hasGate, hasOutputBias, type ResolvedModelConfig } from './config.ts';

export interface WeightSpec { name: string; shape: number[]; init: 'normal' | 'residual' | 'ones' | 'zeros' }

/** Every weight the model has, in checkpoint order. */
export function weightSpecs(c: ResolvedModelConfig): WeightSpec[] {
  const H = c.hidden_size;
  const qDim = c.num_attention_heads * c.head_dim;
  const kvDim = c.num_key_value_heads * c.head_dim;
  const F = c.intermediate_size;
  const specs: WeightSpec[] = [{ name: 'model.embed_tokens.weight', shape: [c.vocab_size, H], init: 'normal' }];
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const p = `model.layers.${i}`;
    specs.push({ name: `${p}.input_layernorm.weight`, shape: [H], init: 'ones' });
    specs.push({ name: `${p}.self_attn.q_proj.weight`, shape: [qDim, H], init: 'normal' });
    specs.push({ name: `${p}.self_attn.k_proj.weight`, shape: [kvDim, H], init: 'normal' });
    specs.push({ name: `${p}.self_attn.v_proj.weight`, shape: [kvDim, H], init: 'normal' });
    if (c.attention_bias) {
      specs.push({ name: `${p}.self_attn.q_proj.bias`, shape: [qDim], init: 'zeros' });
      specs.push({ name: `${p}.self_attn.k_proj.bias`, shape: [kvDim], init: 'zeros' });
      specs.push({ name: `${p}.self_attn.v_proj.bias`, shape: [kvDim], init: 'zeros' });
    }
    specs.push({ name: `${p}.self_attn.o_proj.weight`, shape: [H, qDim], init: 'residual' });
    if (hasOutputBias(c)) specs.push({ name: `${p}.self_attn.o_proj.bias`, shape: [H], init: 'zeros' });
    specs.push({ name: `${p}.post_attention_layernorm.weight`, shape: [H], init: 'ones' });
    if (hasGate(c)) specs.push({ name: `${p}.mlp.gate_proj.weight`, shape: [F, H], init: 'normal' });
    specs.push({ name: `${p}.mlp.up_proj.weight`, shape: [F, H], init: 'normal' });
    specs.push({ name: `${p}.mlp.down_proj.weight`, shape: [H, F], init: 'residual' });
  }
  specs.push({ name: 'model.norm.weight', shape: [H], init: 'ones' });
  if (!c.tie_word_embeddings) specs.push({ name: 'lm_head.weight', shape: [c.vocab_size, H], init: 'normal' });
  return specs;
}

/** Names a checkpoint may carry that the model does not need (recomputed or tied). */
export function isIgnorableWeight(name: string, c: ResolvedModelConfig): boolean {
  return name.endsWith('.rotary_emb.inv_freq') || (c.tie_word_embeddings && name === 'lm_head.weight');
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
