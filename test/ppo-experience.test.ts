// The columnar experience: [N, R] columns read straight from the rollout's Arrow buffers (whatever
// its record batches and slicing), and minibatches gathered from them equal to packing the samples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../sdk/engine/tf.ts';
import { RolloutBatch, type RolloutSample } from '../sdk/rollout/rollout-batch.ts';
import { experienceColumns, gatherTokens, MiniBatch, padColumn, type Experience } from '../sdk/ppo/experience.ts';
import { buildTokenBatch, disposeTokenBatch, type TokenBatch } from '../sdk/ppo/token-batch.ts';

const PAD = 99;

/** Samples of uneven prompt and response lengths (one empty response); log-probs exact in float32. */
function makeSamples(): RolloutSample[] {
  const lengths: [number, number][] = [[3, 2], [1, 4], [2, 0], [4, 1], [2, 3], [1, 1]];
  return lengths.map(([p, r], i) => ({
    promptIndex: i >> 1, sampleIndex: i & 1, prompt: `p${i}`, response: `r${i}`,
    promptIds: Array.from({ length: p }, (_, j) => 10 * i + j + 1),
    responseIds: Array.from({ length: r }, (_, j) => 100 + 10 * i + j),
    logprobs: Array.from({ length: r }, (_, j) => -(i + 1) / 8 - j / 4),
    finishReason: r > 2 ? 'length' : 'stop', groundTruth: '', reward: i % 3 === 0 ? 1 : 0,
  }));
}

/** The same rows as one table, as two record batches, and as a slice of a longer table. */
function layouts(samples: RolloutSample[]): [string, RolloutBatch][] {
  const whole = RolloutBatch.fromSamples(samples);
  const twoChunks = RolloutBatch.fromTable(RolloutBatch.fromSamples(samples.slice(0, 2)).table.concat(RolloutBatch.fromSamples(samples.slice(2)).table));
  const padded = RolloutBatch.fromSamples([samples[5]!, ...samples, samples[0]!]);
  const sliced = RolloutBatch.fromTable(padded.table.slice(1, 1 + samples.length));
  return [['one batch', whole], ['two record batches', twoChunks], ['a slice', sliced]];
}

function assertSameTokens(a: TokenBatch, b: TokenBatch, what: string): void {
  assert.deepEqual([a.rows, a.P, a.R, a.lengths], [b.rows, b.P, b.R, b.lengths], what);
  for (const k of ['inputIds', 'positions', 'keyMask', 'targets', 'mask'] as const) {
    assert.deepEqual(a[k].shape, b[k].shape, `${what}: ${k} shape`);
    assert.deepEqual([...a[k].dataSync()], [...b[k].dataSync()], `${what}: ${k}`);
  }
}

test('the columns hold each sample in its row, 0 beyond, whatever the Arrow layout', () => {
  const samples = makeSamples();
  for (const [layout, batch] of layouts(samples)) {
    const x = experienceColumns(batch, PAD);
    assert.equal(batch.table.batches.length, layout === 'two record batches' ? 2 : 1);
    assert.deepEqual([x.N, x.P, x.R], [6, 4, 4], layout);
    samples.forEach((s, i) => {
      const n = s.responseIds.length;
      const where = `${layout}, sample ${i}`;
      assert.equal(x.lengths[i], n, where);
      assert.equal(x.promptLengths[i], s.promptIds.length, where);
      assert.deepEqual([...x.promptIds.subarray(i * x.P, (i + 1) * x.P)], [...Array(x.P - s.promptIds.length).fill(PAD), ...s.promptIds], where);
      assert.deepEqual([...x.responseIds.subarray(i * x.R, (i + 1) * x.R)], [...s.responseIds, ...Array(x.R - n).fill(0)], where);
      assert.deepEqual([...x.oldLogprobs.subarray(i * x.R, (i + 1) * x.R)], [...s.logprobs, ...Array(x.R - n).fill(0)], where);
      assert.deepEqual([...x.actionMask.subarray(i * x.R, (i + 1) * x.R)], [...Array(n).fill(1), ...Array(x.R - n).fill(0)], where);
      assert.equal(x.rewards[i], s.reward, where);
      assert.equal(x.promptIndex[i], s.promptIndex, where);
    });
  }
});

