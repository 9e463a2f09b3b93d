// Checkpoint directories: saveModel -> loadModel round trips, a hand-made sharded HF checkpoint
// with BF16/F16 shards, weight-name/shape checks, clone, init.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '../sdk/engine/tf.ts';
import { TransformerLM, loadModel, saveModel, type ModelConfig } from '../sdk/model/index.ts';

const TINY: ModelConfig = {
  model_type: 'orz', vocab_size: 300, hidden_size: 64, intermediate_size: 192, num_hidden_layers: 2,
  num_attention_heads: 4, max_position_embeddings: 256, hidden_act: 'silu', tie_word_embeddings: true,
};

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'orz-ckpt-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const IDS = [[3, 99, 250, 7, 7, 1], [0, 42, 299, 13, 5, 8]];
function logitsOf(model: TransformerLM): Float32Array {
  return tf.tidy(() => model.logits(model.hidden(tf.tensor2d(IDS, undefined, 'int32'))).dataSync() as Float32Array);
}

for (const tied of [true, false]) {
  test(`saveModel -> loadModel gives identical logits (${tied ? 'tied' : 'untied'} head)`, async () => {
    await withDir(async (dir) => {
      const model = TransformerLM.init({ ...TINY, tie_word_embeddings: tied, num_key_value_heads: 2 }, 5);
      await saveModel(model, dir);
      assert.deepEqual((await readdir(dir)).sort(), ['config.json', 'model.safetensors']);
      const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
      assert.equal(config.tie_word_embeddings, tied);
      assert.equal(config.num_key_value_heads, 2);
      assert.equal(config.torch_dtype, 'float32');
      const loaded = await loadModel(dir);
      assert.equal(loaded.weights.has('lm_head.weight'), !tied);
      assert.deepEqual([...loaded.weights.keys()], [...model.weights.keys()]);
      assert.deepEqual(logitsOf(loaded), logitsOf(model));
      model.dispose();
      loaded.dispose();
    });
  });
}

/** float32 -> bfloat16 bits by truncation, and the float32 value those bits stand for. */
function toBf16(x: Float32Array): { bits: Buffer; value: Float32Array } {
  const u32 = new Uint32Array(x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength));
  const bits = Buffer.alloc(x.length * 2);
  const value = new Float32Array(x.length);
  const v32 = new Uint32Array(value.buffer);
  u32.forEach((u, i) => {
    bits.writeUInt16LE(u >>> 16, i * 2);
    v32[i] = (u >>> 16) << 16;
  });
  return { bits, value };
}

function rawSafetensors(entries: { name: string; dtype: string; shape: number[]; bytes: Buffer }[]): Buffer {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let off = 0;
  for (const e of entries) {
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [off, off + e.bytes.length] };
    off += e.bytes.length;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, ...entries.map((e) => e.bytes)]);
}

test('loads a sharded Hugging Face checkpoint (index.json, BF16 shards, an inv_freq buffer, extra config fields)', async () => {
  await withDir(async (dir) => {
    const config = {
      architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', vocab_size: 300, hidden_size: 64, intermediate_size: 192,
      num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 256, rope_theta: 1000000,
      rms_norm_eps: 1e-6, tie_word_embeddings: true, hidden_act: 'silu', torch_dtype: 'bfloat16', use_cache: true,
      transformers_version: '4.40.0', sliding_window: 4096, use_sliding_window: false, bos_token_id: 1, eos_token_id: [2, 3],
    };
    const source = TransformerLM.init(config as ModelConfig, 8);
    // what a BF16 checkpoint of these weights holds, as float32
    const expected = new Map<string, tf.Tensor>();
    const shards: { name: string; dtype: string; shape: number[]; bytes: Buffer }[][] = [[], []];
    const weightMap: Record<string, string> = {};
    [...source.weights].forEach(([name, v], i) => {
      const { bits, value } = toBf16(v.dataSync() as Float32Array);
      expected.set(name, tf.tensor(value, v.shape));
      const shard = name.startsWith('model.layers.1.') ? 1 : 0;
      shards[shard]!.push({ name, dtype: 'BF16', shape: v.shape, bytes: bits });
      weightMap[name] = `model-0000${shard + 1}-of-00002.safetensors`;
      if (i === 3) { // old checkpoints carry this buffer; it must be ignored
        const inv = `model.layers.0.self_attn.rotary_emb.inv_freq`;
        shards[0]!.push({ name: inv, dtype: 'F32', shape: [8], bytes: Buffer.alloc(32) });
        weightMap[inv] = 'model-00001-of-00002.safetensors';
      }
    });
    await writeFile(join(dir, 'config.json'), JSON.stringify(config));
    await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
    await writeFile(join(dir, 'model-00001-of-00002.safetensors'), rawSafetensors(shards[0]!));
    await writeFile(join(dir, 'model-00002-of-00002.safetensors'), rawSafetensors(shards[1]!));

    const loaded = await loadModel(dir);
    assert.equal(loaded.config.rope_theta, 1000000);
    assert.deepEqual(loaded.config.eos_token_id, [2, 3]);
    assert.equal(loaded.weights.get('model.layers.0.self_attn.q_proj.bias')!.shape[0], 64); // qwen2 biases
    const reference = TransformerLM.fromWeights(config as ModelConfig, expected);
    assert.deepEqual(logitsOf(loaded), logitsOf(reference));
    // and the bf16 rounding really happened (so the comparison above is not vacuous)
    const w0 = source.weights.get('model.embed_tokens.weight')!.dataSync();
    const w1 = loaded.weights.get('model.embed_tokens.weight')!.dataSync();
    assert.ok(w0.some((x, i) => x !== w1[i]));
    tf.dispose([...expected.values()]);
    source.dispose();
    loaded.dispose();
    reference.dispose();

    // a tensor listed in the index but absent from its shard
    const broken = { ...weightMap, 'model.norm.weight': 'model-00002-of-00002.safetensors' };
    await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: broken }));
    await assert.rejects(loadModel(dir), /model-00001-of-00002\.safetensors: tensor model\.norm\.weight is not listed for this shard|model\.norm\.weight is listed in model-00002/);
    await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { ...weightMap, x: '../evil.safetensors' } }));
    await assert.rejects(loadModel(dir), /weight_map\.x is not a file in/);
  });
});

