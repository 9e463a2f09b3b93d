import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ORZ_DEFAULTS, resolveTrainerConfig } from '../sdk/ppo/config.ts';
import { learningRate } from '../sdk/ppo/optimizer.ts';

test('defaults are ORZ recipe values', () => {
  const c = resolveTrainerConfig();
  assert.equal(c.gamma, 1); assert.equal(c.lambda, 1);
  assert.equal(c.clipRatio, 0.2); assert.equal(c.valueClip, 0.2);
  assert.deepEqual(c.adamBetas, [0.9, 0.95]);
  assert.equal(c.gradClip, 1); assert.equal(c.weightDecay, 0);
  assert.equal(c.policyUpdateSteps, 1); assert.equal(c.criticUpdateSteps, 12);
  assert.equal(c.kl.coef, 0);
  assert.deepEqual(c.generation.stop, ['</answer>', 'User:', 'Human:', 'Assistant:']);
});

test('partial nested config merges with defaults', () => {
  const c = resolveTrainerConfig({ generation: { maxNewTokens: 32 }, kl: { coef: 0.01 } });
  assert.equal(c.generation.maxNewTokens, 32);
  assert.equal(c.generation.temperature, ORZ_DEFAULTS.generation.temperature);
  assert.equal(c.kl.coef, 0.01);
  assert.equal(c.kl.estimator, 'k3');
});

test('bad fields are named in the error', () => {
  assert.throws(() => resolveTrainerConfig({ clipRatio: -1 }, 'x.json'), /x\.json: clipRatio must be > 0/);
  assert.throws(() => resolveTrainerConfig({ samplesPerPrompt: 1.5 }), /samplesPerPrompt must be a positive integer/);
  assert.throws(() => resolveTrainerConfig({ gamma: 2 }), /gamma must be in \[0, 1\]/);
  assert.throws(() => resolveTrainerConfig({ bogus: 1 } as never, 'c.json'), /c\.json: unknown field bogus/);
  assert.throws(() => resolveTrainerConfig({ advantageEstimator: 'grpo', samplesPerPrompt: 1 }), /must be >= 2 for GRPO/);
});

test('learning rate warms up linearly then stays constant', () => {
  const cfg = { lr: 1e-3, warmupSteps: 4 };
  assert.deepEqual([1, 2, 4, 5, 100].map((s) => learningRate(cfg, s)), [2.5e-4, 5e-4, 1e-3, 1e-3, 1e-3]);
  assert.equal(learningRate({ lr: 1e-3, warmupSteps: 0 }, 1), 1e-3);
});
