import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import * as arrow from 'apache-arrow';
import { JUPYTER_DISPLAY } from '../sdk/viz/index.ts';
import { RolloutBatch, type RolloutSample } from '../sdk/rollout/rollout-batch.ts';

function makeSamples(): RolloutSample[] {
  // Two prompts x two samples; logprobs chosen exactly representable in float32 (k / 8) so equality is exact.
  return [
    { promptIndex: 0, sampleIndex: 0, prompt: 'Q: 1+1?', response: '<think>easy</think> <answer>\\boxed{2}</answer>',
      promptIds: [5, 6, 7], responseIds: [10, 11], logprobs: [-0.125, -2.5], finishReason: 'stop', groundTruth: '2', reward: 1, level: 1, source: 'arith' },
    { promptIndex: 0, sampleIndex: 1, prompt: 'Q: 1+1?', response: 'three', promptIds: [5, 6, 7], responseIds: [12],
      logprobs: [-0.75], finishReason: 'length', groundTruth: '2', reward: 0, level: 1, source: 'arith' },
    { promptIndex: 1, sampleIndex: 0, prompt: 'Q: 2*3?', response: '', promptIds: [8], responseIds: [],
      logprobs: [], finishReason: 'stop', groundTruth: '', reward: 0, level: 3, source: 'mul' },
    { promptIndex: 1, sampleIndex: 1, prompt: 'Q: 2*3?', response: 'x'.repeat(500), promptIds: [8], responseIds: [1, 2, 3],
      logprobs: [-1, -0.5, -0.25], finishReason: 'length', groundTruth: '6', reward: 1, level: 3, source: 'mul' },
  ];
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'orz-rollout-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('fromSamples -> save -> load round trip keeps every field, list columns and extras', async () => {
  await withTempDir(async (dir) => {
    const samples = makeSamples();
    const batch = RolloutBatch.fromSamples(samples);
    assert.equal(batch.length, 4);
    const path = join(dir, 'rollouts', 'iter-1.arrow');
    await batch.save(path);
    assert.deepEqual(await readdir(join(dir, 'rollouts')), ['iter-1.arrow'], 'no temp file is left behind');
    const loaded = await RolloutBatch.load(path);
    assert.deepEqual(loaded.samples(), samples);
    const types = Object.fromEntries(loaded.table.schema.fields.map((f) => [f.name, String(f.type)]));
    assert.deepEqual(types, {
      promptIndex: 'Int32', sampleIndex: 'Int32', prompt: 'Utf8', response: 'Utf8', promptIds: 'List<Int32>', responseIds: 'List<Int32>',
      logprobs: 'List<Float32>', finishReason: 'Utf8', groundTruth: 'Utf8', reward: 'Float32', level: 'Float64', source: 'Utf8',
    });
  });
});

test('the saved file is Arrow IPC *file* format (magic ARROW1 at both ends)', async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, 'b.arrow');
    await RolloutBatch.fromSamples(makeSamples()).save(path);
    const bytes = Buffer.from(await (await import('node:fs/promises')).readFile(path));
    assert.equal(bytes.subarray(0, 6).toString('latin1'), 'ARROW1');
    assert.equal(bytes.subarray(bytes.length - 6).toString('latin1'), 'ARROW1');
  });
});

test('logprobs are stored as float32', () => {
  const s = makeSamples()[0]!;
  const batch = RolloutBatch.fromSamples([{ ...s, logprobs: [-0.1, -1 / 3] }]);
  assert.deepEqual(batch.sample(0).logprobs, [Math.fround(-0.1), Math.fround(-1 / 3)]);
});

