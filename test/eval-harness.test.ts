// The evaluation harness end to end on the bundled tiny model and its held-out problems (data/mini): n samples
// at temperature 1, the report's figures against the scored samples, determinism by seed, greedy, the abort
// signal stopping generation, and prompts that do not fit the model's context.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '../sdk/engine/backend.ts';
import { loadModel, type TransformerLM } from '../sdk/model/index.ts';
import { loadTokenizer, type Tokenizer } from '../sdk/tokenizer/index.ts';
import { RolloutEngine } from '../sdk/rollout/engine.ts';
import type { RolloutBatch } from '../sdk/rollout/rollout-batch.ts';
import { closeRewardPools } from '../sdk/reward/index.ts';
import { JUPYTER_DISPLAY } from '../sdk/viz/index.ts';
import { MINI_TEMPLATE } from '../sdk/data/index.ts';
import {
  benchmarkFromFile, benchmarkSeed, DEFAULT_EVAL_SAMPLING, evalMetricsRow, evaluate, formatEvalReport, meanAtN, passAtK, recordPrompt,
  type EvalBenchmark, type EvalProgress, type EvalReport,
} from '../sdk/eval/index.ts';

const MINI = fileURLToPath(new URL('../data/mini/', import.meta.url));
const ORZ_EVAL = fileURLToPath(new URL('../../shared/data/orz-eval/', import.meta.url));
const SAMPLING = { n: 2, temperature: 1, maxNewTokens: 40, seed: 7 };

let model: TransformerLM;
let tokenizer: Tokenizer;
let mini: EvalBenchmark;

before(async () => {
  await selectBackend();
  [model, tokenizer] = await Promise.all([loadModel(`${MINI}base`), loadTokenizer(`${MINI}base`)]);
  mini = await benchmarkFromFile(`${MINI}eval.jsonl`, { template: 'mini' });
});
after(() => closeRewardPools());

/** The report without its wall-clock part. */
const figures = (r: EvalReport) => ({ ...r, timing: null });

test('n=2 at temperature 1 on 5 mini problems: mean@n, pass@k, levels, lengths and samples agree with the scored samples', async () => {
  const batches: RolloutBatch[] = [];
  const phases: string[] = [];
  const report = await evaluate({
    model, tokenizer, benchmarks: [mini], sampling: SAMPLING, limit: 5,
    onBatch: (name, batch) => { assert.equal(name, 'eval'); batches.push(batch); },
    onProgress: (p) => { if (phases.at(-1) !== p.phase) phases.push(p.phase); },
  });
  assert.deepEqual(phases, ['generate', 'score', 'done']);
  assert.equal(report.benchmarks.length, 1);
  const b = report.benchmarks[0]!;
  assert.equal(b.name, 'eval');
  assert.equal(b.reward, 'math');
  assert.equal(b.template, 'mini');
  assert.equal(b.questions, 5);
  assert.equal(b.samplesPerQuestion, 2);
  assert.equal(b.greedyAccuracy, null);

  const samples = batches[0]!.samples();
  assert.equal(samples.length, 10);
  const correct = [0, 1, 2, 3, 4].map((q) => samples.filter((s) => s.promptIndex === q && s.reward! > 0.5).length);
  assert.deepEqual(b.perQuestion.map((q) => q.correct), correct);
  assert.equal(b.meanAtN, meanAtN(correct.map((c) => ({ n: 2, correct: c }))));
  assert.deepEqual(Object.keys(b.passAtK), ['1', '2']);
  assert.equal(b.passAtK[2], correct.reduce((a, c) => a + passAtK(2, c, 2), 0) / 5);
  assert.equal(b.lengths.meanTokens, samples.reduce((a, s) => a + s.responseIds.length, 0) / 10);
  assert.equal(b.lengths.meanChars, samples.reduce((a, s) => a + s.response.length, 0) / 10);
  assert.equal(b.lengths.truncatedFraction, samples.filter((s) => s.finishReason === 'length').length / 10);
  // the mini eval set has levels 3 and 4; each level's questions add up to the whole
  assert.deepEqual(b.byLevel.map((l) => l.questions).reduce((a, x) => a + x, 0), 5);
  for (const l of b.byLevel) {
    const qs = b.perQuestion.filter((q) => q.level === l.level);
    assert.equal(l.meanAtN, qs.reduce((a, q) => a + q.correct / 2, 0) / qs.length, `level ${l.level}`);
  }
  // the samples to inspect are the first correct and the first wrong one, with their extracted answer
  const firstRight = samples.find((s) => s.reward! > 0.5);
  const firstWrong = samples.find((s) => s.reward! <= 0.5);
  assert.equal(b.firstCorrect?.response ?? null, firstRight?.response ?? null);
  assert.equal(b.firstWrong?.response ?? null, firstWrong?.response ?? null);
  if (b.firstWrong) assert.equal(b.firstWrong.question, mini.records[b.firstWrong.recordIndex]!.prompt);
  assert.ok(b.firstCorrect || b.firstWrong);

  const row = evalMetricsRow(report);
  assert.equal(row['eval/eval/mean@2'], b.meanAtN);
  assert.equal(row['eval/eval/pass@2'], b.passAtK[2]);
  assert.equal(row['eval/eval/response_length'], b.lengths.meanTokens);
  assert.equal(row['eval/eval/truncated_fraction'], b.lengths.truncatedFraction);
  assert.match(formatEvalReport(report), /n=2 at temperature 1[\s\S]*mean@2\s+pass@1\s+pass@2/);
  assert.deepEqual(JSON.parse(JSON.stringify(figures(report))), figures(report), 'the report is plain JSON');
  const bundle = (report as unknown as Record<symbol, () => Record<string, string>>)[JUPYTER_DISPLAY]!();
  assert.match(bundle['text/html']!, /<table[\s\S]*mean@2/, 'a notebook shows the report as a table');
});

