import { test } from 'node:test';
import assert from 'node:assert/strict';
import { advantagesGAE, advantagesGRPO, normalizeAdvantages, tokenRewards } from '../sdk/ppo/advantages.ts';
import { resolveTrainerConfig } from '../sdk/ppo/config.ts';

function close(actual: ArrayLike<number>, expected: number[], tol = 1e-6) {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i]! - expected[i]!) < tol, `[${i}] ${actual[i]} vs ${expected[i]}`);
}

test('GAE with gamma = lambda = 1 is A_t = R - V_t and the return is R (ORZ)', () => {
  const { advantages, returns } = advantagesGAE([0, 0, 1], [0.5, 0.6, 0.7], 1, 1);
  close(advantages, [0.5, 0.4, 0.3]);
  close(returns, [1, 1, 1]);
});

test('GAE with lambda = 0.95 matches hand-computed deltas', () => {
  // delta = [0.6-0.5, 0.7-0.6, 1-0.7] = [0.1, 0.1, 0.3]; A2 = 0.3; A1 = 0.1 + 0.95*0.3; A0 = 0.1 + 0.95*A1
  const { advantages, returns } = advantagesGAE([0, 0, 1], [0.5, 0.6, 0.7], 1, 0.95);
  close(advantages, [0.46575, 0.385, 0.3]);
  close(returns, [0.96575, 0.985, 1.0]);
});

test('GAE with gamma = 0.9, lambda = 0.95', () => {
  // delta = [0.9*0.6-0.5, 0.9*0.7-0.6, 1-0.7] = [0.04, 0.03, 0.3]; gl = 0.855
  const { advantages } = advantagesGAE([0, 0, 1], [0.5, 0.6, 0.7], 0.9, 0.95);
  close(advantages, [0.04 + 0.855 * (0.03 + 0.855 * 0.3), 0.03 + 0.855 * 0.3, 0.3]);
});

test('GAE rejects mismatched lengths', () => {
  assert.throws(() => advantagesGAE([0, 1], [0.1], 1, 1), /2 rewards but 1 values/);
});

test('token rewards put the score on the last token and subtract beta*KL everywhere', () => {
  close(tokenRewards(1, 3), [0, 0, 1]);
  close(tokenRewards(1, 3, [0.1, 0.2, 0.3], 0.5), [-0.05, -0.1, 0.85]);
  assert.equal(tokenRewards(1, 0).length, 0);
});

test('advantage normalisation whitens over all tokens of the batch', () => {
  const a = [Float32Array.from([1, 2]), Float32Array.from([3, 4, 5])];
  const { mean, std } = normalizeAdvantages(a);
  assert.ok(Math.abs(mean - 3) < 1e-9);
  assert.ok(Math.abs(std - Math.sqrt(2)) < 1e-9);
  const flat = [...a[0]!, ...a[1]!];
  close(flat, [-2, -1, 0, 1, 2].map((x) => x / Math.sqrt(2)), 1e-5);
});

test('GRPO standardises rewards within each prompt group', () => {
  const adv = advantagesGRPO([1, 0, 1, 1, 0, 0], [0, 0, 0, 1, 1, 1]);
  // group 0: mean 2/3, std sqrt(2)/3; group 1: mean 1/3, same std
  const s = Math.sqrt(2) / 3;
  close(adv, [(1 / 3) / s, (-2 / 3) / s, (1 / 3) / s, (2 / 3) / s, (-1 / 3) / s, (-1 / 3) / s], 1e-4);
  // a group where all rewards agree carries no signal
  close(advantagesGRPO([1, 1], [7, 7]), [0, 0]);
});

test('GRPO with grpoStd off divides by 1: rewards minus the group mean (ORZ issue #75)', () => {
  const adv = advantagesGRPO([1, 0, 0, 0, 1, 1, 1, 0], [0, 0, 0, 0, 1, 1, 1, 1], { std: false });
  close(adv, [0.75, -0.25, -0.25, -0.25, 0.25, 0.25, 0.25, -0.75], 1e-6);
  // the standardised form scales a 1-of-4 group to unit std instead
  const scaled = advantagesGRPO([1, 0, 0, 0], [0, 0, 0, 0]);
  close(scaled, [0.75, -0.25, -0.25, -0.25].map((x) => x / Math.sqrt(3 / 16)), 1e-4);
  assert.equal(resolveTrainerConfig({ advantageEstimator: 'grpo', grpoStd: false }).grpoStd, false);
  assert.equal(resolveTrainerConfig({}).grpoStd, true);
  assert.throws(() => resolveTrainerConfig({ grpoStd: 'no' as unknown as boolean }), /grpoStd/);
});
