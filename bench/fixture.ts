// The inputs every engine of bench/engine-vs-pytorch.ts runs on, written once to a directory so the
// tfjs backends (child processes) and the PyTorch reference (bench/pytorch_reference.py) compute
// the same function on the same numbers:
//   meta.json            model config, batch sizes, PPO hyper-parameters, sampling and GEMM sizes
//   policy/              the policy as saveModel writes it (config.json, model.safetensors)
//   critic/              Critic.save: a copy of the policy plus value_head.safetensors
//   batch.safetensors    the PPO batch as buildTokenBatch lays it out, the per-token old log-probs,
//                        advantages, old values and returns, the sampling prompts, and check rows
//                        with their logits from the active (reference) backend

import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tf } from '../sdk/engine/tf.ts';
import { Rng } from '../sdk/engine/rng.ts';
import { TransformerLM, readSafetensors, saveModel, writeSafetensors, type ModelConfig, type SafeTensor, type TensorToWrite } from '../sdk/model/index.ts';
import { Critic } from '../sdk/ppo/critic.ts';
import { buildTokenBatch, disposeTokenBatch } from '../sdk/ppo/token-batch.ts';
import { writeFileAtomic } from '../sdk/util/atomic-write.ts';

/**
 * The model: vocab 512, d_model 256, 8 heads, 4 layers. The SDK's default MLP (SwiGLU);
 * intermediate 736 makes the parameter count the 3.45M (3.44M).
 */
export const BENCH_CONFIG: ModelConfig = {
  model_type: 'orz', vocab_size: 512, hidden_size: 256, intermediate_size: 736, num_hidden_layers: 4,
  num_attention_heads: 8, max_position_embeddings: 160, hidden_act: 'silu', tie_word_embeddings: true,
};

export interface BenchMeta {
  config: ModelConfig;
  seed: number;
  /** PPO batch: B rows of P prompt + R response tokens, fed as [B, T = P + R - 1]. */
  B: number; P: number; R: number; T: number;
  trainer: { policyLr: number; criticLr: number; betas: [number, number]; eps: number; gradClip: number; clipRatio: number; valueClip: number };
  sampling: { prompts: number; promptLen: number; newTokens: number; temperature: number; seed: number };
  gemmSizes: number[];
  checkRows: number;
}

export const BENCH_META: BenchMeta = {
  config: BENCH_CONFIG, seed: 7,
  B: 16, P: 32, R: 97, T: 128,
  trainer: { policyLr: 1e-5, criticLr: 1e-5, betas: [0.9, 0.95], eps: 1e-8, gradClip: 1, clipRatio: 0.2, valueClip: 0.2 },
  sampling: { prompts: 64, promptLen: 32, newTokens: 96, temperature: 1, seed: 11 },
  gemmSizes: [512, 1024, 2048],
  checkRows: 2,
};

export interface Fixture {
  dir: string;
  meta: BenchMeta;
  rows: { promptIds: number[]; responseIds: number[] }[];
  oldLogprobs: Float32Array[];
  advantages: Float32Array[];
  oldValues: Float32Array[];
  returns: Float32Array[];
  samplePrompts: number[][];
  checkIds: tf.Tensor2D;
  checkLogits: Float32Array;
}

function ids(rng: Rng, n: number, vocab: number): number[] {
  return Array.from({ length: n }, () => Math.floor(rng.next() * vocab));
}

function normal(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
}

