// The tfjs model against an independent reference written with plain loops in float64, straight
// from the Llama/Qwen2 definitions (RoPE as pairs (x_i, x_{i+d/2}) rotated by p * theta^(-2i/d)).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../sdk/engine/tf.ts';
import { Rng } from '../sdk/engine/rng.ts';
import { TransformerLM, parseModelConfig, type ModelConfig } from '../sdk/model/index.ts';
import { Rope } from '../sdk/model/rope.ts';

type Weights = Map<string, Float64Array>;
type Cfg = ReturnType<typeof parseModelConfig>;

function randomWeights(model: TransformerLM, seed: number, std: number): Map<string, tf.Tensor> {
  const rng = new Rng(seed);
  const out = new Map<string, tf.Tensor>();
  for (const [name, v] of model.weights) {
    const isNorm = name.endsWith('norm.weight');
    const data = Float32Array.from({ length: v.size }, () => (isNorm ? 1 + (rng.next() - 0.5) : (rng.next() * 2 - 1) * std * Math.sqrt(3)));
    out.set(name, tf.tensor(data, v.shape));
  }
  return out;
}

// ---- reference -------------------------------------------------------------------------------

const matvec = (W: Float64Array, x: number[], outDim: number, bias?: Float64Array) =>
  Array.from({ length: outDim }, (_, o) => {
    let s = bias ? bias[o]! : 0;
    for (let i = 0; i < x.length; i++) s += W[o * x.length + i]! * x[i]!;
    return s;
  });

const rmsnorm = (x: number[], w: Float64Array, eps: number) => {
  const ms = x.reduce((a, v) => a + v * v, 0) / x.length;
  return x.map((v, i) => (v / Math.sqrt(ms + eps)) * w[i]!);
};

function ropeRef(x: number[], pos: number, theta: number): number[] {
  const d = x.length, half = d / 2, out = x.slice();
  for (let i = 0; i < half; i++) {
    const a = pos * theta ** (-(2 * i) / d);
    out[i] = x[i]! * Math.cos(a) - x[i + half]! * Math.sin(a);
    out[i + half] = x[i + half]! * Math.cos(a) + x[i]! * Math.sin(a);
  }
  return out;
}

