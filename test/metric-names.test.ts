// The metric name table: the run loop, live chart, report and rollout statistics share these names, and a
// misspelt one does not compile (npm run typecheck checks this file too).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { METRIC, type MetricName, type NamedMetrics } from '../sdk/ppo/metric-names.ts';
import { rolloutStats } from '../sdk/ppo/rollout-stats.ts';
import { metricsLine } from '../sdk/run/loop.ts';

// @ts-expect-error a misspelt metric name is a compile error
const misspelt: MetricName = 'reward/maen';
// @ts-expect-error the Trainer's own row fields are checked the same way
const misspeltRow = { 'time/generat': 1 } satisfies NamedMetrics;
const updateStat: MetricName = 'policy/approx_kl';

test('metric names: unique, used by the rollout statistics and the progress line', () => {
  void misspelt; void misspeltRow; void updateStat;
  const names = Object.values(METRIC);
  assert.equal(new Set(names).size, names.length, 'two entries share a name');
  const stats = rolloutStats([
    { promptIndex: 0, responseIds: [1, 2], finishReason: 'stop', reward: 1 },
    { promptIndex: 0, responseIds: [1], finishReason: 'length', reward: 0 },
  ]);
  assert.equal(stats[METRIC.rewardMean], 0.5);
  assert.equal(stats[METRIC.passAtN], 1);
  assert.match(metricsLine({ [METRIC.iteration]: 3, ...stats }), /^iter 3 \| reward 0\.500 \| len 1\.5 \| pass@n 1\.00/);
});
