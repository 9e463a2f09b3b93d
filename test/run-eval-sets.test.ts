// A run config's evalSets: periodic eval with the harness during `orz train`, several benchmarks at once, each
// logged as eval/<name>/... columns; mistakes in the field are errors naming the file and the field path.
// Real files: the bundled base model, its train split, and eval files written from its eval split.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readRunConfig } from '../sdk/run/run-config.ts';
import { benchmarkFromFile, evaluate, evalMetricsRow } from '../sdk/eval/index.ts';
import { loadModel } from '../sdk/model/index.ts';
import { loadTokenizer } from '../sdk/tokenizer/index.ts';
import { resolveTrainerConfig } from '../sdk/ppo/config.ts';
import { evalSetSampling } from '../sdk/run/eval-sets.ts';
import { trainingChart } from '../sdk/run/training-chart.ts';

const ORZ = fileURLToPath(new URL('../bin/orz.js', import.meta.url));
const MINI = fileURLToPath(new URL('../data/mini/', import.meta.url));

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'orz-evalsets-'));
  try { await fn(dir); } finally { await rm(dir, { recursive: true, force: true }); }
}

const BASE = { name: 'x', model: 'no-such-model', trainData: 'no-such-train.json', iterations: 2 };

async function errorOf(dir: string, config: Record<string, unknown>): Promise<string> {
  const file = join(dir, 'cfg.json');
  await writeFile(file, JSON.stringify(config));
  try { await readRunConfig(file); } catch (e) { return (e as Error).message; }
  assert.fail(`readRunConfig accepted ${JSON.stringify(config)}`);
}

test('evalSets mistakes are errors naming the file and the field path, before anything loads', () => withDir(async (dir) => {
  const file = join(dir, 'cfg.json');
  const cases: [unknown, RegExp][] = [
    [[{ path: 'a.json', limt: 5 }], /cfg\.json: unknown field evalSets\[0\]\.limt \(did you mean limit\?\)/],
    [[{ path: 'a.json' }, { path: 'b.json', limit: '5' }], /cfg\.json: evalSets\[1\]\.limit must be a positive integer, got the string "5"/],
    [[{ path: 'a.json', reward: 'gpq' }], /cfg\.json: evalSets\[0\]\.reward must be "math", "math-fixed" or "gpqa", got the string "gpq" \(did you mean "gpqa"\?\)/],
    [[{ name: 'a' }], /cfg\.json: evalSets\[0\]\.path is missing/],
    [[{ path: 'a.json', name: 'a/b' }], /cfg\.json: evalSets\[0\]\.name must be a name of letters, digits/],
    [{ path: 'a.json' }, /cfg\.json: evalSets must be an array of eval sets/],
    [[{ path: 'x/math500.json' }, { path: 'y/math500.json' }], /cfg\.json: evalSets\[1\] and evalSets\[0\] are both named "math500"/],
    [[{ path: 'aime 2024.json' }], /cfg\.json: evalSets\[0\]: the file name "aime 2024" is not a name of letters.*give evalSets\[0\]\.name/],
  ];
  for (const [evalSets, want] of cases) {
    const message = await errorOf(dir, { ...BASE, evalSets });
    assert.match(message, want);
    assert.ok(message.startsWith(file), message);
  }
  const greedyN = await errorOf(dir, { ...BASE, evalSets: [{ path: 'a.json' }], trainer: { evalGeneration: { temperature: 0, n: 4 } } });
  assert.match(greedyN, /cfg\.json: trainer\.evalGeneration\.n is 4 at temperature 0/);
  // paths are relative to the config's directory
  await writeFile(file, JSON.stringify({ ...BASE, evalSets: [{ path: 'sub/a.json', limit: 3 }] }));
  assert.deepEqual((await readRunConfig(file)).evalSets, [{ path: join(dir, 'sub', 'a.json'), limit: 3 }]);
}));

function orz(args: string[], cwd: string) {
  return spawnSync(process.execPath, [ORZ, ...args], { cwd, encoding: 'utf8', timeout: 300_000 });
}