test('the same seed gives the same report twice; another seed other samples; adding a benchmark before it changes nothing', async () => {
  const suite = { model, tokenizer, sampling: SAMPLING, limit: 4 };
  const first = await evaluate({ ...suite, benchmarks: [mini] });
  const again = await evaluate({ ...suite, benchmarks: [{ ...mini, name: 'other' }, mini] });
  assert.deepEqual(figures({ ...again, benchmarks: again.benchmarks.slice(1) }), figures(first));
  assert.equal(again.benchmarks[0]!.name, 'other');
  const reseeded = await evaluate({ ...suite, benchmarks: [mini], sampling: { ...SAMPLING, seed: 8 } });
  const responses = (r: EvalReport) => [r.benchmarks[0]!.firstCorrect?.response, r.benchmarks[0]!.firstWrong?.response, r.benchmarks[0]!.lengths];
  assert.notDeepEqual(responses(reseeded), responses(first));
});

test('greedy (n=1, temperature 0) reports greedy accuracy; temperature 0 with n > 1 is refused; a RewardFn scores', async () => {
  const closed = function closedAnswer(s: { response: string }) { return s.response.includes('</answer>') ? 1 : 0; };
  const report = await evaluate({
    model, tokenizer, benchmarks: [mini, { ...mini, name: 'closed', reward: closed }], sampling: { maxNewTokens: 40 }, limit: 4,
  });
  const b = report.benchmarks[0]!;
  const c = report.benchmarks[1]!;
  assert.equal(c.reward, 'closedAnswer');
  assert.ok(c.meanAtN >= b.meanAtN, 'a correct answer is a closed one');
  assert.equal(b.greedyAccuracy, b.meanAtN);
  assert.deepEqual(Object.keys(b.passAtK), ['1']);
  assert.equal(evalMetricsRow(report)['eval/eval/greedy_accuracy'], b.meanAtN);
  await assert.rejects(evaluate({ model, tokenizer, benchmarks: [mini], sampling: { n: 4, temperature: 0 } }), /temperature 0 gives 4 identical samples/);
  await assert.rejects(evaluate({ model, tokenizer, benchmarks: [{ ...mini, reward: 'gpqa' }] }), /benchmark eval, record 0 .*eval\.jsonl\) has no "choices" for the 'gpqa' reward/);
});

test('aborting stops generation: no further batch of rows is generated and evaluate rejects with the reason', async () => {
  const engine = new RolloutEngine(model, tokenizer, { maxBatchRows: 2 }); // progress after every 2 rows
  const controller = new AbortController();
  const generated: EvalProgress[] = [];
  const run = evaluate({
    engine, benchmarks: [mini, { ...mini, name: 'second' }], sampling: SAMPLING, limit: 6, signal: controller.signal,
    onProgress: (p) => {
      if (p.phase === 'generate' && p.finished > 0) generated.push(p);
      if (p.finished >= 2) controller.abort(new Error('stop here'));
    },
  });
  await assert.rejects(run, /stop here/);
  assert.deepEqual(generated.map((p) => [p.benchmark, p.finished, p.total]), [['eval', 2, 12]]);
});

