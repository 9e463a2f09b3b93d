// Evaluation metrics on hand-computed cases: pass@k (Chen et al. 2021), mean@n, and grouping by level.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  accuracyMetrics, lengthMetrics, meanAtN, meanPassAtK, metricsByLevel, passAtK, questionOutcomes, reportedKs, type ScoredSample,
} from '../sdk/eval/metrics.ts';

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

test('pass@k for n=5, c=2 by hand: 1 - C(3,k)/C(5,k)', () => {
  // C(5,k) = 5, 10, 10, 5, 1; C(3,k) = 3, 3, 1, 0, 0
  const byHand = [1 - 3 / 5, 1 - 3 / 10, 1 - 1 / 10, 1, 1];
  byHand.forEach((want, i) => close(passAtK(5, 2, i + 1), want, `pass@${i + 1}`));
});

test('pass@k edge cases: c=0 is 0, c=n is 1, pass@1 is c/n, and a large n stays finite', () => {
  for (let k = 1; k <= 8; k++) assert.equal(passAtK(8, 0, k), 0);
  for (let k = 1; k <= 8; k++) assert.equal(passAtK(8, 8, k), 1);
  for (let c = 0; c <= 16; c++) close(passAtK(16, c, 1), c / 16, `pass@1 with c=${c}`);
  // C(1000, 500) overflows a double; the product form does not
  const v = passAtK(1000, 3, 500);
  close(v, 1 - (500 * 499 * 498) / (1000 * 999 * 998), 'n=1000, c=3, k=500');
  assert.throws(() => passAtK(5, 6, 1), /c must be an integer in \[0, n=5\]/);
  assert.throws(() => passAtK(5, 2, 6), /k must be an integer in \[1, n=5\]/);
});

test('reported k: 1, powers of two below n, and n', () => {
  assert.deepEqual(reportedKs(1), [1]);
  assert.deepEqual(reportedKs(2), [1, 2]);
  assert.deepEqual(reportedKs(5), [1, 2, 4, 5]);
  assert.deepEqual(reportedKs(16), [1, 2, 4, 8, 16]);
});

test('mean@n is the mean over questions of the fraction correct; pass@k averages per question', () => {
  const qs = [{ n: 4, correct: 0 }, { n: 4, correct: 1 }, { n: 4, correct: 4 }];
  close(meanAtN(qs), (0 + 0.25 + 1) / 3, 'mean@4');
  // pass@2 per question: 0; 1 - C(3,2)/C(4,2) = 1 - 3/6 = 0.5; 1
  close(meanPassAtK(qs, 2), (0 + 0.5 + 1) / 3, 'pass@2');
  const m = accuracyMetrics(qs);
  assert.deepEqual(Object.keys(m.passAtK), ['1', '2', '4']);
  close(m.passAtK[1]!, m.meanAtN, 'pass@1 equals mean@n');
  close(m.passAtK[4]!, 2 / 3, 'pass@4: any of the 4 correct');
  assert.throws(() => accuracyMetrics([{ n: 4, correct: 1 }, { n: 2, correct: 1 }]), /question 1 has n=2/);
});

test('levels group questions and sort numerically; questions without a level are left out of the table', () => {
  const qs = [
    { n: 2, correct: 2, level: '10' }, { n: 2, correct: 0, level: '2' }, { n: 2, correct: 1, level: '2' }, { n: 2, correct: 1 },
  ];
  const levels = metricsByLevel(qs);
  assert.deepEqual(levels.map((l) => [l.level, l.questions]), [['2', 2], ['10', 1]]);
  close(levels[0]!.meanAtN, 0.25, 'level 2 mean@2');
  close(levels[0]!.passAtK[2]!, 0.5, 'level 2 pass@2');
  close(levels[1]!.meanAtN, 1, 'level 10 mean@2');
  assert.deepEqual(metricsByLevel([{ n: 1, correct: 1 }]), []);
});

test('questionOutcomes counts correct samples per question; lengthMetrics gives lengths and the truncated fraction', () => {
  const s = (questionIndex: number, reward: number, responseTokens: number, finishReason: 'stop' | 'length' = 'stop'): ScoredSample =>
    ({ questionIndex, reward, responseTokens, responseChars: responseTokens * 3, finishReason });
  const samples = [s(0, 1, 10), s(0, 0, 20, 'length'), s(1, 1, 6), s(1, 1, 4)];
  assert.deepEqual(questionOutcomes(samples, 2, 2, ['1', undefined]), [{ n: 2, correct: 1, level: '1' }, { n: 2, correct: 2 }]);
  assert.throws(() => questionOutcomes(samples.slice(1), 2, 2), /question 0 has 1 samples, expected 2/);
  const len = lengthMetrics(samples);
  assert.deepEqual(len, { meanTokens: 10, maxTokens: 20, meanChars: 30, maxChars: 60, truncatedFraction: 0.25, meanReward: 0.75 });
});