test('withRewards adds the reward column, checks the length, and leaves the original alone', () => {
  const noReward = makeSamples().map(({ reward: _r, ...rest }) => rest as RolloutSample);
  const batch = RolloutBatch.fromSamples(noReward);
  assert.equal(batch.table.getChild('reward'), null);
  assert.equal('reward' in batch.sample(0), false);
  const scored = batch.withRewards([1, 0, 0.5, 0]);
  assert.deepEqual(scored.samples().map((s) => s.reward), [1, 0, 0.5, 0]);
  assert.equal(batch.table.getChild('reward'), null, 'original batch unchanged');
  assert.deepEqual(scored.sample(3).level, 3, 'extras survive');
  assert.throws(() => batch.withRewards([1, 0, 1]), /withRewards: got 3 rewards for 4 samples/);
  assert.throws(() => batch.withRewards([1, 0, NaN, 1]), /reward 2 is not a finite number/);
  // Replacing an existing reward column keeps one column named reward.
  const rescored = scored.withRewards([0, 0, 0, 1]);
  assert.equal(rescored.table.schema.fields.filter((f) => f.name === 'reward').length, 1);
  assert.deepEqual(rescored.samples().map((s) => s.reward), [0, 0, 0, 1]);
});

test('withRewards works on a loaded table made of several record batches', () => {
  const a = RolloutBatch.fromSamples(makeSamples().slice(0, 2)).table;
  const b = RolloutBatch.fromSamples(makeSamples().slice(2)).table;
  const twoChunks = RolloutBatch.fromTable(a.concat(b));
  assert.equal(twoChunks.table.batches.length, 2);
  assert.deepEqual(twoChunks.withRewards([4, 3, 2, 1]).samples().map((s) => [s.promptIndex, s.sampleIndex, s.reward]),
    [[0, 0, 4], [0, 1, 3], [1, 0, 2], [1, 1, 1]]);
});

test('fromSamples names the sample and field on bad input', () => {
  const good = makeSamples();
  assert.throws(() => RolloutBatch.fromSamples([good[0]!, { ...good[1]!, logprobs: [] }]), /sample 1: 0 logprobs for 1 response tokens/);
  assert.throws(() => RolloutBatch.fromSamples([{ ...good[0]!, finishReason: 'eos' as 'stop' }]), /sample 0: finishReason/);
  assert.throws(() => RolloutBatch.fromSamples([{ ...good[0]!, promptIds: [1, 2.5] }]), /sample 0: promptIds\[1\]/);
  assert.throws(() => RolloutBatch.fromSamples([good[0]!, { ...good[1]!, level: 'hard' }]), /"level" is a number in sample 0 but a string in sample 1/);
  assert.throws(() => RolloutBatch.fromSamples([{ ...good[0]!, meta: { a: 1 } }]), /sample 0: extra field "meta"/);
});

test('fromTable and load reject tables that are not rollout batches, naming the column / file', async () => {
  const t = new arrow.Table({ promptIndex: arrow.vectorFromArray([0], new arrow.Float64()) });
  assert.throws(() => RolloutBatch.fromTable(t), /column "promptIndex" must be Int32, got Float64/);
  await withTempDir(async (dir) => {
    const junk = join(dir, 'junk.arrow');
    await writeFile(junk, 'definitely not arrow');
    await assert.rejects(RolloutBatch.load(junk), (err: Error) => err.message.includes(junk));
    const missing = join(dir, 'missing.arrow');
    await assert.rejects(RolloutBatch.load(missing), (err: Error) => err.message.includes(missing));
    const other = join(dir, 'other.arrow');
    await writeFile(other, arrow.tableToIPC(t, 'file'));
    await assert.rejects(RolloutBatch.load(other), (err: Error) => err.message.includes(other) && /promptIndex/.test(err.message));
  });
});

test('sample(i) checks its index', () => {
  const batch = RolloutBatch.fromSamples(makeSamples());
  assert.throws(() => batch.sample(4), /index 4 is out of range for 4 samples/);
  assert.throws(() => batch.sample(-1), RangeError);
});

test('toString / console.log show a compact table: column names, truncated long responses', () => {
  const batch = RolloutBatch.fromSamples(makeSamples());
  const text = batch.toString();
  for (const name of ['promptIndex', 'sampleIndex', 'prompt', 'response', 'promptIds', 'responseIds', 'logprobs', 'finishReason', 'groundTruth', 'reward', 'level', 'source']) {
    assert.ok(text.includes(name), `mentions column ${name}`);
  }
  assert.ok(text.includes('4 samples from 2 prompts'));
  assert.ok(!text.includes('x'.repeat(100)), 'a 500-char response is not printed whole');
  assert.match(text, /x{10,}…/, 'it is cut with an ellipsis');
  assert.ok(text.split('\n').every((line) => line.length < 250), 'lines stay short');
  assert.equal(inspect(batch), text, 'console.log uses the same table');
});

