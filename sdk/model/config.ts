// Model configuration with Hugging Face config.json field names, so a real checkpoint's
// config.json parses as-is. parseModelConfig validates it and fills HF's defaults.

export type HiddenAct = 'silu' | 'gelu';

export interface ModelConfig {
  model_type: string; // "llama" | "qwen2" | "gpt_neox" | "orz" (ours; llama-compatible)
  architectures?: string[];
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads?: number;
  head_dim?: number;
  max_position_embeddings: number;
  rope_theta?: number;
  rms_norm_eps?: number;
  tie_word_embeddings?: boolean;
  hidden_act?: HiddenAct;
  attention_bias?: boolean;
  bos_token_id?: number;
  eos_token_id?: number | number[];
  pad_token_id?: number;
  torch_dtype?: string;
  // GPT-NeoX (pythia) names
  layer_norm_eps?: number;
  rotary_pct?: number;
  rotary_emb_base?: number;
  use_parallel_residual?: boolean;
}

/** A validated config: every field the forward pass reads is present. */
export type ResolvedModelConfig = ModelConfig & Required<Pick<ModelConfig,
  'num_key_value_heads' | 'head_dim' | 'rope_theta' | 'tie_word_embeddings' | 'hidden_act' | 'attention_bias'>>;

export const MODEL_TYPES = ['llama', 'qwen2', 'gpt_neox', 'orz'] as const;

/**
 * Validates a config.json object and fills defaults as transformers does. llama/qwen2/orz:
 * kv heads = attention heads, head_dim = hidden/heads, rope_theta 1e4, rms_norm_eps 1e-6,
 * untied head, silu, and q/k/v biases only for qwen2. gpt_neox: layer_norm_eps 1e-5, rotary_pct
 * 0.25, rotary_emb_base 1e4 (also written as rope_theta), parallel residual, gelu, biases on,
 * untied head, no grouped KV heads. Errors name `source` and the field.
 */
export function parseModelConfig(json: unknown, source = 'model config'): ResolvedModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${source}: expected a JSON object`);
  const c = json as Record<string, unknown>;
  const fail = (field: string, why: string): never => {
    throw new Error(`${source}: ${field} ${why} (got ${JSON.stringify(c[field])})`);
  };
  const int = (field: string, min: number, fallback?: number): number => {
    const v = c[field] ?? fallback;
    if (v === undefined) fail(field, 'is required');
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) fail(field, `must be an integer >= ${min}`);
    return v as number;
  };
  const num = (field: string, fallback: number, positive = true): number => {
    const v = c[field] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || (positive && v <= 0)) fail(field, 'must be a positive number');
    return v as number;
  };
  const bool = (field: string, fallback: boolean): boolean => {
    const v = c[field] ?? fallback;
    if (typeof v !== 'boolean') fail(field, 'must be true or false');
    return v as boolean;
  };
  const optionalInt = (field: string): number | undefined => (c[field] == null ? undefined : int(field, 0));

  const model_type = c['model_type'];
  if (typeof model_type !== 'string' || !(MODEL_TYPES as readonly string[]).includes(model_type)) {
    fail('model_type', `must be one of ${MODEL_TYPES.join(', ')}`);
  }
  // Features of these families this implementation does not have: refuse rather than mis-run.
  if (c['rope_scaling'] != null) fail('rope_scaling', 'is not supported (only plain RoPE)');
  if (c['mlp_bias'] === true) fail('mlp_bias', 'is not supported');
  if (c['use_sliding_window'] === true) fail('use_sliding_window', 'is not supported');
  const neox = model_type === 'gpt_neox';
  if (neox && c['num_key_value_heads'] != null && c['num_key_value_heads'] !== c['num_attention_heads']) {
    fail('num_key_value_heads', 'must equal num_attention_heads for gpt_neox (its fused query_key_value has one K and V per head)');
  }

  const hidden_size = int('hidden_size', 1);
  const num_attention_heads = int('num_attention_heads', 1);
  const num_key_value_heads = int('num_key_value_heads', 1, num_attention_heads);
  if (num_attention_heads % num_key_value_heads !== 0) {
    fail('num_key_value_heads', `must divide num_attention_heads=${num_attention_heads}`);
  }
  const defaultHeadDim = hidden_size % num_attention_heads === 0 ? hidden_size / num_attention_heads : undefined;
  const head_dim = int('head_dim', 2, defaultHeadDim);
  if (head_dim % 2 !== 0) fail('head_dim', 'must be even (RoPE rotates pairs)');

  const hidden_act = c['hidden_act'] ?? (neox ? 'gelu' : 'silu');
  if (hidden_act !== 'silu' && hidden_act !== 'gelu') fail('hidden_act', 'must be "silu" or "gelu"');

  const eos = c['eos_token_id'];
  if (eos != null && !(Number.isInteger(eos) || (Array.isArray(eos) && eos.every((e) => Number.isInteger(e))))) {
    fail('eos_token_id', 'must be an integer or a list of integers');
  }
  const architectures = c['architectures'];
  if (architectures != null && !(Array.isArray(architectures) && architectures.every((a) => typeof a === 'string'))) {
    fail('architectures', 'must be a list of strings');
  }
  const torch_dtype = c['torch_dtype'];
  if (torch_dtype != null && typeof torch_dtype !== 'string') fail('torch_dtype', 'must be a string');

  const out: ResolvedModelConfig = {
    model_type: model_type as string,
    vocab_size: int('vocab_size', 1),
    hidden_size,
    intermediate_size: int('intermediate_size', 1),
    num_hidden_layers: int('num_hidden_layers', 1),
    num_attention_heads,
    num_key_value_heads,
    head_dim,
    max_position_embeddings: int('max_position_embeddings', 1),
    rope_theta: neox ? num('rotary_emb_base', num('rope_theta', 10000)) : num('rope_theta', 10000),
    tie_word_embeddings: bool('tie_word_embeddings', false),
    hidden_act: hidden_act as HiddenAct,
    attention_bias: bool('attention_bias', model_type === 'qwen2' || neox),
  };
  if (neox) {
    out.layer_norm_eps = num('layer_norm_eps', 1e-5);
    out.rotary_emb_base = out.rope_theta;
    // newer transformers also write the fraction as partial_rotary_factor
    const pct = num('rotary_pct', num('partial_rotary_factor', 0.25));
    if (pct > 1) fail('rotary_pct', 'must be in (0, 1]');
    const rotaryDims = Math.floor(head_dim * pct);
    if (rotaryDims < 2 || rotaryDims % 2 !== 0) fail('rotary_pct', `must give an even number >= 2 of rotary dims (head_dim ${head_dim} x rotary_pct = ${rotaryDims})`);
    out.rotary_pct = pct;
    out.use_parallel_residual = bool('use_parallel_residual', true);
  } else {
    out.rms_norm_eps = num('rms_norm_eps', 1e-6);
  }
  if (architectures != null) out.architectures = [...(architectures as string[])];
  const bos = optionalInt('bos_token_id');
  if (bos !== undefined) out.bos_token_id = bos;
  if (eos != null) out.eos_token_id = Array.isArray(eos) ? [...(eos as number[])] : (eos as number);
  const pad = optionalInt('pad_token_id');
  if (pad !== undefined) out.pad_token_id = pad;
  if (torch_dtype != null) out.torch_dtype = torch_dtype as string;
  return out;
}

