import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, progressLine } from '../sdk/viz/index.ts';

test('progressLine: label, count, bar, percent, elapsed<remaining, extra', () => {
  // 3 of 20 done in 42 s -> 14 s per step -> 17 * 14 = 238 s = 03:58 left; 15 %; 10-wide bar -> 1 filled.
  assert.equal(
    progressLine({ label: 'iter', done: 3, total: 20, elapsedSec: 42, extra: 'reward=0.41' }),
    'iter 3/20 [#.........] 15% 00:42<03:58 reward=0.41',
  );
});

test('progressLine at the start, in the middle and at the end', () => {
  assert.equal(progressLine({ label: 'gen', done: 0, total: 8, elapsedSec: 0 }), 'gen 0/8 [..........] 0% 00:00<--:--');
  assert.equal(progressLine({ label: 'gen', done: 29, total: 100, elapsedSec: 29 }), 'gen 29/100 [##........] 29% 00:29<01:11');
  assert.equal(progressLine({ label: 'gen', done: 8, total: 8, elapsedSec: 3725 }), 'gen 8/8 [##########] 100% 1:02:05<00:00');
});

test('progressLine of a resumed job: absolute counts, the pace from the steps since `start`', () => {
  // resumed at 2 of 8, one step done since in 10 s -> 5 left at 10 s each
  assert.equal(progressLine({ label: 'iter', done: 3, total: 8, start: 2, elapsedSec: 10 }), 'iter 3/8 [###.......] 37% 00:10<00:50');
  assert.equal(progressLine({ label: 'iter', done: 2, total: 8, start: 2, elapsedSec: 0 }), 'iter 2/8 [##........] 25% 00:00<--:--');
});

test('progressLine rejects negative or non-finite inputs, naming the argument', () => {
  assert.throws(() => progressLine({ label: 'x', done: -1, total: 3, elapsedSec: 0 }), /done must be/);
  assert.throws(() => progressLine({ label: 'x', done: 1, total: NaN, elapsedSec: 0 }), /total must be/);
});

test('formatDuration', () => {
  assert.equal(formatDuration(59.4), '00:59');
  assert.equal(formatDuration(600), '10:00');
  assert.equal(formatDuration(3600), '1:00:00');
  assert.equal(formatDuration(Infinity), '--:--');
});
