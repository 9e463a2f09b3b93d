// `orz eval` as a user runs it: a real subprocess on the bundled model and ORZ's real eval files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyTemplate, MINI_TEMPLATE, readDataset } from '../sdk/data/index.ts';
import { loadTokenizer, saveTokenizer, trainByteLevelBPE } from '../sdk/tokenizer/index.ts';
import { TransformerLM, saveModel } from '../sdk/model/index.ts';
import { arithProblems } from '../sdk/data/arith.ts';
import { indexRanges } from '../sdk/cli/eval-context.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ORZ = join(ROOT, 'bin/orz.js');
const MODEL = 'data/mini/base'; // model_type "orz", max_position_embeddings 128
const MINI_EVAL = 'data/mini/eval.jsonl';
const MATH500 = '../shared/data/orz-eval/math500.json'; // most prompts are longer than the bundled model's context

function orz(args: string[], cwd = ROOT) {
  return spawnSync(process.execPath, [ORZ, 'eval', ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
}

function resultLine(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  assert.equal(lines.length, 1, stdout);
  return JSON.parse(lines[0]!);
}

test('orz eval picks the template from the model (mini for the bundled model) and says so', () => {
  const r = orz(['--model', MODEL, '--data', MINI_EVAL, '--limit', '4', '--max-new-tokens', '4']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /orz eval: template mini \(from the model: model_type "orz"; --template to change\)/);
  assert.match(r.stderr, /4\/4 samples/); // progress
  const out = resultLine(r.stdout);
  assert.equal(out.template, 'mini');
  assert.deepEqual([out.records, out.evaluated, out.skipped], [4, 4, 0]);
  assert.equal(typeof out.accuracy, 'number');
});

test('orz eval skips and lists the records that do not fit the context, and evaluates the rest', async () => {
  const limit = 12;
  const r = orz(['--model', MODEL, '--data', MATH500, '--limit', String(limit), '--max-new-tokens', '2']);
  assert.equal(r.status, 0, r.stderr);
  // which records fit, computed here from the tokenizer and the template
  const tokenizer = await loadTokenizer(join(ROOT, MODEL));
  const records = (await readDataset(join(ROOT, MATH500))).slice(0, limit);
  const tokens = records.map((rec) => tokenizer.encode(applyTemplate(MINI_TEMPLATE, rec.prompt)).length);
  const tooLong = tokens.flatMap((n, i) => (n > 127 ? [i] : []));
  assert.ok(tooLong.length > 0 && tooLong.length < limit, `records too long: ${tooLong}`);

  const out = resultLine(r.stdout);
  assert.deepEqual([out.records, out.evaluated, out.skipped], [limit, limit - tooLong.length, tooLong.length]);
  assert.match(r.stderr, new RegExp(`skipping ${tooLong.length} of ${limit} records: with template mini .*max_position_embeddings=128, so at most 127 prompt tokens`));
  const listed = [...r.stderr.matchAll(/math500\.json record (\d+): (\d+) prompt tokens, limit 127/g)].map((m) => [Number(m[1]), Number(m[2])]);
  assert.deepEqual(listed, tooLong.slice(0, 10).map((i) => [i, tokens[i]]));
  const longest = Math.max(...tooLong.map((i) => tokens[i]!));
  assert.match(r.stderr, new RegExp(`a model with a longer context \\(max_position_embeddings >= ${longest + 1} fits all of them\\)`));
  // fixes that do not apply are not offered: the template already is mini, and no response budget shortens a prompt
  assert.doesNotMatch(r.stderr, /--template mini|--max-new-tokens/);
  assert.match(r.stderr, new RegExp(`${limit - tooLong.length}/${limit - tooLong.length} samples`));
});

test('orz eval: more skipped records than listed are given as index ranges', () => {
  const r = orz(['--model', MODEL, '--data', MATH500, '--limit', '40', '--max-new-tokens', '1']);
  assert.equal(r.status, 0, r.stderr);
  const out = resultLine(r.stdout);
  const more = /and (\d+) more: records ([\d, -]+)\n/.exec(r.stderr);
  assert.ok(more, r.stderr);
  const indices = more[2]!.split(', ').flatMap((run) => {
    const [a, b] = run.split('-').map(Number);
    return Array.from({ length: (b ?? a!) - a! + 1 }, (_, k) => a! + k);
  });
  assert.equal(indices.length, Number(more[1]));
  assert.equal(10 + indices.length, out.skipped);
});

test('orz eval with every record too long exits 1 naming the fix, instead of an accuracy of null', () => {
  const r = orz(['--model', MODEL, '--data', MINI_EVAL, '--limit', '3', '--template', 'orz', '--max-new-tokens', '2']);
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /template orz \(--template\)/);
  assert.match(r.stderr, /eval\.jsonl record 0: \d+ prompt tokens, limit 127/);
  assert.match(r.stderr, /--template mini, a shorter template, fits all 3 of them/);
  assert.match(r.stderr, /nothing to evaluate: none of the 3 records of data\/mini\/eval\.jsonl fits the model's context \(max_position_embeddings=128\)/);
});

test('orz eval: bad flags exit 2 naming the flag; missing paths are named', async () => {
  const base = ['--model', MODEL, '--data', MINI_EVAL];
  for (const [args, message] of [
    [[...base, '--limit', 'abc'], /--limit must be a positive integer, got "abc"/],
    [[...base, '--limit', '0'], /--limit must be a positive integer, got "0"/],
    [[...base, '--max-new-tokens', 'x'], /--max-new-tokens must be a positive integer, got "x"/],
    [[...base, '--template', 'chatml'], /--template: unknown prompt template "chatml"/],
    [['--data', MINI_EVAL], /orz eval: --model is required/],
    [['--model', MODEL], /orz eval: --data is required/],
  ] as const) {
    const r = orz([...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.match(r.stderr, /usage: orz eval/);
    assert.equal(r.stdout, '');
  }
  const dir = await mkdtemp(join(tmpdir(), 'orz-eval-'));
  try {
    await writeFile(join(dir, 'config.json'), '{}');
    for (const [args, message] of [
      [['--model', 'no/such/model', '--data', MINI_EVAL], /--model no\/such\/model: no such directory/],
      [['--model', dir, '--data', MINI_EVAL], new RegExp(`--model ${dir}: no tokenizer\\.json in it`)],
      [['--model', MODEL, '--data', 'no/such/eval.jsonl'], /--data no\/such\/eval\.jsonl: no such file/],
    ] as const) {
      const r = orz([...args]);
      assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('orz eval: records near the context limit get the room their own prompt leaves, and the cut is reported', () => {
  // the bundled eval prompts have 30-50 tokens: under a 128-token context none has room for 100 new tokens
  const r = orz(['--model', MODEL, '--data', MINI_EVAL, '--limit', '3', '--max-new-tokens', '100']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /orz eval: 3 of 3 evaluated records leave room for fewer than --max-new-tokens=100 response tokens; each gets 128 minus its prompt tokens/);
  assert.deepEqual([resultLine(r.stdout).evaluated, resultLine(r.stdout).skipped], [3, 0]);
});

test('index ranges: ascending runs', () => {
  assert.equal(indexRanges([7, 1, 2, 3, 5, 9, 10]), '1-3, 5, 7, 9-10');
  assert.equal(indexRanges([4]), '4');
  assert.equal(indexRanges([]), '');
});

test('a Hugging Face model type gets ORZ\'s template; when it does not fit, the report offers --template mini', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'orz-eval-'));
  try {
    const problems = arithProblems({ seed: 2, count: 4, levels: [1] });
    const tok = trainByteLevelBPE(problems.map((p) => p.question), { vocabSize: 300, specialTokens: ['<|endoftext|>', '<|pad|>'] });
    // a context that holds the mini-templated prompts (~40 tokens) but not ORZ's long instructions
    const model = TransformerLM.init({
      model_type: 'llama', vocab_size: tok.vocabSize, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1,
      num_attention_heads: 2, max_position_embeddings: 160, eos_token_id: tok.eosId,
    }, 1);
    await saveModel(model, join(dir, 'llama'));
    await saveTokenizer(tok, join(dir, 'llama', 'tokenizer.json'));
    await writeFile(join(dir, 'eval.jsonl'), problems.map((p) => JSON.stringify({ question: p.question, answer: String(p.answer) })).join('\n'));

    const r = orz(['--model', 'llama', '--data', 'eval.jsonl', '--max-new-tokens', '2'], dir);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /orz eval: template orz \(from the model: model_type "llama"; --template to change\)/);
    assert.match(r.stderr, /skipping 4 of 4 records: with template orz/);
    assert.match(r.stderr, /--template mini, a shorter template, fits all 4 of them/);
    const mini = orz(['--model', 'llama', '--data', 'eval.jsonl', '--max-new-tokens', '2', '--template', 'mini'], dir);
    assert.equal(mini.status, 0, mini.stderr);
    assert.deepEqual([resultLine(mini.stdout).evaluated, resultLine(mini.stdout).skipped], [4, 0]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

const GPQA = '../shared/data/orz-eval/gpqa_diamond.json';

/** A few of ORZ's GPQA-Diamond records with the question cut short so the bundled model's context holds them; the last kept whole (too long). */
async function smallGpqa(dir: string): Promise<{ path: string; records: { final_answer: string; choices: Record<string, string> }[] }> {
  const { readFile } = await import('node:fs/promises');
  const all = JSON.parse(await readFile(join(ROOT, GPQA), 'utf8')) as { prompt: { value: string }[]; final_answer: string; choices: Record<string, string> }[];
  const short = all.slice(0, 4).map((r) => ({
    ...r,
    prompt: [{ from: 'user', value: r.prompt[0]!.value.split('\n')[0]!.slice(0, 40) }], // the choices are listed by the harness
    choices: Object.fromEntries(Object.entries(r.choices).map(([letter, text]) => [letter, text.slice(0, 12)])),
  }));
  const records = [...short, all[5]!];
  const path = join(dir, 'gpqa.json');
  await writeFile(path, JSON.stringify(records));
  return { path, records };
}

/** The result line without its wall-clock figures. */
const figures = (out: Record<string, unknown>) => ({ ...out, seconds: null, timing: null });

type Bench = { name: string; reward: string; questions: number; meanAtN: number; passAtK: Record<string, number>; greedyAccuracy: number | null;
  skipped: { recordIndex: number }[]; perQuestion: { correct: number }[]; firstCorrect: { groundTruth: string } | null; firstWrong: { groundTruth: string } | null };

test('orz eval on GPQA-Diamond records: a gpqa benchmark scored as multiple choice, the overlong record listed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'orz-eval-gpqa-'));
  try {
    const { path, records } = await smallGpqa(dir);
    const r = orz(['--model', MODEL, '--data', path, '--max-new-tokens', '8']);
    assert.equal(r.status, 0, r.stderr);
    const out = resultLine(r.stdout);
    const [b] = out.benchmarks as Bench[];
    assert.deepEqual([b!.name, b!.reward], ['gpqa', 'gpqa']);
    assert.deepEqual([out.records, out.evaluated, out.skipped], [5, 4, 1]);
    assert.deepEqual(b!.skipped.map((s) => s.recordIndex), [4]);
    assert.match(r.stderr, /skipping 1 of 5 records: with template mini/);
    assert.match(r.stderr, /gpqa\.json record 4: \d+ prompt tokens, limit 127/);
    const shown = (b!.firstWrong ?? b!.firstCorrect)!;
    assert.ok(records.slice(0, 4).some((rec) => rec.final_answer === shown.groundTruth) && /^[A-D]$/.test(shown.groundTruth), 'the truth is the letter');
    assert.equal(out.accuracy, b!.meanAtN);
    assert.match(r.stderr, /benchmark\s+level\s+questions\s+mean@1\s+pass@1[\s\S]*\ngpqa\s+all\s+4 /);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** 1 - C(n-c, k) / C(n, k) with the binomials formed (small n). */
function passAtKByBinomials(n: number, c: number, k: number): number {
  const choose = (a: number, b: number): number => (b < 0 || b > a ? 0 : b === 0 ? 1 : (choose(a - 1, b - 1) * a) / b);
  return 1 - choose(n - c, k) / choose(n, k);
}

test('orz eval --n 4 --temperature 1 --seed 1: mean@4 and pass@1/2/4 from the per-question counts; the same seed gives the same line', () => {
  const args = ['--model', MODEL, '--data', MINI_EVAL, '--limit', '6', '--max-new-tokens', '24', '--n', '4', '--temperature', '1', '--seed', '1'];
  const r = orz(args);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /n=4 at temperature 1, max 24 new tokens, seed 1/);
  assert.match(r.stderr, /mean@4\s+pass@1\s+pass@2\s+pass@4/);
  assert.match(r.stderr, /24\/24 samples/);
  const out = resultLine(r.stdout);
  const [b] = out.benchmarks as Bench[];
  const counts = b!.perQuestion.map((q) => q.correct);
  assert.equal(counts.length, 6);
  assert.ok(counts.every((c) => Number.isInteger(c) && c >= 0 && c <= 4));
  const mean = (f: (c: number) => number) => counts.reduce((a, c) => a + f(c), 0) / counts.length;
  assert.ok(Math.abs(b!.meanAtN - mean((c) => c / 4)) < 1e-12);
  assert.deepEqual(Object.keys(b!.passAtK), ['1', '2', '4']);
  for (const k of [1, 2, 4]) assert.ok(Math.abs(b!.passAtK[k]! - mean((c) => passAtKByBinomials(4, c, k))) < 1e-12, `pass@${k}`);
  assert.equal(b!.greedyAccuracy, null);
  assert.equal(out.accuracy, b!.meanAtN);
  assert.deepEqual(out.sampling, { n: 4, temperature: 1, topP: 1, maxNewTokens: 24, seed: 1 });

  const again = orz(args);
  assert.equal(again.status, 0, again.stderr);
  assert.deepEqual(figures(resultLine(again.stdout)), figures(out));
  const reseeded = orz(args.map((a, i) => (args[i - 1] === '--seed' ? '2' : a)));
  assert.notDeepEqual(figures(resultLine(reseeded.stdout)), figures(out), 'another seed draws other samples');

  const refused = orz(['--model', MODEL, '--data', MINI_EVAL, '--n', '4']);
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /--n 4 at --temperature 0 gives 4 identical samples per question/);
  for (const [flag, value, message] of [['--n', '0', /--n must be a positive integer/], ['--temperature=-1', null, /--temperature must be a number >= 0/], ['--seed', 'x', /--seed must be an integer >= 0/]] as const) {
    const bad = orz(['--model', MODEL, '--data', MINI_EVAL, flag, ...(value === null ? [] : [value])]);
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, message);
  }
});

test('orz eval with two files reports two benchmarks, each with its file, and accuracy by benchmark', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'orz-eval-two-'));
  try {
    const { path } = await smallGpqa(dir);
    const r = orz(['--model', MODEL, '--data', `${MINI_EVAL},${path}`, '--limit', '5', '--max-new-tokens', '8']);
    assert.equal(r.status, 0, r.stderr);
    const out = resultLine(r.stdout);
    const bs = out.benchmarks as (Bench & { file: string; records: number })[];
    assert.deepEqual(bs.map((b) => [b.name, b.reward, b.file, b.records, b.questions]), [['eval', 'math', MINI_EVAL, 5, 5], ['gpqa', 'gpqa', path, 5, 4]]);
    assert.deepEqual(out.accuracy, { eval: bs[0]!.meanAtN, gpqa: bs[1]!.meanAtN });
    assert.deepEqual([out.records, out.evaluated, out.skipped], [10, 9, 1]);
    assert.match(r.stderr, new RegExp(`orz eval: ${path.replace(/[.]/g, '\\.')}: skipping 1 of 5 records`));
    assert.match(r.stderr, /Evaluation: 2 benchmark\(s\)[\s\S]*\neval\s+all\s+5 [\s\S]*\ngpqa\s+all\s+4 /);
    // a file none of whose records fits is not evaluated, the others are; when no file has one that fits, exit 1
    const partly = orz(['--model', MODEL, '--data', `${MINI_EVAL},${MATH500}`, '--limit', '1', '--max-new-tokens', '4']);
    assert.equal(partly.status, 0, partly.stderr);
    const p = resultLine(partly.stdout);
    assert.deepEqual((p.benchmarks as Bench[]).map((b) => b.name), ['eval']);
    assert.deepEqual((p.unevaluated as { name: string; file: string; skipped: unknown[] }[]).map((u) => [u.name, u.file, u.skipped.length]), [['math500', MATH500, 1]]);
    assert.deepEqual(p.accuracy, { eval: (p.benchmarks as Bench[])[0]!.meanAtN, math500: null });
    assert.match(partly.stderr, /not evaluated: math500 \(1 records do not fit/);
    const none = orz(['--model', MODEL, '--data', `${MATH500},${path}`, '--limit', '1', '--template', 'orz']);
    assert.equal(none.status, 1, none.stderr);
    assert.match(none.stderr, new RegExp(`nothing to evaluate: none of the records of \\.\\./shared/data/orz-eval/math500\\.json \\(1\\), ${path.replace(/[.]/g, '\\.')} \\(1\\) fits the model's context`));
    const same = orz(['--model', MODEL, '--data', `${MINI_EVAL},${join(dir, 'x')},${MINI_EVAL}`]);
    assert.equal(same.status, 2);
    assert.match(same.stderr, /--data: data\/mini\/eval\.jsonl and data\/mini\/eval\.jsonl would both be benchmark "eval"/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
