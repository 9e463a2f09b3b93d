// Trainer.run() and its run directory, in-process on a tiny model: a failure keeps the finished iterations
// (metrics, rollouts, a checkpoint, the report), a directory holding another run is refused unless
// overwrite or resumeFrom says otherwise, a report that cannot be written is a warning, a resumed run's
// progress counts absolute iterations, and the checkpoint policy (milestones, safety checkpoints, rolling).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TransformerLM } from '../sdk/model/index.ts';
import { trainByteLevelBPE } from '../sdk/tokenizer/index.ts';
import type { ProblemRecord } from '../sdk/data/index.ts';
import { Trainer } from '../sdk/ppo/trainer.ts';
import { resumeFrom } from '../sdk/run/loop.ts';
import { CheckpointPolicy, pruneCheckpoints } from '../sdk/run/checkpoint-policy.ts';
import type { TrainerConfigInput } from '../sdk/ppo/config.ts';
import { inProcessReward, type RewardFn, type Sample } from '../sdk/reward/index.ts';
import { setAmbientHost, type AmbientHost } from '../sdk/util/ambient.ts';
import { filesOf } from './support/files.ts';

const tokenizer = trainByteLevelBPE(['ab ba abc cab 0123456789 xyz'], { vocabSize: 270, specialTokens: ['<|endoftext|>', '<|pad|>'] });
const dataset: ProblemRecord[] = Array.from({ length: 16 }, (_, i) => ({ prompt: `q${i} ab`, groundTruth: '', source: { file: 'toy', index: i } }));
const SAMPLES_PER_ITERATION = 4; // 2 prompts x 2 samples
/** No checkpoint but the one at the end of run(), unless a test asks for more. */
const baseConfig: TrainerConfigInput = {
  seed: 3, template: '{question} >', promptsPerIteration: 2, samplesPerPrompt: 2,
  generation: { maxNewTokens: 3, stop: [] }, policyLr: 3e-2, criticLr: 1e-2, warmupSteps: 0,
  criticUpdateSteps: 1, policyUpdateSteps: 1, evalEvery: 0, saveRollouts: true,
  checkpointEvery: 0, checkpointOverhead: 0, checkpointMinutes: 0,
};
const evenFirst = (s: Sample) => (((s['responseIds'] as number[])[0] ?? 1) % 2 === 0 ? 1 : 0);

function makeTrainer(config: TrainerConfigInput = {}, reward: RewardFn = inProcessReward(evenFirst), withEval = false) {
  const policy = TransformerLM.init({
    model_type: 'orz', vocab_size: tokenizer.vocabSize, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1,
    num_attention_heads: 2, num_key_value_heads: 2, max_position_embeddings: 32, tie_word_embeddings: true, hidden_act: 'silu',
  }, 11);
  return new Trainer({ policy, tokenizer, dataset, evalDataset: withEval ? dataset.slice(0, 2) : [], reward, config: { ...baseConfig, ...config } });
}

/** A reward that throws from its (n+1)-th call on. */
function rewardFailingAfter(n: number): RewardFn {
  let calls = 0;
  return inProcessReward((s: Sample) => {
    if (++calls > n) throw new Error('the reward broke');
    return evenFirst(s);
  });
}

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'orz-rundir-'));
  try { await fn(dir); } finally { await rm(dir, { recursive: true, force: true }); }
}