test('toString shows only the first rows of a large batch', () => {
  const base = makeSamples()[1]!;
  const many = Array.from({ length: 50 }, (_, i) => ({ ...base, promptIndex: i, sampleIndex: 0, response: `resp-${i}` }));
  const text = RolloutBatch.fromSamples(many).toString();
  assert.ok(text.includes('resp-0') && !text.includes('resp-49'));
  assert.match(text, /30 more/);
});

test('the Jupyter display bundle has escaped HTML, plain text and a data resource', () => {
  const samples = makeSamples();
  samples[1]!.response = '<script>alert(1)</script>';
  const bundle = RolloutBatch.fromSamples(samples)[JUPYTER_DISPLAY]();
  const html = bundle['text/html'] as string;
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.ok(!html.includes('<script>'));
  assert.equal(typeof bundle['text/plain'], 'string');
  const resource = bundle['application/vnd.dataresource+json'] as { schema: { fields: { name: string; type: string }[] }; data: Record<string, unknown>[] };
  const types = Object.fromEntries(resource.schema.fields.map((f) => [f.name, f.type]));
  assert.equal(types.promptIndex, 'integer');
  assert.equal(types.response, 'string');
  assert.equal(types.reward, 'integer'); // all rewards here are 0 or 1
  assert.equal(resource.data.length, 4);
  assert.equal(resource.data[1]!.response, '<script>alert(1)</script>', 'data keeps raw values');
  assert.equal(resource.data[3]!.responseLength, 3);
});

test('skipped prompts travel with the rows: saved file, IPC stream, withRewards, concat; bad metadata is named', async () => {
  const samples = makeSamples();
  const skipped = [{ promptIndex: 2, promptTokens: 130, limit: 128 }];
  const batch = RolloutBatch.fromSamples(samples, skipped);
  await withTempDir(async (dir) => {
    const path = join(dir, 'iter-1.arrow');
    await batch.save(path);
    const loaded = await RolloutBatch.load(path);
    assert.deepEqual(loaded.skipped, skipped);
    assert.deepEqual(loaded.samples(), samples);
  });
  assert.deepEqual(RolloutBatch.fromTable(arrow.tableFromIPC(arrow.tableToIPC(batch.table, 'stream'))).skipped, skipped);
  assert.deepEqual(batch.withRewards([0, 0, 1, 1]).skipped, skipped);
  assert.deepEqual(RolloutBatch.fromSamples(samples).skipped, [], 'none by default');

  // Two slices of one call (as two rollout workers return them): rows in order, skipped merged by prompt index.
  const a = RolloutBatch.fromSamples(samples.slice(0, 2), [{ promptIndex: 5, promptTokens: 200, limit: 128 }]);
  const b = RolloutBatch.fromSamples(samples.slice(2), [{ promptIndex: 1, promptTokens: 129, limit: 128 }]);
  const both = RolloutBatch.concat([b, a]);
  assert.deepEqual(both.samples(), [...samples.slice(2), ...samples.slice(0, 2)]);
  assert.deepEqual(both.skipped.map((s) => s.promptIndex), [1, 5]);

  const bad = arrow.tableFromIPC(arrow.tableToIPC(batch.table, 'stream'));
  bad.schema.metadata.set('orz.skipped', '[{"promptIndex": -1, "promptTokens": 3, "limit": 2}]');
  assert.throws(() => RolloutBatch.fromTable(bad), /RolloutBatch\.fromTable: schema metadata "orz\.skipped" entry 0: "promptIndex" must be a non-negative integer, got -1/);
  bad.schema.metadata.set('orz.skipped', '{oops');
  assert.throws(() => RolloutBatch.fromTable(bad), /"orz\.skipped" is not JSON/);
});
