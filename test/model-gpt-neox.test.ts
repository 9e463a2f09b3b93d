// GPT-NeoX (pythia) against an independent float64 reference written with plain loops from the
// published definition (HF modeling_gpt_neox): LayerNorm with bias, the fused query_key_value whose
// output rows are [heads, 3, head_dim], rotary on the first floor(head_dim * rotary_pct) dims of each
// head with rotate_half pairs (i, i + r/2) and theta^(-2i/r), exact-erf gelu MLP with biases,
// parallel (x + attn(ln1 x) + mlp(ln2 x)) or sequential residual, untied embed_out. On the cpu and
// onnxruntime backends; cached greedy decoding against recompute; an HF-layout checkpoint on disk;
// and the fixtures test/reference/gpt_neox_reference.py wrote with its own PyTorch implementation.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf } from '../sdk/engine/tf.ts';
import { Rng } from '../sdk/engine/rng.ts';
import { registerOnnxBackend } from '../sdk/engine/onnx/index.ts';
import { TransformerLM, loadModel, parseModelConfig, writeSafetensors, type ModelConfig, type TensorToWrite } from '../sdk/model/index.ts';

type Weights = Map<string, Float64Array>;
type Cfg = ReturnType<typeof parseModelConfig>;

after(async () => {
  await tf.setBackend('cpu');
});

/** Random weights for every HF name of `config`: norms near 1, everything else (biases too) uniform. */
function randomHfWeights(config: ModelConfig, seed: number): Weights {
  const init = TransformerLM.init(config, 0);
  const rng = new Rng(seed);
  const out: Weights = new Map();
  for (const [name, v] of init.weights) {
    const isNormWeight = /layer_?norm\.weight$/.test(name);
    out.set(name, Float64Array.from({ length: v.size }, () => (isNormWeight ? 0.6 + 0.8 * rng.next() : (rng.next() * 2 - 1) * 0.3)));
  }
  init.dispose();
  return out;
}

function modelOf(config: ModelConfig, W: Weights): TransformerLM {
  const init = TransformerLM.init(config, 0);
  const tensors = new Map([...W].map(([n, data]) => [n, tf.tensor(Float32Array.from(data), init.weights.get(n)!.shape)]));
  init.dispose();
  const model = TransformerLM.fromWeights(config, tensors);
  tf.dispose([...tensors.values()]);
  return model;
}

// ---- reference -------------------------------------------------------------------------------

const linear = (W: Float64Array, x: number[], outDim: number, bias?: Float64Array) =>
  Array.from({ length: outDim }, (_, o) => {
    let s = bias ? bias[o]! : 0;
    for (let i = 0; i < x.length; i++) s += W[o * x.length + i]! * x[i]!;
    return s;
  });

const layerNorm = (x: number[], w: Float64Array, b: Float64Array, eps: number) => {
  const mu = x.reduce((a, v) => a + v, 0) / x.length;
  const variance = x.reduce((a, v) => a + (v - mu) ** 2, 0) / x.length;
  return x.map((v, i) => ((v - mu) / Math.sqrt(variance + eps)) * w[i]! + b[i]!);
};

/** Rotary on the first r dims: dim i and i + r/2 turn by pos * base^(-2i/r); dims >= r unchanged. */
function rotary(x: number[], pos: number, r: number, base: number): number[] {
  const half = r / 2, out = x.slice();
  for (let i = 0; i < half; i++) {
    const a = pos * base ** (-(2 * i) / r);
    out[i] = x[i]! * Math.cos(a) - x[i + half]! * Math.sin(a);
    out[i + half] = x[i + half]! * Math.cos(a) + x[i]! * Math.sin(a);
  }
  return out;
}

