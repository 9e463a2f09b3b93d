// A decoder-only transformer (Llama, Qwen2, GPT-NeoX and our "orz"; families are data, family.ts):
//   x_0 = E[ids]
//   x_l' = x_l + Attn(Norm(x_l)),   x_{l+1} = x_l' + MLP(Norm(x_l'))      (or the parallel form, layer-op.ts)
//   h = Norm(x_L),   logits = h W_head^T   (W_head = E when tied)
// Norm is RMSNorm (llama) or LayerNorm with a bias (gpt_neox). MLP = down(act(gate(x)) * up(x))
// (SwiGLU with silu), or down(gelu(up(x))) ungated (orz with gelu, gpt_neox with its biases).
// Weights are tf.Variables under their Hugging Face names, so checkpoints load as they are.
// The layers run as one op (layer-op.ts): fused kernels on a backend that has them (onnxruntime),
// op by op elsewhere (attention.ts, ops.ts). Both compute the same function.

import { tf } from '../engine/tf.ts';
import { parseModelConfig, type ModelConfig, type ResolvedModelConfig } from './config.ts';
import { architectureOf, type Architecture } from './family.ts';
import { decoderLayers } from './layer-op.ts';
import { layerWeights, SplitCache } from './layer-weights.ts';
import { KVCache } from './kv-cache.ts';
import { embeddingLookup, layerNorm, linear, rmsNorm } from './ops.ts';
import { Rope } from './rope.ts';
import { initialValues, isIgnorableWeight, weightSpecs } from './weights.ts';

export interface HiddenOptions {
  /** int32 [B, T]; default past + t (past = cached length). */
  positions?: tf.Tensor2D;
  /** [B, past + T]: 1 = real token, 0 = padding; default all ones. */
  keyMask?: tf.Tensor2D;
  /** Appended to; queries also attend everything cached. */
  cache?: KVCache;
  /**
   * int32 [B, T]: several samples packed in one row (training; no cache). A query attends only keys of
   * its own segment (causal AND same segment), so samples never see each other.
   */
  segmentIds?: tf.Tensor2D;
}

export class TransformerLM {
  private readonly rope: Rope;
  private readonly splits = new SplitCache();
  /** The family's resolved facts: norm kind, residual form, rotary dims, biases. */
  readonly architecture: Architecture;

  private constructor(readonly config: ResolvedModelConfig, readonly weights: Map<string, tf.Variable>) {
    this.architecture = architectureOf(config);
    this.rope = new Rope(config.head_dim, config.max_position_embeddings, config.rope_theta, this.architecture.rotaryDims);
  }

  /** Name of the token embedding and of the LM head's weight (the embedding when tied). */
  get embeddingName(): string {
    return this.architecture.family.embed;
  }

  get headName(): string {
    return this.config.tie_word_embeddings ? this.architecture.family.embed : this.architecture.family.head;
  }

  /** Fresh weights: N(0, 0.02), residual out-projections N(0, 0.02/sqrt(2L)), norms 1, biases 0. */
  static init(config: ModelConfig, seed: number): TransformerLM {
    const c = parseModelConfig(config, 'TransformerLM.init config');
    const weights = new Map<string, tf.Variable>();
    for (const [name, { shape, data }] of initialValues(c, seed)) weights.set(name, toVariable(tf.tensor(data, shape, 'float32'), true));
    return new TransformerLM(c, weights);
  }

  /**
   * A model over copies of `weights` (HF name -> tensor; cast to float32). Every weight the config
   * implies must be present with its shape; unknown names are an error (a checkpoint for another
   * architecture), except rotary inv_freq buffers and lm_head.weight when the head is tied.
   * The caller keeps ownership of the given tensors.
   */
  static fromWeights(config: ModelConfig, weights: Map<string, tf.Tensor>, source = 'weights'): TransformerLM {
    const c = parseModelConfig(config, `${source} config`);
    const specs = weightSpecs(c);
    const known = new Set(specs.map((s) => s.name));
    const unexpected = [...weights.keys()].filter((n) => !known.has(n) && !isIgnorableWeight(n, c));
    if (unexpected.length > 0) {
      throw new Error(`${source}: unexpected weights for a ${c.model_type} config: ${unexpected.slice(0, 5).join(', ')}${unexpected.length > 5 ? ` (+${unexpected.length - 5} more)` : ''}`);
    }
    for (const s of specs) {
      const t = weights.get(s.name);
      if (!t) throw new Error(`${source}: missing weight ${s.name}`);
      if (t.shape.join() !== s.shape.join()) throw new Error(`${source}: ${s.name} has shape [${t.shape}], expected [${s.shape}] from the config`);
    }
    const vars = new Map<string, tf.Variable>();
    for (const s of specs) {
      const t = weights.get(s.name)!;
      vars.set(s.name, t.dtype === 'float32' ? toVariable(t, false) : toVariable(tf.cast(t, 'float32'), true));
    }
    return new TransformerLM(c, vars);
  }

