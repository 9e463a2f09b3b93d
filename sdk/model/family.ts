// Model families as data: for each Hugging Face model_type, the weight names and how they are laid
// out, the norm, the residual form, the rotary fraction, the MLP and which linears carry biases.
// The forward (layer-op.ts, transformer.ts) and the weight list (weights.ts) read this table and
// the `Architecture` it resolves to; nothing else branches on model_type.
//
//   llama/qwen2/orz:  x' = x + Attn(RMSNorm(x)),  y = x' + MLP(RMSNorm(x'))     (sequential)
//   gpt_neox:         y = x + Attn(LN(x)) + MLP(LN'(x))   with use_parallel_residual (pythia),
//                     sequential as above otherwise; LN is LayerNorm with a bias.
//
// GPT-NeoX's query_key_value packs q, k, v per head: its output rows are [heads, 3, head_dim]
// (head h's q rows, then its k rows, then its v rows), as HF views qkv to (heads, 3 * head_dim)
// and slices each head's last axis into thirds. Its rotary part is the first rotary_ndims =
// floor(head_dim * rotary_pct) dims of each head, rotated with rotate_half over those dims, i.e.
// dim i pairs with dim i + rotary_ndims/2 (not GPT-J's interleaved (2i, 2i+1)); the rest pass through.

import type { HiddenAct, ResolvedModelConfig } from './config.ts';

/** The per-layer weights the forward reads. */
export type LayerSlot = 'inputNorm' | 'postNorm' | 'q' | 'k' | 'v' | 'qkv' | 'o' | 'gate' | 'up' | 'down';

interface FamilyTable {
  embed: string;
  finalNorm: string;            // without .weight/.bias
  head: string;                 // the untied LM head's weight
  layerPrefix: string;          // + `.${i}.`
  /** Slot -> module name inside a layer (HF naming; `.weight` / `.bias` appended). */
  modules: Partial<Record<LayerSlot, string>>;
  /** Checkpoint order of a layer's tensors (the random init draws in this order). */
  order: [LayerSlot, 'weight' | 'bias'][];
  norm: 'rms' | 'layer';
  /** q, k, v as three weights, or GPT-NeoX's one query_key_value with rows [heads, 3, head_dim]. */
  qkv: 'separate' | 'per-head-interleaved';
  parallelResidual: (c: ResolvedModelConfig) => boolean;
  rotaryFraction: (c: ResolvedModelConfig) => number;
  gated: (c: ResolvedModelConfig) => boolean;
  /** Linear slots with a bias. */
  biases: (c: ResolvedModelConfig) => LayerSlot[];
  eps: (c: ResolvedModelConfig) => number;
}

const LLAMA_MODULES: FamilyTable['modules'] = {
  inputNorm: 'input_layernorm', postNorm: 'post_attention_layernorm',
  q: 'self_attn.q_proj', k: 'self_attn.k_proj', v: 'self_attn.v_proj', o: 'self_attn.o_proj',
  gate: 'mlp.gate_proj', up: 'mlp.up_proj', down: 'mlp.down_proj',
};
const LLAMA_ORDER: FamilyTable['order'] = [
  ['inputNorm', 'weight'], ['q', 'weight'], ['k', 'weight'], ['v', 'weight'], ['q', 'bias'], ['k', 'bias'], ['v', 'bias'],
  ['o', 'weight'], ['o', 'bias'], ['postNorm', 'weight'], ['gate', 'weight'], ['up', 'weight'], ['down', 'weight'],
];
const llamaLike = (overrides: Partial<FamilyTable>): FamilyTable => ({
  embed: 'model.embed_tokens.weight', finalNorm: 'model.norm', head: 'lm_head.weight', layerPrefix: 'model.layers',
  modules: LLAMA_MODULES, order: LLAMA_ORDER, norm: 'rms', qkv: 'separate',
  parallelResidual: () => false,
  rotaryFraction: () => 1,
  gated: () => true, // transformers gates llama/qwen2 with whatever hidden_act is
  biases: (c) => (c.attention_bias ? ['q', 'k', 'v', 'o'] : []), // llama ties o_proj's bias to attention_bias
  eps: (c) => c.rms_norm_eps!,
  ...overrides,
});