function erf(x: number): number {
  let term = x, sum = x;
  for (let n = 1; n < 100; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}
const gelu = (z: number) => 0.5 * z * (1 + erf(z / Math.SQRT2));

/** Logits [B][T][V]; query t sees keys s <= t with mask[b][s] = 1. */
function referenceLogits(c: Cfg, W: Weights, ids: number[][], pos: number[][], mask: number[][]): number[][][] {
  const H = c.hidden_size, nh = c.num_attention_heads, d = H / nh, F = c.intermediate_size, eps = c.layer_norm_eps!;
  const r = Math.floor(d * c.rotary_pct!), base = c.rotary_emb_base!;
  const w = (n: string) => W.get(n)!;
  const add = (a: number[], b: number[]) => a.map((v, i) => v + b[i]!);
  return ids.map((row, b) => {
    const T = row.length;
    let x = row.map((id) => Array.from(w('gpt_neox.embed_in.weight').subarray(id * H, (id + 1) * H)));
    for (let l = 0; l < c.num_hidden_layers; l++) {
      const p = `gpt_neox.layers.${l}`;
      const ln1 = x.map((v) => layerNorm(v, w(`${p}.input_layernorm.weight`), w(`${p}.input_layernorm.bias`), eps));
      const qkv = ln1.map((v) => linear(w(`${p}.attention.query_key_value.weight`), v, 3 * H, w(`${p}.attention.query_key_value.bias`)));
      // head h's slice of qkv is [q_h, k_h, v_h], each head_dim long
      const part = (t: number, h: number, which: number) => qkv[t]!.slice(h * 3 * d + which * d, h * 3 * d + (which + 1) * d);
      const attn = Array.from({ length: T }, (_, t) => {
        const merged: number[] = [];
        for (let h = 0; h < nh; h++) {
          const q = rotary(part(t, h, 0), pos[b]![t]!, r, base);
          const keys: number[] = [], scores: number[] = [];
          for (let s = 0; s <= t; s++) {
            if (!mask[b]![s]) continue;
            const k = rotary(part(s, h, 1), pos[b]![s]!, r, base);
            scores.push(q.reduce((acc, qi, i) => acc + qi * k[i]!, 0) / Math.sqrt(d));
            keys.push(s);
          }
          const m = Math.max(...scores);
          const e = scores.map((sc) => Math.exp(sc - m));
          const z = e.reduce((a2, v) => a2 + v, 0);
          for (let i = 0; i < d; i++) merged.push(keys.reduce((acc, s, j) => acc + (e[j]! / z) * part(s, h, 2)[i]!, 0));
        }
        return linear(w(`${p}.attention.dense.weight`), merged, H, w(`${p}.attention.dense.bias`));
      });
      const mlp = (v: number[]) => {
        const hidden = linear(w(`${p}.mlp.dense_h_to_4h.weight`), v, F, w(`${p}.mlp.dense_h_to_4h.bias`)).map(gelu);
        return linear(w(`${p}.mlp.dense_4h_to_h.weight`), hidden, H, w(`${p}.mlp.dense_4h_to_h.bias`));
      };
      const ln2 = (v: number[]) => layerNorm(v, w(`${p}.post_attention_layernorm.weight`), w(`${p}.post_attention_layernorm.bias`), eps);
      if (c.use_parallel_residual) {
        x = x.map((xi, t) => add(add(xi, attn[t]!), mlp(ln2(xi))));
      } else {
        const x1 = x.map((xi, t) => add(xi, attn[t]!));
        x = x1.map((xi) => add(xi, mlp(ln2(xi))));
      }
    }
    return x.map((xi) => linear(w('embed_out.weight'), layerNorm(xi, w('gpt_neox.final_layer_norm.weight'), w('gpt_neox.final_layer_norm.bias'), eps), c.vocab_size));
  });
}

// ---- cases -----------------------------------------------------------------------------------

const BASE: ModelConfig = {
  model_type: 'gpt_neox', vocab_size: 50, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2,
  num_attention_heads: 4, max_position_embeddings: 64, hidden_act: 'gelu', layer_norm_eps: 1e-5,
  rotary_emb_base: 10000, tie_word_embeddings: false,
} as ModelConfig;
const CASES: [string, ModelConfig][] = [
  ['parallel residual, rotary_pct 0.25 (pythia)', { ...BASE, use_parallel_residual: true, rotary_pct: 0.25 }],
  ['sequential residual, rotary_pct 1.0', { ...BASE, use_parallel_residual: false, rotary_pct: 1.0, rotary_emb_base: 100 }],
];

const IDS = [[5, 17, 2, 49, 11, 0, 23], [1, 1, 1, 8, 30, 14, 6]];
const MASK = [[1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1, 1]];
const POS = [[3, 4, 5, 6, 7, 8, 9], [0, 0, 0, 0, 1, 2, 3]];

function maxRelErr(model: TransformerLM, ref: number[][][]): { err: number; scale: number } {
  const got = tf.tidy(() => model.logits(model.hidden(tf.tensor2d(IDS, undefined, 'int32'), {
    positions: tf.tensor2d(POS, undefined, 'int32'), keyMask: tf.tensor2d(MASK),
  })).arraySync() as number[][][]);
  let scale = 0, err = 0;
  IDS.forEach((row, b) => row.forEach((_, t) => {
    if (!MASK[b]![t]) return; // padding queries see nothing real; their outputs are unused
    ref[b]![t]!.forEach((want, v) => {
      scale = Math.max(scale, Math.abs(want));
      err = Math.max(err, Math.abs(want - got[b]![t]![v]!));
    });
  }));
  return { err: err / scale, scale };
}

async function useBackend(name: 'cpu' | 'onnxruntime'): Promise<void> {
  if (name === 'onnxruntime') registerOnnxBackend();
  await tf.setBackend(name);
}

for (const backend of ['cpu', 'onnxruntime'] as const) {
  for (const [name, config] of CASES) {
    test(`${backend}: gpt_neox logits match the float64 reference to 1e-4 relative: ${name}`, async () => {
      await useBackend(backend);
      const W = randomHfWeights(config, 7);
      const model = modelOf(config, W);
      const { err, scale } = maxRelErr(model, referenceLogits(model.config, W, IDS, POS, MASK));
      assert.ok(scale > 0.5, `logits too small to be a meaningful comparison (${scale})`);
      assert.ok(err < 1e-4, `max |orz - reference| / max |reference| = ${err}`);
      model.dispose();
    });
  }

  test(`${backend}: gpt_neox greedy decoding with the KV cache equals recomputing the whole sequence`, async () => {
    await useBackend(backend);
    const config = CASES[0]![1];
    const model = modelOf(config, randomHfWeights(config, 3));
    const prompts = [[4, 9, 33, 2], [17, 5]];
    const P = 4, steps = 6;
    const rows = prompts.map((p) => ({ ids: [...Array(P - p.length).fill(0), ...p], mask: [...Array(P - p.length).fill(0), ...p.map(() => 1)] }));
    const positionsOf = (mask: number[]) => { let seen = 0; return mask.map((m) => (m ? seen++ : 0)); };
    const argmaxLast = (logits: tf.Tensor) => tf.tidy(() => Array.from(tf.argMax(logits, -1).dataSync()));
    // cached
    const cache = model.newCache(rows.length, P + steps);
    const cached: number[][] = rows.map(() => []);
    let next = tf.tidy(() => {
      const h = model.hidden(tf.tensor2d(rows.map((r) => r.ids), undefined, 'int32'), {
        positions: tf.tensor2d(rows.map((r) => positionsOf(r.mask)), undefined, 'int32'), keyMask: tf.tensor2d(rows.map((r) => r.mask)), cache,
      });
      return argmaxLast(model.logits(tf.slice(h, [0, P - 1, 0], [rows.length, 1, -1])));
    });
    const mask = rows.map((r) => [...r.mask]);
    for (let s = 0; s < steps; s++) {
      next.forEach((t, i) => { cached[i]!.push(t); mask[i]!.push(1); });
      if (s === steps - 1) break;
      const pos = mask.map((m) => [m.reduce((a, v) => a + v, 0) - 1]);
      next = tf.tidy(() => argmaxLast(model.logits(model.hidden(tf.tensor2d(next.map((t) => [t]), undefined, 'int32'), {
        positions: tf.tensor2d(pos, undefined, 'int32'), keyMask: tf.tensor2d(mask), cache,
      }))).slice(0, rows.length));
    }
    // recomputed: the whole sequence each step, no cache
    const seqs = rows.map((r) => ({ ids: [...r.ids], mask: [...r.mask] }));
    for (let s = 0; s < steps; s++) {
      const L = seqs[0]!.ids.length;
      const tokens = tf.tidy(() => {
        const h = model.hidden(tf.tensor2d(seqs.map((r) => r.ids), undefined, 'int32'), {
          positions: tf.tensor2d(seqs.map((r) => positionsOf(r.mask)), undefined, 'int32'), keyMask: tf.tensor2d(seqs.map((r) => r.mask)),
        });
        return argmaxLast(model.logits(tf.slice(h, [0, L - 1, 0], [seqs.length, 1, -1])));
      });
      tokens.forEach((t, i) => { seqs[i]!.ids.push(t); seqs[i]!.mask.push(1); });
    }
    assert.deepEqual(cached, seqs.map((r) => r.ids.slice(P)));
    assert.ok(new Set(cached.flat()).size > 1, 'decoding produced a single repeated token: not a meaningful check');
    model.dispose();
  });
}

test('the q/k/v split kept between gradient-free forwards follows an update of query_key_value', async () => {
  await tf.setBackend('cpu');
  const config = CASES[0]![1];
  const W = randomHfWeights(config, 5);
  const model = modelOf(config, W);
  const logitsOf = (m: TransformerLM) => tf.tidy(() => Array.from(m.logits(m.hidden(tf.tensor2d(IDS, undefined, 'int32'))).dataSync()));
  const before = logitsOf(model);
  assert.deepEqual(logitsOf(model), before); // second forward: from the kept split
  const name = 'gpt_neox.layers.1.attention.query_key_value.weight';
  const changed = Float64Array.from(W.get(name)!, (v, i) => (i % 7 === 0 ? -v : v));
  model.weights.get(name)!.assign(tf.tensor(Float32Array.from(changed), model.weights.get(name)!.shape));
  const fresh = modelOf(config, new Map([...W, [name, changed]]));
  const after = logitsOf(model);
  assert.notDeepEqual(after, before);
  assert.deepEqual(after, logitsOf(fresh));
  model.dispose();
  fresh.dispose();
});

const FIXTURES = fileURLToPath(new URL('./fixtures/gpt-neox/', import.meta.url));
for (const backend of ['cpu', 'onnxruntime'] as const) {
  for (const fixture of ['parallel-rotary-0.25', 'sequential-rotary-1.0']) {
    test(`${backend}: the PyTorch reference's checkpoint ${fixture} loads and its logits match to 1e-4 relative`, async () => {
      await useBackend(backend);
      const dir = join(FIXTURES, fixture);
      const ref = JSON.parse(await readFile(join(dir, 'reference.json'), 'utf8')) as { ids: number[][]; positions: number[][]; key_mask: number[][]; logits: number[][][] };
      const model = await loadModel(dir);
      const got = tf.tidy(() => model.logits(model.hidden(tf.tensor2d(ref.ids, undefined, 'int32'), {
        positions: tf.tensor2d(ref.positions, undefined, 'int32'), keyMask: tf.tensor2d(ref.key_mask),
      })).arraySync() as number[][][]);
      let scale = 0, err = 0;
      ref.ids.forEach((row, b) => row.forEach((_, t) => {
        if (!ref.key_mask[b]![t]) return;
        ref.logits[b]![t]!.forEach((want, v) => {
          scale = Math.max(scale, Math.abs(want));
          err = Math.max(err, Math.abs(want - got[b]![t]![v]!));
        });
      }));
      assert.ok(scale > 0.5, `reference logits too small (${scale})`);
      assert.ok(err / scale < 1e-4, `max |orz - torch| / max |torch| = ${err / scale}`);
      model.dispose();
    });
  }
}

test('a tiny gpt_neox checkpoint in exact HF layout (pythia config.json, F32 safetensors, interleaved qkv, mask buffers) loads', async () => {
  await tf.setBackend('cpu');
  const dir = await mkdtemp(join(tmpdir(), 'orz-neox-'));
  try {
    // the fields of pythia-14m's config.json, at a tiny size
    const hfConfig = {
      architectures: ['GPTNeoXForCausalLM'], attention_dropout: 0, bos_token_id: 0, classifier_dropout: 0.1, eos_token_id: 0,
      hidden_act: 'gelu' as const, hidden_dropout: 0, hidden_size: 32, initializer_range: 0.02, intermediate_size: 64,
      layer_norm_eps: 1e-5, max_position_embeddings: 64, model_type: 'gpt_neox', num_attention_heads: 4,
      num_hidden_layers: 2, rotary_emb_base: 10000, rotary_pct: 0.25, tie_word_embeddings: false, torch_dtype: 'float32',
      transformers_version: '4.29.2', use_cache: true, use_parallel_residual: true, vocab_size: 50,
    };
    const W = randomHfWeights(hfConfig, 11);
    const tensors = new Map<string, TensorToWrite>();
    const shapes = TransformerLM.init(hfConfig, 0);
    for (const [n, data] of W) tensors.set(n, { dtype: 'F32', shape: shapes.weights.get(n)!.shape, data: Float32Array.from(data) });
    shapes.dispose();
    for (let l = 0; l < 2; l++) { // buffers older transformers saved with the weights
      tensors.set(`gpt_neox.layers.${l}.attention.bias`, { dtype: 'BOOL', shape: [1, 1, 64, 64], data: new Uint8Array(64 * 64).fill(1) });
      tensors.set(`gpt_neox.layers.${l}.attention.masked_bias`, { dtype: 'F32', shape: [], data: [-1e9] });
      tensors.set(`gpt_neox.layers.${l}.attention.rotary_emb.inv_freq`, { dtype: 'F32', shape: [4], data: [1, 0.1, 0.01, 0.001] });
    }
    await writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
    await writeFile(join(dir, 'config.json'), JSON.stringify(hfConfig));
    const model = await loadModel(dir);
    assert.equal(model.config.model_type, 'gpt_neox');
    assert.equal(model.architecture.rotaryDims, 2); // head_dim 8 x 0.25
    assert.equal(model.weights.size, W.size);
    const { err } = maxRelErr(model, referenceLogits(model.config, W, IDS, POS, MASK));
    assert.ok(err < 1e-4, `loaded checkpoint: relative error ${err}`);
    model.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('gpt_neox config checks name the field', () => {
  const c = parseModelConfig({ ...BASE, rotary_pct: undefined, use_parallel_residual: undefined, hidden_act: undefined });
  assert.equal(c.rotary_pct, 0.25);
  assert.equal(c.use_parallel_residual, true);
  assert.equal(c.hidden_act, 'gelu');
  assert.equal(c.attention_bias, true);
  assert.throws(() => parseModelConfig({ ...BASE, rotary_pct: 0.1 }, 'p/config.json'), /p\/config\.json: rotary_pct must give an even number/);
  assert.throws(() => parseModelConfig({ ...BASE, num_key_value_heads: 2 }, 'p/config.json'), /num_key_value_heads must equal num_attention_heads/);
  assert.throws(() => parseModelConfig({ ...BASE, hidden_act: 'gelu_new' }, 'p/config.json'), /hidden_act/);
});
