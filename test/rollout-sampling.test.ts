import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sampleToken, tokenLogprob } from '../sdk/rollout/sampling.ts';
import { Rng } from '../sdk/engine/rng.ts';

const logits = Float32Array.from([0, Math.log(2), Math.log(3), Math.log(4)]); // probs 0.1 0.2 0.3 0.4

function histogram(p: { temperature: number; topP: number; topK: number }, n = 20000, seed = 1) {
  const rng = new Rng(seed);
  const h = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) h[sampleToken(logits, 0, 4, p, rng)]!++;
  return h.map((c) => c / n);
}

test('log-prob is the temperature-1 log-softmax', () => {
  assert.ok(Math.abs(tokenLogprob(logits, 0, 4, 2) - Math.log(0.3)) < 1e-6);
  // with an offset into a [B, V] buffer
  const two = Float32Array.from([9, 9, 9, 9, ...logits]);
  assert.ok(Math.abs(tokenLogprob(two, 4, 4, 3) - Math.log(0.4)) < 1e-6);
});

test('temperature 1 samples the softmax distribution', () => {
  const h = histogram({ temperature: 1, topP: 1, topK: 0 });
  [0.1, 0.2, 0.3, 0.4].forEach((p, i) => assert.ok(Math.abs(h[i]! - p) < 0.015, `${i}: ${h[i]} vs ${p}`));
});

test('temperature 0 is greedy; top-k and top-p cut the tail', () => {
  assert.deepEqual(histogram({ temperature: 0, topP: 1, topK: 0 }, 50), [0, 0, 0, 1]);
  const k2 = histogram({ temperature: 1, topP: 1, topK: 2 });
  assert.equal(k2[0], 0); assert.equal(k2[1], 0);
  assert.ok(Math.abs(k2[3]! - 4 / 7) < 0.015);
  const p = histogram({ temperature: 1, topP: 0.65, topK: 0 }); // 0.4 + 0.3 >= 0.65 -> {3, 2}
  assert.equal(p[0], 0); assert.equal(p[1], 0);
  assert.ok(Math.abs(p[2]! - 3 / 7) < 0.015);
});

test('sampling is deterministic by seed', () => {
  const a = histogram({ temperature: 1, topP: 1, topK: 0 }, 100, 5);
  const b = histogram({ temperature: 1, topP: 1, topK: 0 }, 100, 5);
  const c = histogram({ temperature: 1, topP: 1, topK: 0 }, 100, 6);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});