// erf by its Maclaurin series (converges fast for the |x| < 4 seen here)
function erf(x: number): number {
  let term = x, sum = x;
  for (let n = 1; n < 80; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/** Logits [B][T][V] for one full sequence per row; query t sees keys s <= t with mask[b][s] = 1. */
function referenceLogits(c: Cfg, W: Weights, ids: number[][], pos: number[][], mask: number[][]): number[][][] {
  const H = c.hidden_size, d = c.head_dim, nh = c.num_attention_heads, nkv = c.num_key_value_heads, F = c.intermediate_size;
  const w = (n: string) => W.get(n)!;
  return ids.map((row, b) => {
    const T = row.length;
    let x = row.map((id) => Array.from(w('model.embed_tokens.weight').subarray(id * H, (id + 1) * H)));
    for (let l = 0; l < c.num_hidden_layers; l++) {
      const p = `model.layers.${l}`;
      const h = x.map((v) => rmsnorm(v, w(`${p}.input_layernorm.weight`), c.rms_norm_eps!));
      const q = h.map((v) => matvec(w(`${p}.self_attn.q_proj.weight`), v, nh * d, W.get(`${p}.self_attn.q_proj.bias`)));
      const k = h.map((v) => matvec(w(`${p}.self_attn.k_proj.weight`), v, nkv * d, W.get(`${p}.self_attn.k_proj.bias`)));
      const v = h.map((v) => matvec(w(`${p}.self_attn.v_proj.weight`), v, nkv * d, W.get(`${p}.self_attn.v_proj.bias`)));
      const attnOut = Array.from({ length: T }, (_, t) => {
        const out: number[] = [];
        for (let hd = 0; hd < nh; hd++) {
          const kvh = Math.floor(hd / (nh / nkv));
          const qh = ropeRef(q[t]!.slice(hd * d, (hd + 1) * d), pos[b]![t]!, c.rope_theta);
          const scores: number[] = [], keys: number[] = [];
          for (let s = 0; s <= t; s++) {
            if (!mask[b]![s]) continue;
            const kh = ropeRef(k[s]!.slice(kvh * d, (kvh + 1) * d), pos[b]![s]!, c.rope_theta);
            scores.push(qh.reduce((a, qi, i) => a + qi * kh[i]!, 0) / Math.sqrt(d));
            keys.push(s);
          }
          const m = Math.max(...scores);
          const e = scores.map((s) => Math.exp(s - m));
          const z = e.reduce((a, b) => a + b, 0);
          for (let i = 0; i < d; i++) out.push(keys.reduce((a, s, j) => a + (e[j]! / z) * v[s]![kvh * d + i]!, 0));
        }
        return matvec(w(`${p}.self_attn.o_proj.weight`), out, H, W.get(`${p}.self_attn.o_proj.bias`));
      });
      x = x.map((xi, t) => xi.map((val, i) => val + attnOut[t]![i]!));
      const h2 = x.map((xi) => rmsnorm(xi, w(`${p}.post_attention_layernorm.weight`), c.rms_norm_eps!));
      const act = c.hidden_act === 'silu' ? (z: number) => z / (1 + Math.exp(-z)) : (z: number) => 0.5 * z * (1 + erf(z / Math.SQRT2));
      const gate = W.get(`${p}.mlp.gate_proj.weight`);
      const mlp = h2.map((hv) => {
        const up = matvec(w(`${p}.mlp.up_proj.weight`), hv, F);
        const hidden = gate ? matvec(gate, hv, F).map((g, i) => act(g) * up[i]!) : up.map(act);
        return matvec(w(`${p}.mlp.down_proj.weight`), hidden, H);
      });
      x = x.map((xi, t) => xi.map((val, i) => val + mlp[t]![i]!));
    }
    const head = c.tie_word_embeddings ? w('model.embed_tokens.weight') : w('lm_head.weight');
    return x.map((xi) => matvec(head, rmsnorm(xi, w('model.norm.weight'), c.rms_norm_eps!), c.vocab_size));
  });
}

// ---- tests -----------------------------------------------------------------------------------

const CASES: [string, ModelConfig][] = [
  ['llama-style MHA, SwiGLU, tied', {
    model_type: 'orz', vocab_size: 40, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 4,
    max_position_embeddings: 32, tie_word_embeddings: true, hidden_act: 'silu', rms_norm_eps: 1e-5,
  }],
  ['qwen2-style GQA, q/k/v biases, untied, head_dim != hidden/heads', {
    model_type: 'qwen2', vocab_size: 40, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 4,
    num_key_value_heads: 2, head_dim: 6, max_position_embeddings: 32, rope_theta: 100, tie_word_embeddings: false,
  }],
  ['llama with attention_bias (o_proj bias too), GELU-gated MLP, one KV head', {
    model_type: 'llama', vocab_size: 40, hidden_size: 12, intermediate_size: 20, num_hidden_layers: 1, num_attention_heads: 2,
    num_key_value_heads: 1, max_position_embeddings: 32, rope_theta: 500, attention_bias: true, hidden_act: 'gelu',
  }],
  ['orz with the plain GELU MLP (no gate)', {
    model_type: 'orz', vocab_size: 40, hidden_size: 12, intermediate_size: 20, num_hidden_layers: 2, num_attention_heads: 3,
    max_position_embeddings: 32, tie_word_embeddings: true, hidden_act: 'gelu',
  }],
];

test('the MLP is gated for llama/qwen2 whatever hidden_act is, and plain only for orz + gelu', () => {
  const has = (c: ModelConfig) => {
    const m = TransformerLM.init(c, 0);
    const gated = m.weights.has('model.layers.0.mlp.gate_proj.weight');
    m.dispose();
    return gated;
  };
  assert.equal(has(CASES[2]![1]), true);
  assert.equal(has(CASES[3]![1]), false);
  assert.equal(has({ ...CASES[3]![1], hidden_act: 'silu' }), true);
});

for (const [name, config] of CASES) {
  test(`forward matches the plain-loop reference: ${name}`, () => {
    const init = TransformerLM.init(config, 1);
    const weights = randomWeights(init, 7, 0.35); // large enough that attention is far from uniform
    const model = TransformerLM.fromWeights(config, weights);
    init.dispose();
    const W: Weights = new Map([...weights].map(([n, t]) => [n, Float64Array.from(t.dataSync())]));
    tf.dispose([...weights.values()]);

    // row 0: 7 real tokens at positions 3..9 (an offset start); row 1: 3 pads then 4 real tokens
    const ids = [[5, 17, 2, 39, 11, 0, 23], [1, 1, 1, 8, 30, 14, 6]];
    const mask = [[1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1, 1]];
    const pos = [[3, 4, 5, 6, 7, 8, 9], [0, 0, 0, 0, 1, 2, 3]];
    const ref = referenceLogits(model.config, W, ids, pos, mask);
    const got = tf.tidy(() => model.logits(model.hidden(tf.tensor2d(ids, undefined, 'int32'), {
      positions: tf.tensor2d(pos, undefined, 'int32'), keyMask: tf.tensor2d(mask),
    })).arraySync() as number[][][]);
    let maxRef = 0, maxErr = 0;
    for (let b = 0; b < 2; b++) {
      for (let t = 0; t < 7; t++) {
        if (!mask[b]![t]) continue; // padding queries see nothing real; their outputs are unused
        for (let v = 0; v < model.config.vocab_size; v++) {
          maxRef = Math.max(maxRef, Math.abs(ref[b]![t]![v]!));
          maxErr = Math.max(maxErr, Math.abs(ref[b]![t]![v]! - got[b]![t]![v]!));
        }
      }
    }
    assert.ok(maxRef > 0.5, `logits too small to be a meaningful comparison (${maxRef})`);
    assert.ok(maxErr < 1e-4 * (1 + maxRef), `max |tfjs - reference| = ${maxErr} (logits up to ${maxRef})`);
    model.dispose();
  });
}

test('RoPE by hand: d=4, theta=100, position 3', () => {
  const rope = new Rope(4, 8, 100);
  // inv_freq = [1, 100^(-1/2)] = [1, 0.1]: pairs (x0, x2) turn by 3 rad, (x1, x3) by 0.3 rad
  const x = [1, 2, 3, 4];
  const c3 = Math.cos(3), s3 = Math.sin(3), c03 = Math.cos(0.3), s03 = Math.sin(0.3);
  const expected = [1 * c3 - 3 * s3, 2 * c03 - 4 * s03, 3 * c3 + 1 * s3, 4 * c03 + 2 * s03];
  const got = tf.tidy(() => {
    const a = rope.angles(Int32Array.of(3));
    return Array.from(rope.apply(tf.tensor2d([x]), a).dataSync());
  });
  got.forEach((g, i) => assert.ok(Math.abs(g - expected[i]!) < 1e-6, `component ${i}: ${g} vs ${expected[i]}`));
  // a rotation keeps the norm
  assert.ok(Math.abs(Math.hypot(...got) - Math.hypot(...x)) < 1e-5);
  rope.dispose();
});

test('parseModelConfig fills HF defaults and names bad fields', () => {
  const c = parseModelConfig({ model_type: 'qwen2', vocab_size: 10, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 16 });
  assert.equal(c.num_key_value_heads, 2);
  assert.equal(c.head_dim, 4);
  assert.equal(c.attention_bias, true); // qwen2 always has q/k/v biases
  assert.equal(c.tie_word_embeddings, false);
  assert.equal(c.hidden_act, 'silu');
  assert.equal(c.rope_theta, 10000);
  const base = { model_type: 'llama', vocab_size: 10, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 16 };
  assert.equal(parseModelConfig(base).attention_bias, false);
  assert.throws(() => parseModelConfig({ ...base, num_key_value_heads: 3 }, 'x/config.json'), /x\/config\.json: num_key_value_heads must divide/);
  assert.throws(() => parseModelConfig({ ...base, hidden_size: -1 }, 'cfg'), /cfg: hidden_size must be an integer/);
  assert.throws(() => parseModelConfig({ ...base, model_type: 'gpt2' }, 'cfg'), /cfg: model_type must be one of/);
  assert.throws(() => parseModelConfig({ ...base, hidden_act: 'relu' }, 'cfg'), /cfg: hidden_act/);
  assert.throws(() => parseModelConfig({ ...base, rope_scaling: { type: 'llama3' } }, 'cfg'), /cfg: rope_scaling is not supported/);
  const { vocab_size: _, ...noVocab } = base;
  assert.throws(() => parseModelConfig(noVocab, 'cfg'), /cfg: vocab_size is required/);
});