test('fromWeights checks names and shapes against the config', () => {
  const model = TransformerLM.init(TINY, 1);
  const weights = new Map<string, tf.Tensor>(model.weights);
  const without = new Map(weights);
  without.delete('model.layers.1.mlp.up_proj.weight');
  assert.throws(() => TransformerLM.fromWeights(TINY, without, 'ckpt'), /ckpt: missing weight model\.layers\.1\.mlp\.up_proj\.weight/);
  const wrong = new Map(weights);
  const bad = tf.zeros([64, 63]);
  wrong.set('model.layers.0.self_attn.o_proj.weight', bad);
  assert.throws(() => TransformerLM.fromWeights(TINY, wrong, 'ckpt'), /ckpt: model\.layers\.0\.self_attn\.o_proj\.weight has shape \[64,63\], expected \[64,64\]/);
  const extra = new Map(weights);
  const stray = tf.zeros([2]);
  extra.set('model.layers.0.mlp.extra.weight', stray);
  assert.throws(() => TransformerLM.fromWeights(TINY, extra, 'ckpt'), /ckpt: unexpected weights for a orz config: model\.layers\.0\.mlp\.extra\.weight/);
  tf.dispose([bad, stray]);
  model.dispose();
});

test('numParameters counts every weight; clone is independent; init is seeded and scaled', () => {
  const model = TransformerLM.init(TINY, 1);
  const [V, H, F, L] = [300, 64, 192, 2];
  // embedding + per layer (q,k,v,o + gate,up,down + two norms) + final norm; tied head
  assert.equal(model.numParameters(), V * H + L * (4 * H * H + 3 * H * F + 2 * H) + H);

  const copy = model.clone();
  const before = logitsOf(copy);
  const w = model.weights.get('model.layers.0.mlp.up_proj.weight')!;
  w.assign(tf.tidy(() => tf.mul(w, 3)));
  assert.deepEqual(logitsOf(copy), before, 'the clone did not move with the original');
  assert.notDeepEqual(logitsOf(model), before);

  const again = TransformerLM.init(TINY, 1), other = TransformerLM.init(TINY, 2);
  const e = (m: TransformerLM) => m.weights.get('model.embed_tokens.weight')!.dataSync();
  assert.deepEqual(e(again), e(copy));
  assert.notDeepEqual(e(other), e(copy));
  const std = (x: ArrayLike<number>) => Math.sqrt(Array.from(x).reduce((a, v) => a + v * v, 0) / x.length);
  assert.ok(Math.abs(std(e(again)) - 0.02) < 0.001, 'embedding std 0.02');
  const down = again.weights.get('model.layers.1.mlp.down_proj.weight')!.dataSync();
  assert.ok(Math.abs(std(down) - 0.02 / Math.sqrt(2 * L)) < 0.001, 'residual projections scaled by 1/sqrt(2L)');
  assert.deepEqual(Array.from(again.weights.get('model.norm.weight')!.dataSync()), Array(H).fill(1));
  for (const m of [model, copy, again, other]) m.dispose();
});