async function iterationsOnDisk(dir: string): Promise<number[]> {
  return (await readFile(join(dir, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).iteration);
}


test('a reward that throws in iteration 3: the error propagates, and iterations 1-2 are recorded, checkpointed and reported', async () => {
  await withDir(async (dir) => {
    const t = makeTrainer({}, rewardFailingAfter(2 * SAMPLES_PER_ITERATION));
    const lines: string[] = [];
    await assert.rejects(t.run({ iterations: 4, runDir: dir, log: (l) => lines.push(l) }), /the reward broke/);
    assert.equal(t.iteration, 2);
    assert.deepEqual(await iterationsOnDisk(dir), [1, 2]);
    for (const f of ['checkpoints/iter-2/orz.json', 'report.html', 'rollouts/iter-1.arrow', 'rollouts/iter-2.arrow']) assert.ok(existsSync(join(dir, f)), `missing ${f}`);
    assert.equal((await readFile(join(dir, 'checkpoints', 'latest'), 'utf8')).trim(), 'iter-2');
    assert.match(await readFile(join(dir, 'report.html'), 'utf8'), /2 metrics rows · last iteration 2/);
    assert.ok(lines.includes('checkpointed iteration 2 after the error'), lines.join('\n'));
    t.dispose();
  });
});

test('run({ stop }): asked to stop during iteration 2, the run finishes it, checkpoints it and returns without an error', async () => {
  await withDir(async (dir) => {
    const stop = new AbortController();
    let calls = 0;
    // the first reward call of iteration 2 asks to stop: iteration 2 is in flight (generated, being scored)
    const t = makeTrainer({}, inProcessReward((s: Sample) => {
      if (++calls === SAMPLES_PER_ITERATION + 1) stop.abort();
      return evenFirst(s);
    }));
    const rows = await t.run({ iterations: 5, runDir: dir, stop: stop.signal, log: null });
    assert.equal(t.iteration, 2);
    assert.equal(calls, 2 * SAMPLES_PER_ITERATION, 'iteration 3 must not start');
    assert.deepEqual(rows.map((r) => r.iteration), [1, 2]);
    assert.deepEqual(await iterationsOnDisk(dir), [1, 2]);
    assert.equal((await readFile(join(dir, 'checkpoints', 'latest'), 'utf8')).trim(), 'iter-2');
    t.dispose();
  });
});

test('an evaluation that throws after iteration 2: that iteration is already on disk (row, rollouts) and is checkpointed', async () => {
  await withDir(async (dir) => {
    // iterations 1 and 2 score 8 samples; the evaluation after iteration 2 (2 records, greedy) fails
    const t = makeTrainer({ evalEvery: 2 }, rewardFailingAfter(2 * SAMPLES_PER_ITERATION), true);
    t.metrics.append({ iteration: 0 }); // skips the base-model evaluation, which would call the reward first
    await assert.rejects(t.run({ iterations: 4, runDir: dir, log: null }), /the reward broke/);
    assert.deepEqual(await iterationsOnDisk(dir), [0, 1, 2]);
    for (const f of ['rollouts/iter-2.arrow', 'checkpoints/iter-2/orz.json', 'report.html']) assert.ok(existsSync(join(dir, f)), `missing ${f}`);
    t.dispose();
  });
});

test('a run directory holding another run is refused and left as it was; overwrite replaces it; resumeFrom continues it', async () => {
  await withDir(async (dir) => {
    const first = makeTrainer();
    await first.run({ iterations: 1, runDir: dir, log: null });
    await first.run({ iterations: 2, runDir: dir, log: null }); // its own run: it goes on
    first.dispose();
    assert.deepEqual(await iterationsOnDisk(dir), [1, 2]);
    const before = await filesOf(dir);

    const other = makeTrainer();
    await assert.rejects(other.run({ iterations: 1, runDir: dir, log: null }),
      (e: Error) => e.message.includes(dir) && /already holds a run \(2 metrics rows up to iteration 2, checkpoint iter-2, 2 rollout files\); pass overwrite: true to replace it, or call resumeFrom\(trainer, runDir\) first/.test(e.message));
    assert.deepEqual(await filesOf(dir), before, 'a refused run changed the directory');

    const lines: string[] = [];
    await other.run({ iterations: 1, runDir: dir, overwrite: true, log: (l) => lines.push(l) });
    other.dispose();
    assert.ok(lines.some((l) => l.startsWith(`overwrite: removed the previous run in ${dir}`)), lines.join('\n'));
    assert.deepEqual(await iterationsOnDisk(dir), [1]);
    assert.deepEqual(await readdir(join(dir, 'rollouts')), ['iter-1.arrow']);
    assert.deepEqual((await readdir(join(dir, 'checkpoints'))).sort(), ['iter-1', 'latest']);

    const resumed = makeTrainer();
    assert.equal(await resumeFrom(resumed, dir, { log: () => {} }), true);
    await resumed.run({ iterations: 2, runDir: dir, log: null });
    resumed.dispose();
    assert.deepEqual(await iterationsOnDisk(dir), [1, 2]);
  });
});

test('report.html that cannot be written (a directory there) is a warning, and training completes', async () => {
  await withDir(async (dir) => {
    await mkdir(join(dir, 'report.html'));
    const t = makeTrainer({ checkpointEvery: 1 });
    const lines: string[] = [];
    const rows = await t.run({ iterations: 2, runDir: dir, log: (l) => lines.push(l) });
    t.dispose();
    assert.equal(rows.length, 2);
    assert.deepEqual(await iterationsOnDisk(dir), [1, 2]);
    assert.ok(existsSync(join(dir, 'checkpoints', 'iter-2', 'orz.json')));
    assert.ok(lines.some((l) => /^warning: cannot write the report .*report\.html \(training goes on\)/.test(l)), lines.join('\n'));
  });
});

test('report.html shows the run config\'s paths relative to the run directory', async () => {
  await withDir(async (dir) => {
    const runDir = join(dir, 'runs', 'paths');
    const t = makeTrainer();
    await t.run({ iterations: 1, runDir, log: null, runConfig: { name: 'paths', model: join(dir, 'models', 'base'), trainData: join(dir, 'train.json'), evalData: '/elsewhere/data/eval.jsonl', note: 'kept' } });
    t.dispose();
    const html = await readFile(join(runDir, 'report.html'), 'utf8');
    assert.ok(!html.includes(dir), `report.html contains the absolute path ${dir}`);
    assert.match(html, /&quot;model&quot;: &quot;\.\.\/\.\.\/models\/base&quot;|"model": "\.\.\/\.\.\/models\/base"/);
    assert.ok(html.includes('&quot;evalData&quot;: &quot;…/data/eval.jsonl&quot;'), 'a path outside the run\'s tree is shown by its last components');
    assert.ok(!html.includes('/elsewhere'));
    assert.match(html, /<title>orz run paths<\/title>/);
    // config.json keeps the paths as given
    assert.equal(JSON.parse(await readFile(join(runDir, 'config.json'), 'utf8')).model, join(dir, 'models', 'base'));
  });
});

test('after a resume the progress lines and the notebook bar count absolute iterations (2/3, then 3/5 .. 5/5)', async () => {
  await withDir(async (dir) => {
    const first = makeTrainer();
    await first.run({ iterations: 2, runDir: dir, log: null });
    first.dispose();

    const lines: string[] = [];
    const byLines = makeTrainer();
    await resumeFrom(byLines, dir, { log: () => {} });
    await byLines.run({ iterations: 3, runDir: dir, log: (l) => lines.push(l) });
    byLines.dispose();
    const progress = lines.filter((l) => /^iter \d+\/\d+ \[/.test(l));
    assert.deepEqual(progress.map((l) => l.split(' [')[0]), ['iter 2/3'], lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('iter 3 | reward')), lines.join('\n'));

    const calls: MimeBundleCall[] = [];
    const host: AmbientHost = { display(bundle, opts) { calls.push({ text: String(bundle['text/plain']), id: opts?.id }); } };
    setAmbientHost(host);
    try {
      const inNotebook = makeTrainer();
      await resumeFrom(inNotebook, dir, { log: () => {} });
      await inNotebook.run({ iterations: 5, runDir: dir });
      inNotebook.dispose();
    } finally {
      setAmbientHost(null);
    }
    const bar = calls.filter((c) => c.id === calls[0]!.id).map((c) => c.text.split(' [')[0]);
    assert.equal(bar[0], 'iter 3/5');
    assert.equal(bar.at(-1), 'iter 5/5');
  });
});

type MimeBundleCall = { text: string; id?: string };

test('checkpoint policy: milestones, safety checkpoints by cost and by time, and rolling removal', async () => {
  let now = 0;
  const policy = new CheckpointPolicy({ checkpointEvery: 10, checkpointOverhead: 0.1, checkpointMinutes: 5, keepCheckpoints: 1 }, () => now);
  assert.equal(policy.due(10, 1), 'milestone');
  assert.equal(policy.due(3, 1), 'safety', 'no write timed yet: assumed cheap');
  policy.wrote(0.5);
  assert.equal(policy.due(4, 10), 'safety', '0.5 s is 5% of a 10 s iteration');
  assert.equal(policy.due(4, 2), null, '0.5 s is 25% of a 2 s iteration');
  now = 5 * 60_000;
  assert.equal(policy.due(5, 2), 'safety', 'five minutes since the last checkpoint');
  const off = new CheckpointPolicy({ checkpointEvery: 0, checkpointOverhead: 0, checkpointMinutes: 0, keepCheckpoints: 1 });
  assert.equal(off.due(10, 1), null);

  await withDir(async (dir) => {
    for (const i of [2, 3, 4, 5, 6, 7]) {
      await mkdir(join(dir, 'checkpoints', `iter-${i}`), { recursive: true });
      await writeFile(join(dir, 'checkpoints', `iter-${i}`, 'orz.json'), '{}');
    }
    await pruneCheckpoints(dir, { checkpointEvery: 3, checkpointOverhead: 0.1, checkpointMinutes: 0, keepCheckpoints: 2 });
    assert.deepEqual((await readdir(join(dir, 'checkpoints'))).sort(), ['iter-3', 'iter-6', 'iter-7']);
    assert.ok((await stat(join(dir, 'checkpoints', 'iter-7', 'orz.json'))).isFile());
  });
});