const rowsOf = async (runDir: string) => (await readFile(join(runDir, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
const evalColumns = (row: Record<string, number>) => Object.fromEntries(Object.entries(row).filter(([k]) => k.startsWith('eval/') && k !== 'eval/time'));

test('orz train with two eval sets logs eval/<name>/mean@n and pass@k for each at every evaluation, the same for the same seed', () => withDir(async (dir) => {
  const lines = (await readFile(join(MINI, 'eval.jsonl'), 'utf8')).trim().split('\n');
  await writeFile(join(dir, 'steps.jsonl'), `${lines.slice(40, 45).join('\n')}\n`);
  const trainer = {
    seed: 3, template: 'mini', promptsPerIteration: 4, samplesPerPrompt: 2, generation: { maxNewTokens: 24 },
    evalGeneration: { temperature: 1, maxNewTokens: 24, n: 4 }, criticUpdateSteps: 1, evalEvery: 1, checkpointEvery: 0, kl: { log: false },
  };
  await writeFile(join(dir, 'cfg.json'), JSON.stringify({
    name: 'sets', model: join(MINI, 'base'), trainData: join(MINI, 'train.json'), iterations: 2, trainer,
    evalSets: [{ name: 'mini', path: join(MINI, 'eval.jsonl'), limit: 6 }, { path: 'steps.jsonl' }],
  }));
  const first = orz(['train', 'cfg.json', '--runs-dir', 'runs'], dir);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stderr, /iter 0 \| mini mean@4 \d\.\d{3} \| steps mean@4 \d\.\d{3}/);
  const rows = await rowsOf(join(dir, 'runs', 'sets'));
  assert.deepEqual(rows.map((r) => r['iteration']), [0, 1, 2]);
  for (const row of rows) {
    for (const [name, questions] of [['mini', 6], ['steps', 5]] as const) {
      for (const m of ['mean@4', 'pass@1', 'pass@2', 'pass@4', 'response_length', 'truncated_fraction']) {
        assert.equal(typeof row[`eval/${name}/${m}`], 'number', `iteration ${row['iteration']}: eval/${name}/${m}`);
      }
      assert.equal(row[`eval/${name}/questions`], questions);
      assert.ok(row[`eval/${name}/pass@4`]! >= row[`eval/${name}/mean@4`]!);
    }
    assert.equal(typeof row['eval/mini/level/4/mean@4'], 'number'); // the records' levels
    assert.equal(row['eval/accuracy'], undefined); // no evalData
  }

  // the live chart and the report plot each set's mean@n
  assert.deepEqual(trainingChart(rows).data.map((t) => (t as { name: string }).name).slice(2), ['mini mean@4', 'steps mean@4']);
  assert.match(await readFile(join(dir, 'runs', 'sets', 'report.html'), 'utf8'), /"name":"eval\/steps\/mean@4"/);

  // iteration 0 is the base model: the columns are the harness's figures at the seed derived from the run seed
  const [model, tokenizer, mini, steps] = await Promise.all([
    loadModel(join(MINI, 'base')), loadTokenizer(join(MINI, 'base')),
    benchmarkFromFile(join(MINI, 'eval.jsonl'), { name: 'mini', template: 'mini' }), benchmarkFromFile(join(dir, 'steps.jsonl'), { template: 'mini' }),
  ]);
  const report = await evaluate({
    model, tokenizer, benchmarks: [{ ...mini, records: mini.records.slice(0, 6) }, steps],
    sampling: evalSetSampling(resolveTrainerConfig(trainer)), overlong: 'shorten',
  });
  assert.deepEqual(evalColumns(rows[0]!), evalMetricsRow(report));

  const second = orz(['train', 'cfg.json', '--runs-dir', 'runs', '--name', 'again'], dir);
  assert.equal(second.status, 0, second.stderr);
  const again = await rowsOf(join(dir, 'runs', 'again'));
  assert.deepEqual(again.map(evalColumns), rows.map(evalColumns));
}));

test('an eval set that cannot be used is named when the trainer is built: a missing file (with where ORZ publishes it), gpqa without choices', () => withDir(async (dir) => {
  const { trainerFromRunConfig } = await import('../sdk/run/run-config.ts');
  const base = { name: 'x', model: join(MINI, 'base'), trainData: join(MINI, 'train.json'), iterations: 1, trainer: { template: 'mini' } };
  const missing = join(dir, 'eval_data', 'aime2024.json');
  await assert.rejects(trainerFromRunConfig({ ...base, evalSets: [{ path: missing }] }, { configSource: 'cfg.json' }),
    (e: Error) => e.message.includes(`${missing}: cannot read: no such file; Open-Reasoner-Zero publishes it as data/eval_data/aime2024.json`));
  await assert.rejects(trainerFromRunConfig({ ...base, evalSets: [{ path: join(MINI, 'eval.jsonl'), reward: 'gpqa' }] }, { configSource: 'cfg.json' }),
    /cfg\.json: evalSets\[0\]\.reward is "gpqa" but the records of .*eval\.jsonl have no "choices"/);
}));