test('a minibatch gather packs the same tensors as the samples themselves', () => {
  const samples = makeSamples();
  const x = experienceColumns(RolloutBatch.fromSamples(samples), PAD);
  for (const rows of [[0, 1, 2, 3, 4, 5], [3, 1], [2], [5, 2, 0]]) {
    const gathered = gatherTokens(x, rows, PAD);
    const packed = buildTokenBatch(rows.map((i) => samples[i]!), PAD);
    try {
      assertSameTokens(gathered, packed, `rows ${rows}`);
    } finally {
      disposeTokenBatch(gathered);
      disposeTokenBatch(packed);
    }
  }
});

test('the token layout: prompts left-padded, responses right-padded, the last column of R never fed', () => {
  const x = experienceColumns(RolloutBatch.fromSamples(makeSamples()), PAD);
  // prompts of 1, 2 and 3 tokens, responses of 4, 0 and 2: P = 3, R = 4, T = P + R - 1 = 6
  const tb = gatherTokens(x, [1, 2, 0], PAD);
  try {
    assert.deepEqual([tb.P, tb.R, tb.inputIds.shape], [3, 4, [3, 6]]);
    assert.deepEqual([...tb.inputIds.dataSync()], [PAD, PAD, 11, 110, 111, 112, /**/ PAD, 21, 22, PAD, PAD, PAD, /**/ 1, 2, 3, 100, 101, PAD]);
    assert.deepEqual([...tb.positions.dataSync()], [0, 0, 0, 1, 2, 3, /**/ 0, 0, 1, 0, 0, 0, /**/ 0, 1, 2, 3, 4, 0]);
    assert.deepEqual([...tb.keyMask.dataSync()], [0, 0, 1, 1, 1, 1, /**/ 0, 1, 1, 0, 0, 0, /**/ 1, 1, 1, 1, 1, 0]);
    assert.deepEqual([...tb.targets.dataSync()], [110, 111, 112, 113, /**/ 0, 0, 0, 0, /**/ 100, 101, 0, 0]);
    assert.deepEqual([...tb.mask.dataSync()], [1, 1, 1, 1, /**/ 0, 0, 0, 0, /**/ 1, 1, 0, 0]);
  } finally {
    disposeTokenBatch(tb);
  }
});

test('a minibatch column is the rows of the [N, R] array, trimmed to the minibatch\'s longest response', () => {
  const samples = makeSamples();
  const x = experienceColumns(RolloutBatch.fromSamples(samples), PAD);
  const perRow = samples.map((s, i) => s.responseIds.map((_, t) => i + t / 8));
  const exp: Experience = { ...x, advantages: padColumn(perRow, x.R), values: null, returns: null, refLogprobs: null, stats: {} };
  const mb = new MiniBatch(exp, [3, 0], PAD); // responses of 1 and 2 tokens: R_mb = 2
  try {
    tf.tidy(() => {
      assert.deepEqual(mb.advantages.shape, [2, 2]);
      assert.deepEqual([...mb.advantages.dataSync()], [3, 0, 0, 0.125]);
      assert.deepEqual([...mb.oldLogprobs.dataSync()], [...samples[3]!.logprobs, 0, ...samples[0]!.logprobs]);
      assert.throws(() => mb.values, /MiniBatch: the experience has no values/);
    });
  } finally {
    mb.dispose();
  }
});

test('a batch without rewards names the sample', () => {
  const unscored = makeSamples().map(({ reward: _r, ...s }) => s as RolloutSample);
  assert.throws(() => experienceColumns(RolloutBatch.fromSamples(unscored), PAD), /makeExperience: sample 0 has no reward; call score\(\) first/);
});