export const FAMILIES: Record<string, FamilyTable> = {
  llama: llamaLike({}),
  qwen2: llamaLike({ biases: (c) => (c.attention_bias ? ['q', 'k', 'v'] : []) }), // never an o_proj bias
  // ours: SwiGLU with silu, the plain MLP down(gelu(up(x))) (no gate_proj) with gelu
  orz: llamaLike({ gated: (c) => c.hidden_act === 'silu' }),
  gpt_neox: {
    embed: 'gpt_neox.embed_in.weight', finalNorm: 'gpt_neox.final_layer_norm', head: 'embed_out.weight', layerPrefix: 'gpt_neox.layers',
    modules: {
      inputNorm: 'input_layernorm', postNorm: 'post_attention_layernorm',
      qkv: 'attention.query_key_value', o: 'attention.dense', up: 'mlp.dense_h_to_4h', down: 'mlp.dense_4h_to_h',
    },
    order: [
      ['inputNorm', 'weight'], ['inputNorm', 'bias'], ['postNorm', 'weight'], ['postNorm', 'bias'],
      ['qkv', 'weight'], ['qkv', 'bias'], ['o', 'weight'], ['o', 'bias'],
      ['up', 'weight'], ['up', 'bias'], ['down', 'weight'], ['down', 'bias'],
    ],
    norm: 'layer', qkv: 'per-head-interleaved',
    parallelResidual: (c) => c.use_parallel_residual!,
    rotaryFraction: (c) => c.rotary_pct!,
    gated: () => false,
    // attention_bias covers query_key_value and dense; the MLP linears always have biases
    biases: (c) => [...(c.attention_bias ? ['qkv', 'o'] as LayerSlot[] : []), 'up', 'down'],
    eps: (c) => c.layer_norm_eps!,
  },
};

/** What one model's forward needs to know about its family, resolved from its config. */
export interface Architecture {
  family: FamilyTable;
  norm: 'rms' | 'layer';
  eps: number;
  parallelResidual: boolean;
  /** Leading dims of each head that rotary rotates (head_dim for llama). */
  rotaryDims: number;
  act: HiddenAct;
  gated: boolean;
  biased: Set<LayerSlot>;
}

export function familyOf(c: ResolvedModelConfig): FamilyTable {
  const f = FAMILIES[c.model_type];
  if (!f) throw new Error(`model_type ${c.model_type} has no family table (known: ${Object.keys(FAMILIES).join(', ')})`);
  return f;
}

export function architectureOf(c: ResolvedModelConfig): Architecture {
  const family = familyOf(c);
  return {
    family, norm: family.norm, eps: family.eps(c), parallelResidual: family.parallelResidual(c),
    rotaryDims: Math.floor(c.head_dim * family.rotaryFraction(c)),
    act: c.hidden_act, gated: family.gated(c), biased: new Set(family.biases(c)),
  };
}

/** The HF name of layer i's slot tensor. */
export function layerWeightName(f: FamilyTable, i: number, slot: LayerSlot, part: 'weight' | 'bias'): string {
  return `${f.layerPrefix}.${i}.${f.modules[slot]}.${part}`;
}

/** Whether layer tensor (slot, part) exists for this architecture. */
export function hasLayerTensor(a: Architecture, slot: LayerSlot, part: 'weight' | 'bias'): boolean {
  if (a.family.modules[slot] === undefined) return false;
  if (slot === 'gate' && !a.gated) return false;
  if (slot === 'inputNorm' || slot === 'postNorm') return part === 'weight' || a.norm === 'layer';
  return part === 'weight' || a.biased.has(slot);
}
