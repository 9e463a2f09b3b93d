// configs/orz-*.json, ORZ's playground runs as orz run configs: each passes run-config validation;
// `orz train configs/orz-14m-debug.json --iterations 2` runs end to end (its eval set replaced by a tiny file) from an HF cache holding a
// tiny random gpt_neox checkpoint under EleutherAI/pythia-14m (offline), with a tiny train file; a
// missing 57k file is named with where ORZ publishes it. Also: a pythia-shaped tokenizer.json.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readRunConfig } from '../sdk/run/run-config.ts';
import { arithProblems } from '../sdk/data/arith.ts';
import { resolveTemplate, applyTemplate } from '../sdk/data/template.ts';
import { pythiaShapedTokenizer, writePythiaToCache } from './support/pythia-cache.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CONFIGS = join(ROOT, 'configs');
const ORZ = join(ROOT, 'bin', 'orz.js');
const ORZ_RUNS: Record<string, { model: string; prompts: number; samples: number; maxNewTokens: number }> = {
  'orz-14m-debug.json': { model: 'EleutherAI/pythia-14m', prompts: 16, samples: 2, maxNewTokens: 1024 },
  'orz-0.5b.json': { model: 'Qwen/Qwen2.5-0.5B', prompts: 128, samples: 64, maxNewTokens: 8000 },
  'orz-1.5b.json': { model: 'Qwen/Qwen2.5-1.5B', prompts: 128, samples: 64, maxNewTokens: 8000 },
  'orz-7b.json': { model: 'Qwen/Qwen2.5-7B', prompts: 128, samples: 64, maxNewTokens: 8000 },
  'orz-32b.json': { model: 'Qwen/Qwen2.5-32B', prompts: 128, samples: 64, maxNewTokens: 8000 },
};

test('every configs/*.json passes run-config validation, with ORZ\'s values', async () => {
  const files = (await readdir(CONFIGS)).filter((f) => f.endsWith('.json')).sort();
  assert.deepEqual(files, Object.keys(ORZ_RUNS).sort());
  for (const f of files) {
    const rc = await readRunConfig(join(CONFIGS, f));
    const want = ORZ_RUNS[f]!;
    assert.equal(rc.model, want.model, f);
    const t = rc.trainer!;
    assert.equal(t.promptsPerIteration, want.prompts, f);
    assert.equal(t.samplesPerPrompt, want.samples, f);
    assert.equal(t.generation?.maxNewTokens, want.maxNewTokens, f);
    assert.deepEqual(t.generation?.stop, ['User:', 'Human:', 'Assistant:', '</answer>'], f);
    assert.equal(t.policyLr, 1e-6, f);
    assert.equal(t.criticLr, 5e-6, f);
    assert.equal(t.evalEvery, 10, f);
    assert.ok(rc.trainData.endsWith(join('data', 'orz', 'orz_math_57k_collected.json')), f);
    // ORZ's three eval sets, evaluated together every evalEvery iterations
    assert.equal(rc.evalData, undefined, f);
    assert.deepEqual(rc.evalSets?.map((s) => s.path), ['math500', 'aime2024', 'gpqa_diamond'].map((b) => join(ROOT, 'data', 'orz', 'eval_data', `${b}.json`)), f);
    const prompt = applyTemplate(resolveTemplate(t.template!), 'What is 1+1?');
    assert.ok(prompt.endsWith('This is the problem:\nWhat is 1+1?\nAssistant: <think>'), f);
    // the model's BOS text: pythia's tokenizer has <|endoftext|>, Qwen2.5's has no bos_token
    assert.equal(prompt.startsWith('<|endoftext|>A conversation between User and Assistant.'), f === 'orz-14m-debug.json', f);
  }
});