  /**
   * Hidden states after the final norm, [B, T, H], for int32 ids [B, T]. With a cache, the new keys
   * and values are appended to it and queries see everything cached (causally within the new
   * block). Differentiable w.r.t. `weights` when no cache is passed.
   */
  hidden(ids: tf.Tensor2D, opts: HiddenOptions = {}): tf.Tensor3D {
    const c = this.config;
    if (ids.rank !== 2) throw new Error(`TransformerLM.hidden: ids must be [B, T], got shape [${ids.shape}]`);
    const [B, T] = ids.shape;
    if (T < 1) throw new Error('TransformerLM.hidden: ids has no time steps');
    const { cache } = opts;
    if (cache && cache.batch !== B) throw new Error(`TransformerLM.hidden: ids has ${B} rows but the cache has ${cache.batch}`);
    const past = cache?.length ?? 0;
    const S = past + T;
    checkRange(ids.dataSync(), c.vocab_size, 'ids', 'vocab_size');

    let positions: Int32Array;
    if (opts.positions) {
      if (opts.positions.shape.join() !== `${B},${T}`) throw new Error(`TransformerLM.hidden: positions has shape [${opts.positions.shape}], expected [${B}, ${T}]`);
      const given = opts.positions.dataSync();
      checkRange(given, c.max_position_embeddings, 'positions', 'max_position_embeddings');
      positions = Int32Array.from(given);
    } else {
      if (S > c.max_position_embeddings) throw new Error(`TransformerLM.hidden: ${S} positions exceed max_position_embeddings=${c.max_position_embeddings}`);
      positions = new Int32Array(B * T);
      for (let i = 0; i < B * T; i++) positions[i] = past + (i % T);
    }
    let keyMask: ArrayLike<number> | null = null;
    if (opts.keyMask) {
      if (opts.keyMask.shape.join() !== `${B},${S}`) throw new Error(`TransformerLM.hidden: keyMask has shape [${opts.keyMask.shape}], expected [${B}, ${S}] (batch, cached + new)`);
      keyMask = opts.keyMask.dataSync();
    }

    let segments: Int32Array | null = null;
    if (opts.segmentIds) {
      if (cache) throw new Error('TransformerLM.hidden: segmentIds (packed samples) cannot be used with a cache');
      if (opts.segmentIds.shape.join() !== `${B},${T}`) throw new Error(`TransformerLM.hidden: segmentIds has shape [${opts.segmentIds.shape}], expected [${B}, ${T}]`);
      segments = Int32Array.from(opts.segmentIds.dataSync());
    }

    cache?.reserve(T);
    const out = tf.tidy(() => {
      const flatIds = tf.cast(ids.reshape([-1]), 'int32') as tf.Tensor1D;
      const a = this.architecture;
      let x = embeddingLookup(this.weights.get(this.embeddingName) as tf.Tensor2D, flatIds); // [B*T, H]
      const stack = { config: c, arch: a, layers: layerWeights(c, a, this.weights, this.splits), rope: this.rope };
      x = decoderLayers(stack, x, { positions, keyMask, segments, B, T, past, ...(cache ? { cache } : {}) });
      const normW = this.weights.get(`${a.family.finalNorm}.weight`) as tf.Tensor1D;
      const normed = a.norm === 'rms' ? rmsNorm(x, normW, a.eps) : layerNorm(x, normW, this.weights.get(`${a.family.finalNorm}.bias`) as tf.Tensor1D, a.eps);
      return normed.reshape([B, T, c.hidden_size]) as tf.Tensor3D;
    });
    cache?.advance(T);
    return out;
  }

  /** Logits [..., V] of hidden states [..., H] through the LM head (the embedding when tied). */
  logits(hidden: tf.Tensor3D | tf.Tensor2D): tf.Tensor {
    const { hidden_size: H, vocab_size: V } = this.config;
    if (hidden.shape[hidden.rank - 1] !== H) throw new Error(`TransformerLM.logits: last axis is ${hidden.shape[hidden.rank - 1]}, expected hidden_size=${H}`);
    const head = this.weights.get(this.headName) as tf.Tensor2D;
    return tf.tidy(() => linear(hidden.reshape([-1, H]), head).reshape([...hidden.shape.slice(0, -1), V]));
  }

  /**
   * A KV cache for `batch` rows. `capacity` (time steps, e.g. prompt + max new tokens) preallocates
   * it so decoding never reallocates; without it the cache grows on demand.
   */
  newCache(batch: number, capacity = 0): KVCache {
    return new KVCache(this.config.num_hidden_layers, this.config.num_key_value_heads, this.config.head_dim, batch, capacity);
  }

  /** Independent copy (e.g. the critic from the policy): updating one never changes the other. */
  clone(): TransformerLM {
    return TransformerLM.fromWeights(this.config, this.weights, 'TransformerLM.clone');
  }

  numParameters(): number {
    let n = 0;
    for (const v of this.weights.values()) n += v.size;
    return n;
  }

  dispose(): void {
    for (const v of this.weights.values()) v.dispose();
    this.splits.dispose();
    this.rope.dispose();
  }
}

function checkRange(values: ArrayLike<number>, limit: number, what: string, limitName: string): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(v >= 0 && v < limit) || !Number.isInteger(v)) {
      throw new Error(`TransformerLM.hidden: ${what} has ${v} at flat index ${i}, outside [0, ${limitName}=${limit})`);
    }
  }
}

/** A trainable variable holding t's values (shared storage; tensors are immutable). */
function toVariable(t: tf.Tensor, disposeSource: boolean): tf.Variable {
  const v = tf.variable(t, true);
  if (disposeSource) t.dispose();
  return v;
}
