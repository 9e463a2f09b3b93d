// The `orz` command as a user runs it: a real subprocess on real files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TransformerLM, saveModel } from '../sdk/model/index.ts';
import { saveTokenizer, trainByteLevelBPE } from '../sdk/tokenizer/index.ts';
import { arithProblems } from '../sdk/data/arith.ts';

const ORZ = fileURLToPath(new URL('../bin/orz.js', import.meta.url));

function orz(args: string[], cwd: string) {
  return spawnSync(process.execPath, [ORZ, ...args], { cwd, encoding: 'utf8', env: { ...process.env, ORZ_BACKEND: 'cpu' }, timeout: 240_000 });
}

async function makeProject(dir: string) {
  const problems = arithProblems({ seed: 1, count: 12, levels: [1] });
  const tok = trainByteLevelBPE(problems.map((p) => p.question), { vocabSize: 300, specialTokens: ['<|endoftext|>', '<|pad|>'], addedTokens: ['<think>', '</think>', '<answer>', '</answer>'] });
  const model = TransformerLM.init({
    model_type: 'orz', vocab_size: tok.vocabSize, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1,
    num_attention_heads: 2, max_position_embeddings: 96, tie_word_embeddings: true, hidden_act: 'silu', eos_token_id: tok.eosId,
  }, 1);
  await saveModel(model, join(dir, 'base'));
  await saveTokenizer(tok, join(dir, 'base', 'tokenizer.json'));
  await writeFile(join(dir, 'train.json'), JSON.stringify(problems.slice(0, 8).map((p) => [
    { from: 'human', value: p.question }, { from: 'assistant', ground_truth: { value: String(p.answer) } },
  ])));
  await writeFile(join(dir, 'eval.jsonl'), problems.slice(8).map((p) => JSON.stringify({ prompt: [{ from: 'user', value: p.question }], final_answer: String(p.answer) })).join('\n'));
  await writeFile(join(dir, 'cfg.json'), JSON.stringify({
    name: 'tiny', model: 'base', trainData: 'train.json', evalData: 'eval.jsonl', iterations: 2,
    trainer: { template: 'mini', promptsPerIteration: 2, samplesPerPrompt: 2, generation: { maxNewTokens: 4 }, evalGeneration: { maxNewTokens: 4 }, criticUpdateSteps: 2, evalEvery: 1, checkpointEvery: 1, policyLr: 1e-3, criticLr: 1e-3, warmupSteps: 0 },
  }));
}

test('orz train writes the run directory, and --resume continues from the checkpoint', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'orz-cli-'));
  try {
    await makeProject(dir);
    const r = orz(['train', 'cfg.json'], dir);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /backend cpu/);
    assert.match(r.stderr, /iter 2 \| reward/);
    const run = join(dir, 'runs', 'tiny');
    for (const f of ['config.json', 'metrics.jsonl', 'metrics.arrow', 'report.html', 'rollouts/iter-1.arrow', 'rollouts/iter-2.arrow', 'checkpoints/iter-2/orz.json', 'checkpoints/iter-2/policy/model.safetensors']) {
      assert.ok(existsSync(join(run, f)), `missing ${f}`);
    }
    const rows = (await readFile(join(run, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(rows.map((r) => r.iteration), [0, 1, 2]);
    assert.ok(rows.every((r) => typeof r['eval/accuracy'] === 'number'));
    assert.match(await readFile(join(run, 'report.html'), 'utf8'), /eval\/accuracy|Eval accuracy/);

    const again = orz(['train', 'cfg.json', '--resume', '--iterations', '3'], dir);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /resumed at iteration 2/);
    const rows2 = (await readFile(join(run, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(rows2.map((r) => r.iteration), [0, 1, 2, 3]);
    assert.deepEqual((await readdir(join(run, 'checkpoints'))).sort(), ['iter-1', 'iter-2', 'iter-3', 'latest']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('orz reports bad input by file and field, and bad usage with exit 2', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'orz-cli-'));
  try {
    await writeFile(join(dir, 'bad.json'), '{"name": "x", "model": "m", "trainData": "t.json", "iterations": 0}');
    const r = orz(['train', 'bad.json'], dir);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /bad\.json: iterations must be a positive integer, got 0/);
    const missing = orz(['train', 'nope.json'], dir);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /nope\.json: no such file/);
    const usage = orz(['frobnicate'], dir);
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /unknown command "frobnicate"/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