/** Writes the fixture into `dir` with the active tfjs backend computing the check logits. */
export async function writeFixture(dir: string, meta: BenchMeta = BENCH_META): Promise<void> {
  const { config, B, P, R, T } = meta;
  if (P + R - 1 !== T) throw new Error(`bench/fixture: P + R - 1 = ${P + R - 1} must equal T = ${T}`);
  await mkdir(dir, { recursive: true });
  const policy = TransformerLM.init(config, meta.seed);
  const critic = Critic.fromPolicy(policy, meta.seed + 1);
  try {
    await saveModel(policy, join(dir, 'policy'));
    await critic.save(join(dir, 'critic'));
    const rng = new Rng(meta.seed + 2);
    const V = config.vocab_size;
    const rows = Array.from({ length: B }, () => ({ promptIds: ids(rng, P, V), responseIds: ids(rng, R, V) }));
    // a freshly initialised policy is near uniform: old log-probs near log(1/V), so ratios sit near 1
    const perToken = (f: () => number) => Float32Array.from({ length: B * R }, f);
    const oldLogp = perToken(() => -Math.log(V) + 0.1 * normal(rng));
    const advantages = perToken(() => normal(rng));
    const oldValues = perToken(() => 0.1 * normal(rng));
    const rowReward = Array.from({ length: B }, () => (rng.next() < 0.5 ? 1 : 0));
    const returns = Float32Array.from({ length: B * R }, (_, i) => rowReward[Math.floor(i / R)]!);
    const s = meta.sampling;
    const prompts = Int32Array.from(ids(rng, s.prompts * s.promptLen, V));

    const tb = buildTokenBatch(rows, 0);
    const tensors = new Map<string, TensorToWrite>();
    const put = (name: string, t: tf.Tensor) => {
      const data = t.dataSync();
      tensors.set(name, { dtype: t.dtype === 'int32' ? 'I32' : 'F32', shape: t.shape, data });
    };
    try {
      if (tb.inputIds.shape[1] !== T) throw new Error(`bench/fixture: token batch has ${tb.inputIds.shape[1]} columns, expected T = ${T}`);
      put('input_ids', tb.inputIds);
      put('positions', tb.positions);
      put('key_mask', tb.keyMask);
      put('targets', tb.targets);
      put('mask', tb.mask);
      const checkIds = tf.slice(tb.inputIds, [0, 0], [meta.checkRows, T]);
      put('check_ids', checkIds);
      const logits = tf.tidy(() => policy.logits(policy.hidden(checkIds as tf.Tensor2D)));
      put('check_logits', logits);
      tf.dispose([checkIds, logits]);
    } finally {
      disposeTokenBatch(tb);
    }
    tensors.set('prompt_ids', { dtype: 'I32', shape: [B, P], data: rows.flatMap((r) => r.promptIds) });
    tensors.set('response_ids', { dtype: 'I32', shape: [B, R], data: rows.flatMap((r) => r.responseIds) });
    tensors.set('old_logp', { dtype: 'F32', shape: [B, R], data: oldLogp });
    tensors.set('advantages', { dtype: 'F32', shape: [B, R], data: advantages });
    tensors.set('old_values', { dtype: 'F32', shape: [B, R], data: oldValues });
    tensors.set('returns', { dtype: 'F32', shape: [B, R], data: returns });
    tensors.set('sample_prompts', { dtype: 'I32', shape: [s.prompts, s.promptLen], data: prompts });
    await writeSafetensors(join(dir, 'batch.safetensors'), tensors);
    await writeFileAtomic(join(dir, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
  } finally {
    critic.dispose();
    policy.dispose();
  }
}

/** Reads what writeFixture wrote (the models are loaded by the caller from policy/ and critic/). */
export async function readFixture(dir: string): Promise<Fixture> {
  const metaPath = join(dir, 'meta.json');
  let meta: BenchMeta;
  try {
    meta = JSON.parse(await readFile(metaPath, 'utf8')) as BenchMeta;
  } catch (e) {
    throw new Error(`${metaPath}: cannot read the bench fixture: ${(e as Error).message}`);
  }
  const file = join(dir, 'batch.safetensors');
  const { tensors } = await readSafetensors(file);
  const get = (name: string): SafeTensor => {
    const t = tensors.get(name);
    if (!t) throw new Error(`${file}: no tensor ${name}`);
    return t;
  };
  const rowsOf = (name: string): number[][] => {
    const t = get(name);
    const [n, w] = t.shape as [number, number];
    return Array.from({ length: n }, (_, i) => Array.from(t.data.subarray(i * w, (i + 1) * w)));
  };
  const floatRows = (name: string) => rowsOf(name).map((r) => Float32Array.from(r));
  const prompts = rowsOf('prompt_ids');
  const responses = rowsOf('response_ids');
  const check = get('check_ids');
  return {
    dir, meta,
    rows: prompts.map((promptIds, i) => ({ promptIds, responseIds: responses[i]! })),
    oldLogprobs: floatRows('old_logp'),
    advantages: floatRows('advantages'),
    oldValues: floatRows('old_values'),
    returns: floatRows('returns'),
    samplePrompts: rowsOf('sample_prompts'),
    checkIds: tf.tensor2d(Int32Array.from(check.data), check.shape as [number, number], 'int32'),
    checkLogits: Float32Array.from(get('check_logits').data),
  };
}

/** max |a - b| / max |b|: how far an engine's logits are from the reference's. */
export function relativeError(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (got.length !== ref.length) throw new Error(`bench/fixture: ${got.length} logits against ${ref.length} reference logits`);
  let diff = 0, scale = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(got[i]! - ref[i]!));
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  return diff / scale;
}
