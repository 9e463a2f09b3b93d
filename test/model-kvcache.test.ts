// Decoding with the KV cache must give the logits of a full recompute over the whole sequence:
// left-padded prompts of different lengths, positions = cumsum(mask) - 1, rows dropped midway.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../sdk/engine/tf.ts';
import { Rng } from '../sdk/engine/rng.ts';
import { KVCache, TransformerLM, type ModelConfig } from '../sdk/model/index.ts';
import { sharpModel } from './support/sharp-model.ts';

const TINY: ModelConfig = {
  model_type: 'orz', vocab_size: 300, hidden_size: 64, intermediate_size: 192, num_hidden_layers: 2,
  num_attention_heads: 4, max_position_embeddings: 256, hidden_act: 'silu', tie_word_embeddings: true,
};
const VARIANTS: [string, ModelConfig][] = [['MHA', TINY], ['GQA (2 kv heads)', { ...TINY, num_key_value_heads: 2 }]];

interface Row { ids: number[]; mask: number[] }

/** Logits [rows, V] of each row's last column, by a full forward over the whole sequences (no cache). */
function fullLastLogits(model: TransformerLM, rows: Row[]): Float32Array {
  const B = rows.length, L = rows[0]!.ids.length;
  return tf.tidy(() => {
    const positions = rows.map((r) => {
      let seen = 0;
      return r.mask.map((m) => (m ? seen++ : 0)); // cumsum(mask) - 1, pads at 0
    });
    const h = model.hidden(tf.tensor2d(rows.map((r) => r.ids), [B, L], 'int32'), {
      positions: tf.tensor2d(positions, [B, L], 'int32'), keyMask: tf.tensor2d(rows.map((r) => r.mask), [B, L]),
    });
    return model.logits(tf.slice(h, [0, L - 1, 0], [B, 1, -1]).reshape([B, -1]) as tf.Tensor2D).dataSync() as Float32Array;
  });
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

for (const [variant, config] of VARIANTS) {
  test(`${variant}: prefill + decode with cache equals full recompute (left padding, a row dropped midway)`, () => {
    const model = sharpModel(config, 3);
    const before = tf.memory().numTensors;
    const rng = new Rng(9);
    const prompts = [6, 3, 1, 4].map((n) => Array.from({ length: n }, () => rng.int(2, 299)));
    const P = 6, PAD = 0;
    let rows: Row[] = prompts.map((p) => ({
      ids: [...Array(P - p.length).fill(PAD), ...p],
      mask: [...Array(P - p.length).fill(0), ...p.map(() => 1)],
    }));
    let nextPos = prompts.map((p) => p.length);
    const cache = model.newCache(rows.length);
    let keyMask = tf.tensor2d(rows.map((r) => r.mask));
    let logits = tf.tidy(() => {
      const positions = rows.map((r) => r.mask.map((m, j) => (m ? j - (P - r.mask.filter(Boolean).length) : 0)));
      const h = model.hidden(tf.tensor2d(rows.map((r) => r.ids), undefined, 'int32'), { positions: tf.tensor2d(positions, undefined, 'int32'), keyMask, cache });
      return model.logits(tf.slice(h, [0, P - 1, 0], [rows.length, 1, -1]).reshape([rows.length, -1]) as tf.Tensor2D).dataSync() as Float32Array;
    });
    assert.ok(maxAbsDiff(logits, fullLastLogits(model, rows)) < 1e-4, 'prefill');
    assert.equal(cache.length, P);

    let worst = 0, spread = 0;
    for (let step = 0; step < 5; step++) {
      if (step === 2) { // drop row 1 (finished), keep the others in order
        const keep = [0, 2, 3];
        cache.select(keep);
        rows = keep.map((r) => rows[r]!);
        nextPos = keep.map((r) => nextPos[r]!);
        const km = tf.gather(keyMask, keep);
        keyMask.dispose();
        keyMask = km as tf.Tensor2D;
        assert.equal(cache.batch, 3);
      }
      const tokens = rows.map(() => rng.int(2, 299));
      rows = rows.map((r, i) => ({ ids: [...r.ids, tokens[i]!], mask: [...r.mask, 1] }));
      const km = tf.tidy(() => tf.concat([keyMask, tf.ones([rows.length, 1])], 1) as tf.Tensor2D);
      keyMask.dispose();
      keyMask = km;
      const positions = nextPos.map((p) => [p]);
      nextPos = nextPos.map((p) => p + 1);
      logits = tf.tidy(() => {
        const h = model.hidden(tf.tensor2d(tokens.map((t) => [t]), undefined, 'int32'), { positions: tf.tensor2d(positions, undefined, 'int32'), keyMask, cache });
        return model.logits(h.reshape([rows.length, -1]) as tf.Tensor2D).dataSync() as Float32Array;
      });
      const full = fullLastLogits(model, rows);
      worst = Math.max(worst, maxAbsDiff(logits, full));
      spread = Math.max(spread, ...Array.from(full, Math.abs));
    }
    assert.equal(cache.length, P + 5);
    assert.ok(spread > 0.5, `logits too flat for a meaningful check (${spread})`);
    assert.ok(worst < 1e-4, `cache vs full recompute differ by ${worst}`);
    cache.dispose();
    keyMask.dispose();
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
    model.dispose();
  });
}

test('a multi-token block on top of a cache (default positions) matches the full forward at every new position', () => {
  const model = sharpModel({ ...TINY, num_key_value_heads: 2 }, 5);
  const rng = new Rng(4);
  const seq = [Array.from({ length: 9 }, () => rng.int(0, 299)), Array.from({ length: 9 }, () => rng.int(0, 299))];
  const full = tf.tidy(() => model.logits(model.hidden(tf.tensor2d(seq, undefined, 'int32'))).arraySync() as number[][][]);
  const cache = model.newCache(2);
  const chunks = [[0, 4], [4, 7], [7, 9]]; // prefill 4, a block of 3, a block of 2
  let worst = 0;
  for (const [a, b] of chunks) {
    const got = tf.tidy(() => model.logits(model.hidden(tf.tensor2d(seq.map((r) => r.slice(a, b)), undefined, 'int32'), { cache })).arraySync() as number[][][]);
    for (let r = 0; r < 2; r++) for (let t = a; t < b; t++) worst = Math.max(worst, maxAbsDiff(got[r]![t - a]!, full[r]![t]!));
  }
  assert.ok(worst < 1e-4, `chunked vs full differ by ${worst}`);
  cache.dispose();
  model.dispose();
});

test('bad inputs are refused with the argument named', () => {
  const model = TransformerLM.init(TINY, 1);
  const ids = tf.tensor2d([[1, 2, 3]], undefined, 'int32');
  assert.throws(() => model.hidden(ids, { keyMask: tf.ones([1, 2]) }), /keyMask has shape \[1,2\], expected \[1, 3\]/);
  assert.throws(() => model.hidden(ids, { positions: tf.tensor2d([[0, 1, 256]], undefined, 'int32') }), /positions has 256 at flat index 2/);
  assert.throws(() => model.hidden(tf.tensor2d([[1, 300]], undefined, 'int32')), /ids has 300 at flat index 1, outside \[0, vocab_size=300\)/);
  const cache = model.newCache(2);
  assert.throws(() => model.hidden(ids, { cache }), /ids has 1 rows but the cache has 2/);
  assert.throws(() => cache.select([0, 2]), /rows\[1\] = 2 is not a row of this cache/);
  assert.throws(() => model.logits(tf.zeros([2, 5]) as tf.Tensor2D), /last axis is 5, expected hidden_size=64/);
  cache.dispose();
  model.dispose();
});

test('shiftTime moves every row\'s steps along the time axis; copyRowFrom puts a row at the end', () => {
  // 1 layer, 1 head, headDim 1, 2 rows; key = 10 * row + step + 1, value = -key
  const c = new KVCache(1, 1, 1, 2, 4);
  c.write(0, Float32Array.from([1, 2, 3, 11, 12, 13]), Float32Array.from([-1, -2, -3, -11, -12, -13]), 3);
  c.advance(3);
  const filled = (k: KVCache) => {
    const { keys, values } = k.view(0);
    const [kd, vd] = [keys.dataSync(), values.dataSync()];
    keys.dispose(); values.dispose();
    return [0, 1].slice(0, k.batch).map((r) => Array.from(kd.slice(r * k.capacity, r * k.capacity + k.length)).concat(Array.from(vd.slice(r * k.capacity, r * k.capacity + k.length))));
  };
  c.shiftTime(2);
  assert.equal(c.length, 5);
  assert.deepEqual(filled(c), [[0, 0, 1, 2, 3, 0, 0, -1, -2, -3], [0, 0, 11, 12, 13, 0, 0, -11, -12, -13]]);
  c.shiftTime(-3);
  assert.deepEqual(filled(c), [[2, 3, -2, -3], [12, 13, -12, -13]]);
  const src = new KVCache(1, 1, 1, 1, 1);
  src.write(0, Float32Array.from([7]), Float32Array.from([-7]), 1);
  src.advance(1);
  c.copyRowFrom(src, 0, 1);
  assert.deepEqual(filled(c), [[2, 3, -2, -3], [12, 7, -12, -7]]);
  assert.throws(() => c.shiftTime(-3), /cannot shift 2 steps by -3/);
  assert.throws(() => src.copyRowFrom(c, 0, 0), /2 steps do not fit in 1/);
});