test('a pythia-shaped tokenizer.json (NFC, GPT-2 byte-level BPE) loads: NFC folds, <|endoftext|> is one id, decode round-trips', () => {
  const tok = pythiaShapedTokenizer(arithProblems({ seed: 3, count: 200, levels: [1, 2] }).map((p) => p.question));
  const composed = tok.encode('caf\u00e9 has 12 pens');
  assert.deepEqual(tok.encode('cafe\u0301 has 12 pens'), composed); // NFC: e + combining acute = é
  assert.equal(tok.decode(composed), 'caf\u00e9 has 12 pens');
  const ids = tok.encode('<|endoftext|>User: 3 + 4?');
  assert.equal(ids[0], 0);
  assert.equal(tok.decode(ids.slice(1)), 'User: 3 + 4?');
  assert.equal(tok.eosId, 0);
});

function orz(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, [ORZ, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 900_000 });
}

test('orz train configs/orz-14m-debug.json --iterations 2 runs from an offline HF cache holding EleutherAI/pythia-14m', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'orz-14m-'));
  try {
    const problems = arithProblems({ seed: 5, count: 40, levels: [1] });
    const tok = pythiaShapedTokenizer(problems.map((p) => p.question));
    const cache = join(dir, 'hf-cache');
    await writePythiaToCache(cache, 'EleutherAI/pythia-14m', tok);
    const env = { HF_HUB_CACHE: cache, HF_HUB_OFFLINE: '1', HF_ENDPOINT: 'http://127.0.0.1:9' };
    const original = JSON.parse(await readFile(join(CONFIGS, 'orz-14m-debug.json'), 'utf8'));

    // as shipped, the config names ORZ's 57k file, which is not here: the error says where ORZ publishes it
    await mkdir(join(dir, 'configs'));
    await writeFile(join(dir, 'configs', 'orz-14m-debug.json'), JSON.stringify(original));
    const missing = orz(['train', join(dir, 'configs', 'orz-14m-debug.json'), '--iterations', '2', '--runs-dir', join(dir, 'runs')], env);
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, new RegExp(`${join(dir, 'data', 'orz', 'orz_math_57k_collected.json').replace(/[.\\/]/g, '\\$&')}: cannot read: no such file`));
    assert.match(missing.stderr, /Open-Reasoner-Zero publishes it as data\/orz_math_57k_collected\.json in https:\/\/github\.com\/Open-Reasoner-Zero\/Open-Reasoner-Zero/);

    // the same config with a tiny train file and eval file in ORZ's formats, everything else kept
    await writeFile(join(dir, 'train.json'), JSON.stringify(problems.slice(0, 32).map((p) => [
      { from: 'human', value: p.question }, { from: 'assistant', ground_truth: { value: String(p.answer) } },
    ])));
    await writeFile(join(dir, 'eval.json'), JSON.stringify(problems.slice(32, 34).map((p) => ({
      prompt: [{ from: 'user', value: p.question }], final_answer: String(p.answer),
    }))));
    const config = join(dir, 'orz-14m-debug.json');
    await writeFile(config, JSON.stringify({ ...original, trainData: 'train.json', evalSets: [{ name: 'math500', path: 'eval.json' }] }));
    const started = Date.now();
    const run = orz(['train', config, '--iterations', '2', '--runs-dir', join(dir, 'runs')], env);
    assert.equal(run.status, 0, `orz train failed:\n${run.stderr.slice(-4000)}`);
    process.stderr.write(`orz-14m-debug, 2 iterations: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    const runDir = join(dir, 'runs', original.name);
    const rows = (await readFile(join(runDir, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const iterations = rows.map((r) => r['iteration']).filter((i) => typeof i === 'number' && i > 0);
    assert.deepEqual([...new Set(iterations)], [1, 2]);
    // evaluated on the base model and after the last iteration
    assert.deepEqual(rows.filter((r) => typeof r['eval/math500/mean@1'] === 'number').map((r) => r['iteration']), [0, 2]);
    const written = JSON.parse(await readFile(join(runDir, 'config.json'), 'utf8'));
    assert.equal(written.model ?? written.runConfig?.model, 'EleutherAI/pythia-14m');
    assert.ok(existsSync(join(runDir, 'checkpoints')));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
