// The model sizes and workloads of bench/scale.ts. Each size says what it runs, shaped so a full run
// (bench, 30m, 0.5b, both engines) fits in about 15 minutes on a shared 2-core machine: the larger the
// model, the fewer rows and repetitions. Both engines read the same size.json (written by bench/scale.ts).
import type { ModelConfig } from '../sdk/model/index.ts';
import { BENCH_CONFIG } from './fixture.ts';

export interface ScaleSize {
  name: string;
  what: string;
  config: ModelConfig;
  seed: number;
  /** PPO update (critic step + policy step, one minibatch) at `rows` x T for each T; prompts are T/8 tokens. */
  train: { rows: number; lengths: number[]; warmup: number; reps: number };
  /** Forward pass (hidden states and logits, no gradient) at `rows` x T for each T, after one forward at T = warmupLength. */
  forward: { rows: number; lengths: number[]; warmupLength: number; reps: number };
  /** Batched KV-cached sampling: `prompts` rows of promptLen tokens, newTokens each, after one 2-token warm-up. */
  sampling: { prompts: number; promptLen: number; newTokens: number; reps: number };
  /** Rows x tokens of the logits both engines compare (the same function check). */
  checkTokens: number;
}

const TRAINER = { policyLr: 1e-6, criticLr: 5e-6, betas: [0.9, 0.95] as [number, number], eps: 1e-8, gradClip: 1, clipRatio: 0.2, valueClip: 0.2 };
export type TrainerHyper = typeof TRAINER;
export const SCALE_TRAINER: TrainerHyper = TRAINER;

/** Positions for T = 4096 plus the one extra prompt/response token of the PPO layout. */
const LONG = 4096 + 64;

export const SCALE_SIZES: Record<string, ScaleSize> = {
  bench: {
    name: 'bench', what: 'the engine bench model (3.4M): vocab 512, d 256, 8 heads, 4 layers',
    config: { ...BENCH_CONFIG, max_position_embeddings: LONG }, seed: 21,
    train: { rows: 4, lengths: [256, 1024], warmup: 1, reps: 2 },
    forward: { rows: 4, lengths: [256, 1024, 4096], warmupLength: 64, reps: 2 },
    sampling: { prompts: 64, promptLen: 32, newTokens: 64, reps: 2 },
    checkTokens: 32,
  },
  '30m': {
    name: '30m', what: 'a Qwen2-shaped 31M model: vocab 16384, d 512, 8 heads / 2 KV heads, 8 layers, SwiGLU 1408',
    config: {
      model_type: 'qwen2', vocab_size: 16384, hidden_size: 512, intermediate_size: 1408, num_hidden_layers: 8,
      num_attention_heads: 8, num_key_value_heads: 2, max_position_embeddings: LONG, rope_theta: 1e6,
      rms_norm_eps: 1e-6, hidden_act: 'silu', tie_word_embeddings: true,
    },
    seed: 22,
    train: { rows: 2, lengths: [256, 1024], warmup: 1, reps: 1 },
    forward: { rows: 2, lengths: [256, 1024, 4096], warmupLength: 64, reps: 1 },
    sampling: { prompts: 64, promptLen: 32, newTokens: 32, reps: 1 },
    checkTokens: 32,
  },
  '0.5b': {
    name: '0.5b', what: 'Qwen2.5-0.5B\'s shape (494M, random weights): vocab 151936, d 896, 14 heads / 2 KV heads, 24 layers, SwiGLU 4864',
    config: {
      model_type: 'qwen2', vocab_size: 151936, hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24,
      num_attention_heads: 14, num_key_value_heads: 2, max_position_embeddings: 32768, rope_theta: 1e6,
      rms_norm_eps: 1e-6, hidden_act: 'silu', tie_word_embeddings: true,
    },
    seed: 23,
    train: { rows: 1, lengths: [256], warmup: 1, reps: 1 },
    forward: { rows: 1, lengths: [256, 1024, 4096], warmupLength: 32, reps: 1 },
    sampling: { prompts: 64, promptLen: 16, newTokens: 8, reps: 1 },
    checkTokens: 16,
  },
  // not part of a full run: the test's size, every piece at a few tokens
  tiny: {
    name: 'tiny', what: 'a 2-layer test model (not timed)',
    config: {
      model_type: 'qwen2', vocab_size: 64, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2,
      num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 128, rope_theta: 1e4,
      rms_norm_eps: 1e-6, hidden_act: 'silu', tie_word_embeddings: true,
    },
    seed: 24,
    train: { rows: 2, lengths: [16, 32], warmup: 0, reps: 1 },
    forward: { rows: 2, lengths: [16, 32], warmupLength: 8, reps: 1 },
    sampling: { prompts: 4, promptLen: 4, newTokens: 3, reps: 1 },
    checkTokens: 8,
  },
};

/** A size at another depth (same widths, vocab, heads, workloads), named `<name>-L<layers>`. */
export function withLayers(size: ScaleSize, layers: number): ScaleSize {
  if (layers === size.config.num_hidden_layers) return size;
  return { ...size, name: `${size.name}-L${layers}`, what: `${size.what}, cut to ${layers} layers`, config: { ...size.config, num_hidden_layers: layers } };
}

export const DEFAULT_SCALE_SIZES = ['bench', '30m', '0.5b'];

/** Prompt and response lengths of a PPO row of T input tokens (P + R - 1 = T, prompts T/8). */
export function trainLayout(T: number): { P: number; R: number } {
  const P = Math.max(1, Math.floor(T / 8));
  return { P, R: T - P + 1 };
}

/** What one engine process of one phase reports (bench/scale-steps.ts, bench/scale_reference.py). */
export interface PhaseResult {
  engine: string;
  phase: 'train' | 'forward' | 'sampling';
  /** per length (train, forward) or one entry (sampling): seconds of each timed repetition */
  runs: { T: number; rows: number; seconds: number[]; criticSeconds?: number[]; policySeconds?: number[]; tokens?: number }[];
  /** forward only: max |logits - reference| / max |reference| on the check rows (torch against orz's) */
  checkRelErr?: number;
  peakRssMB: number;
  loadAvg: number[];
  [extra: string]: unknown;
}