test("ORZ's files with the tiny model: a prompt that does not fit is an error naming it (before any generation), or skipped and listed", async () => {
  const aime = await benchmarkFromFile(`${ORZ_EVAL}aime2024.json`);
  const suite = { model, tokenizer, sampling: { maxNewTokens: 64 } };
  const phases: string[] = [];
  await assert.rejects(evaluate({ ...suite, benchmarks: [mini, aime], onProgress: (p) => phases.push(p.phase) }),
    /benchmark aime2024, record 0 .*aime2024\.json.*exceed the model's context of 128 tokens/);
  assert.deepEqual(phases, [], 'every benchmark is checked before the first is generated');
  await assert.rejects(evaluate({ ...suite, benchmarks: [mini, { ...mini, name: 'b', reward: 'toString' as 'math' }] }), /benchmark b: unknown reward "toString"/);
  const report = await evaluate({ ...suite, benchmarks: [aime, mini], overlong: 'skip', limit: 3 });
  assert.deepEqual(report.benchmarks.map((b) => b.name), ['eval']);
  assert.equal(report.unevaluated[0]!.name, 'aime2024');
  assert.deepEqual(report.unevaluated[0]!.skipped.map((s) => s.recordIndex), [0, 1, 2]);
  assert.ok(report.unevaluated[0]!.skipped.every((s) => s.promptTokens + 64 > 128));
  assert.deepEqual([evalMetricsRow(report)['eval/aime2024/questions'], evalMetricsRow(report)['eval/aime2024/skipped']], [0, 3]);
  assert.match(formatEvalReport(report), /not evaluated: aime2024 \(3 records do not fit/);
});

test("overlong 'shorten': a record gets the room its prompt leaves, generated by budget, with the samples it draws alone", async () => {
  // the mini prompts have 30-50 tokens: under a 128-token context, 90 new tokens fit some of them and not others
  const sampling = { ...SAMPLING, maxNewTokens: 90 };
  const limit = 8;
  const batches: RolloutBatch[] = [];
  const progress: EvalProgress[] = [];
  const report = await evaluate({
    model, tokenizer, benchmarks: [mini], sampling, limit, overlong: 'shorten',
    onBatch: (_, batch) => batches.push(batch), onProgress: (p) => progress.push(p),
  });
  const b = report.benchmarks[0]!;
  const prompts = mini.records.slice(0, limit).map((r, i) => recordPrompt(r, MINI_TEMPLATE, i));
  const tokens = prompts.map((p) => tokenizer.encode(p.prompt).length);
  const cut = tokens.flatMap((t, i) => (t + 90 > 128 ? [{ recordIndex: i, promptTokens: t, budget: 128 - t }] : []));
  assert.ok(cut.length > 0 && cut.length < limit && new Set(cut.map((c) => c.budget)).size > 1, `budgets ${tokens.map((t) => 128 - t)}`);
  assert.deepEqual(b.shortened, cut);
  assert.deepEqual([b.questions, b.skipped], [limit, []]);
  assert.equal(evalMetricsRow(report)['eval/eval/shortened'], cut.length);
  assert.match(formatEvalReport(report), /skipped\s+shortened/);
  // progress counts on across the groups, up to every sample once
  const generating = progress.filter((p) => p.phase === 'generate').map((p) => p.finished);
  assert.deepEqual(generating, [...generating].sort((x, y) => x - y));
  assert.equal(generating.at(-1), limit * 2);

  const samples = batches[0]!.samples();
  assert.deepEqual(samples.map((s) => [s.promptIndex, s.sampleIndex]), prompts.flatMap((_, i) => [[i, 0], [i, 1]]), 'in record order');
  const engine = new RolloutEngine(model, tokenizer);
  for (const [i, prompt] of prompts.entries()) {
    const budget = Math.min(90, 128 - tokens[i]!);
    const mine = samples.filter((s) => s.promptIndex === i);
    assert.ok(mine.every((s) => s.responseIds.length <= budget), `record ${i} keeps to its budget ${budget}`);
    const alone = (await engine.generate([prompt], {
      ...sampling, maxNewTokens: budget, stop: DEFAULT_EVAL_SAMPLING.stop, seed: benchmarkSeed(7, 'eval'),
    }, { promptIndices: [i] })).samples();
    assert.deepEqual(mine.map((s) => s.responseIds), alone.map((s) => s.responseIds), `record ${i}: the same samples alone as in its group`);
  }
  await assert.rejects(evaluate({ model, tokenizer, benchmarks: [mini], sampling, limit }), /lower maxNewTokens, or pass overlong: 'skip' or 'shorten'/);
});

test("overlong 'shorten' skips only the records with no room at all, listed as with 'skip'", async () => {
  const aime = await benchmarkFromFile(`${ORZ_EVAL}aime2024.json`, { template: 'mini' });
  const report = await evaluate({ model, tokenizer, benchmarks: [aime, mini], sampling: { maxNewTokens: 8 }, limit: 4, overlong: 'shorten' });
  const prompts = aime.records.slice(0, 4).map((r, i) => recordPrompt(r, MINI_TEMPLATE, i));
  const noRoom = prompts.flatMap((p, i) => {
    const t = tokenizer.encode(p.prompt).length;
    return t >= 128 ? [{ recordIndex: i, promptTokens: t }] : [];
  });
  assert.ok(noRoom.length > 0);
  const skipped = report.unevaluated.find((u) => u.name === 'aime2024')?.skipped ?? report.benchmarks.find((b) => b.name === 'aime2024')!.skipped;
  assert.deepEqual(skipped, noRoom);
  await assert.rejects(evaluate({ model, tokenizer, benchmarks: [mini], overlong: 'cut' as 'skip' }), /overlong must be 'error', 'skip', 'shorten', got "cut"/);
});
