// Benchmarks from ORZ's eval files (MATH500, AIME24, GPQA-Diamond): detection of the reward, prompts with the
// choices listed once, and reading + reward + metrics together on every record (the tiny model's context cannot
// hold these prompts, so the responses here are written, not generated).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ORZ_TEMPLATE } from '../sdk/data/index.ts';
import { closeRewardPools, scoreSamples, type Sample } from '../sdk/reward/index.ts';
import {
  accuracyMetrics, benchmarkFromFile, metricsByLevel, passAtK, questionOutcomes, questionWithChoices, recordPrompt, resolveReward,
  type EvalBenchmark,
} from '../sdk/eval/index.ts';

after(() => closeRewardPools());

const ORZ_EVAL = fileURLToPath(new URL('../../shared/data/orz-eval/', import.meta.url));
const count = (s: string, part: string) => s.split(part).length - 1;

test('benchmarkFromFile names the benchmark after the file and scores GPQA as multiple choice, the others as math', async () => {
  const found = await Promise.all(['math500', 'aime2024', 'gpqa_diamond'].map((f) => benchmarkFromFile(`${ORZ_EVAL}${f}.json`)));
  assert.deepEqual(found.map((b) => [b.name, b.reward, b.records.length]), [['math500', 'math', 500], ['aime2024', 'math', 30], ['gpqa_diamond', 'gpqa', 198]]);
  const named = await benchmarkFromFile(`${ORZ_EVAL}aime2024.json`, { name: 'aime24', template: 'mini' });
  assert.deepEqual([named.name, named.template], ['aime24', 'mini']);
});

test('a file mixing records with and without choices, and a name unfit for metric names, are refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'orz-evalbench-'));
  try {
    const mixed = join(dir, 'mixed.jsonl');
    await writeFile(mixed, '{"question":"q1","answer":"A","choices":{"A":"x","B":"y"}}\n{"question":"q2","answer":"1"}\n');
    await assert.rejects(benchmarkFromFile(mixed), /mixed\.jsonl: record 1 has no "choices" but record 0 has/);
    const plain = join(dir, 'plain set.jsonl');
    await writeFile(plain, '{"question":"q1","answer":"1"}\n');
    await assert.rejects(benchmarkFromFile(plain), /benchmark name "plain set" must be letters, digits/);
    assert.equal((await benchmarkFromFile(plain, { name: 'plain_set' })).name, 'plain_set');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('GPQA prompts list each choice exactly once: ORZ\'s questions already do; others get them appended', async () => {
  const gpqa = await benchmarkFromFile(`${ORZ_EVAL}gpqa_diamond.json`);
  gpqa.records.forEach((r, i) => {
    const input = recordPrompt(r, ORZ_TEMPLATE, i);
    assert.ok(input.prompt.includes(r.prompt), `record ${i}: the question is in the prompt as it is`);
    for (const [letter, text] of Object.entries(r['choices'] as Record<string, string>)) {
      assert.equal(count(input.prompt, `\n${letter}. ${text.trim()}`), 1, `record ${i}, choice ${letter}`);
    }
    assert.equal(typeof input['choices'], 'string', 'choices ride along as JSON');
  });
  const choices = { A: '4', B: '5' };
  assert.equal(questionWithChoices('What is 2+2?', choices), 'What is 2+2?\n\nA. 4\nB. 5');
  assert.equal(questionWithChoices('What is 2+2?\nA. 4\nB. 5', choices), 'What is 2+2?\nA. 4\nB. 5');
  assert.equal(questionWithChoices('Pick:\nA. 42\nB. 5', choices), 'Pick:\nA. 42\nB. 5\n\nA. 4\nB. 5', '"A. 42" does not list "A. 4"');
});

/** n samples per record of which the first `correctOf(i)` box the truth and the rest a wrong answer. */
function writtenSamples(b: EvalBenchmark, n: number, correctOf: (i: number) => number, wrong: (truth: string, i: number) => string): Sample[] {
  return b.records.flatMap((r, i) => {
    const input = recordPrompt(r, ORZ_TEMPLATE, i);
    return Array.from({ length: n }, (_, s) => ({
      ...input, prompt: input.prompt, groundTruth: r.groundTruth, finishReason: 'stop' as const, promptIndex: i,
      response: ` Work. </think> <answer> The answer is \\boxed{${s < correctOf(i) ? r.groundTruth : wrong(r.groundTruth, i)}}. </answer>`,
    }));
  });
}

for (const [file, wrong] of [
  ['gpqa_diamond', (truth: string) => (truth === 'A' ? 'B' : 'A')],
  ['math500', (_: string, i: number) => `\\text{no answer ${i}}`],
  ['aime2024', (truth: string) => String(Number(truth) + 1)],
] as const) {
  test(`${file}: reading, the benchmark's reward in the workers and the metrics give the hand-computed figures`, async () => {
    const b = await benchmarkFromFile(`${ORZ_EVAL}${file}.json`);
    const n = 4;
    const correctOf = (i: number) => i % (n + 1); // 0..4 of 4 correct, in turn
    const samples = writtenSamples(b, n, correctOf, wrong);
    const rewards = await scoreSamples(resolveReward(b.reward, b.name).fn, samples);
    const scored = samples.map((s, i) => ({
      questionIndex: s['promptIndex'] as number, reward: rewards[i]!, finishReason: s.finishReason, responseTokens: 1, responseChars: s.response.length,
    }));
    const outcomes = questionOutcomes(scored, b.records.length, n);
    assert.deepEqual(outcomes.map((q) => q.correct), b.records.map((_, i) => correctOf(i)));
    const m = accuracyMetrics(outcomes);
    const Q = b.records.length;
    const want = (k: number) => b.records.reduce((a, _, i) => a + passAtK(n, correctOf(i), k), 0) / Q;
    assert.ok(Math.abs(m.meanAtN - b.records.reduce((a, _, i) => a + correctOf(i) / n, 0) / Q) < 1e-12);
    for (const k of [1, 2, 4]) assert.ok(Math.abs(m.passAtK[k]! - want(k)) < 1e-12, `pass@${k}`);
    assert.deepEqual(metricsByLevel(outcomes), [], "ORZ's files carry no levels");
  });
}
