// Trainer.evaluate with long records in the eval set: the other records decode as they would alone
// (per-row budgets), and a record with no room for a response is listed as skipped, not an error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRunConfig, trainerFromRunConfig } from '../sdk/run/run-config.ts';
import { RolloutBatch } from '../sdk/rollout/rollout-batch.ts';

const CONFIG = 'data/mini/train-config.json';
const question = 'Ben has 6 eggs. Then he has 3 times as many. He gives away 5. He gets 5 more. He sells 4. ';
const record = (repeat: number, level: number) =>
  JSON.stringify({ prompt: [{ from: 'user', value: `${question.repeat(repeat)}How many now?` }], final_answer: '1', level });

test('a long eval record shortens no other record, and one with no room is skipped and listed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'orz-eval-budgets-'));
  try {
    const lines = (await readFile('data/mini/eval.jsonl', 'utf8')).trim().split('\n').slice(0, 12);
    const plain = join(dir, 'plain.jsonl'), mixed = join(dir, 'mixed.jsonl');
    await writeFile(plain, `${lines.join('\n')}\n`);
    // level 8: a prompt of ~107 tokens (room for ~21 under 128); level 9: ~200 tokens, no room at all
    await writeFile(mixed, `${[...lines.slice(0, 4), record(3, 8), ...lines.slice(4, 8), record(6, 9), ...lines.slice(8)].join('\n')}\n`);
    const rc = await readRunConfig(CONFIG);
    const alone = await (await trainerFromRunConfig({ ...rc, evalData: plain })).evaluate();
    const withLong = await (await trainerFromRunConfig({ ...rc, evalData: mixed })).evaluate();
    const view = (s: { question?: unknown; responseIds: number[]; finishReason: string; reward?: number }) => [s.question, s.responseIds, s.finishReason, s.reward];
    const others = withLong.batch.samples().filter((s) => s['level'] !== 8);
    assert.deepEqual(others.map(view), alone.batch.samples().map(view));
    assert.ok(alone.batch.samples().every((s) => s.responseIds.length > 0));
    assert.equal(withLong.skipped.length, 1);
    assert.deepEqual({ ...withLong.skipped[0]!, promptTokens: 0 }, { promptIndex: 9, promptTokens: 0, limit: 128 });
    assert.ok(withLong.skipped[0]!.promptTokens >= 128);
    assert.deepEqual(alone.skipped, []);
    const long = withLong.batch.samples().filter((s) => s['level'] === 8);
    assert.equal(long.length, 1);
    assert.ok(long[0]!.promptIds.length + long[0]!.responseIds.length <= 128);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a training prompt with no room is skipped: counted in the metrics row, warned about, kept in the saved rollouts', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'orz-train-skipped-'));
  try {
    const lines = (await readFile('data/mini/eval.jsonl', 'utf8')).trim().split('\n').slice(0, 3);
    const data = join(dir, 'train.jsonl');
    await writeFile(data, `${[lines[0], record(6, 9), ...lines.slice(1)].join('\n')}\n`);
    const rc = await readRunConfig(CONFIG);
    const trainer = await trainerFromRunConfig({
      ...rc, trainData: data, evalData: undefined,
      trainer: { ...rc.trainer, promptsPerIteration: 4, samplesPerPrompt: 2, evalEvery: 0, checkpointEvery: 0 },
    });
    const logged: string[] = [];
    const rows = await trainer.run({ iterations: 1, runDir: join(dir, 'run'), log: (l) => logged.push(l) });
    const row = rows.at(-1)!;
    assert.equal(row['skipped_prompts'], 1);
    assert.equal(trainer.lastBatch!.length, 3 * 2, 'the other three prompts are generated');
    assert.ok(logged.some((l) => /warning: iteration 1: skipped 1 prompt\(s\) with no room for a response under the 128-position context \(first: prompt 1 of the batch/.test(l)), logged.join('\n'));
    const saved = await RolloutBatch.load(join(dir, 'run', 'rollouts', 'iter-1.arrow'));
    assert.deepEqual(saved.skipped, trainer.lastBatch!.skipped);
    assert.equal(saved.skipped[0]!.promptIndex, 1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
