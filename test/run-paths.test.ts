// The paths a run directory shows, accepted wherever a model or checkpoint is: `checkpoints/latest`,
// `checkpoints/latest/policy` and a checkpoint directory `iter-N` load as the policy model (loadModel,
// loadTokenizer, `orz eval --model`, a run config's "model"), and as the checkpoint (loadCheckpoint, resumeFrom).
// A real `orz train` run on the bundled model provides the directory.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../sdk/model/index.ts';
import { loadTokenizer } from '../sdk/tokenizer/index.ts';
import { readRunConfig, trainerFromRunConfig } from '../sdk/run/run-config.ts';
import { loadCheckpoint } from '../sdk/run/checkpoint.ts';
import { resumeFrom } from '../sdk/run/resume.ts';

const ORZ = fileURLToPath(new URL('../bin/orz.js', import.meta.url));
const MINI = fileURLToPath(new URL('../data/mini/', import.meta.url));

function orz(args: string[], cwd: string) {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['ORZ_FAILPOINT'];
  return spawnSync(process.execPath, [ORZ, ...args], { cwd, encoding: 'utf8', env, timeout: 120_000 });
}

let work: string;
let run: string;
let checkpoints: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'orz-paths-'));
  await writeFile(join(work, 'cfg.json'), JSON.stringify({
    name: 'paths', model: join(MINI, 'base'), trainData: join(MINI, 'train.json'), iterations: 2,
    trainer: {
      seed: 1, template: 'mini', promptsPerIteration: 2, samplesPerPrompt: 2, generation: { maxNewTokens: 8 },
      criticUpdateSteps: 1, evalEvery: 0, checkpointEvery: 1, checkpointOverhead: 0, checkpointMinutes: 0, kl: { log: false },
    },
  }));
  const r = orz(['train', 'cfg.json'], work);
  assert.equal(r.status, 0, r.stderr);
  run = join(work, 'runs', 'paths');
  checkpoints = join(run, 'checkpoints');
  assert.equal((await readFile(join(checkpoints, 'latest'), 'utf8')).trim(), 'iter-2');
});

after(async () => { await rm(work, { recursive: true, force: true }); });

async function weightsOf(path: string): Promise<Map<string, number[]>> {
  const model = await loadModel(path);
  try {
    return new Map([...model.weights].map(([name, v]) => [name, Array.from(v.dataSync())]));
  } finally {
    model.dispose();
  }
}

test('loadModel and loadTokenizer take checkpoints/latest, latest/policy and iter-N as the policy model', async () => {
  const policy2 = await weightsOf(join(checkpoints, 'iter-2', 'policy'));
  assert.deepEqual(await weightsOf(join(checkpoints, 'latest')), policy2);
  assert.deepEqual(await weightsOf(join(checkpoints, 'latest', 'policy')), policy2);
  assert.deepEqual(await weightsOf(join(checkpoints, 'iter-2')), policy2);
  assert.notDeepEqual(await weightsOf(join(checkpoints, 'iter-1')), policy2);
  const tok = await loadTokenizer(join(checkpoints, 'latest'));
  assert.equal(tok.vocabSize, (await loadTokenizer(join(MINI, 'base'))).vocabSize);
});

test('latest means the newest complete checkpoint, even when the pointer file lags behind it', async () => {
  const copy = join(work, 'lagging');
  await mkdir(copy);
  spawnSync('cp', ['-r', run, copy]);
  const lagging = join(copy, 'paths', 'checkpoints');
  await writeFile(join(lagging, 'latest'), 'iter-1'); // a crash between iter-2's rename and the pointer's update
  assert.deepEqual(await weightsOf(join(lagging, 'latest')), await weightsOf(join(lagging, 'iter-2', 'policy')));

  await rm(join(lagging, 'iter-1'), { recursive: true });
  await rm(join(lagging, 'iter-2', 'orz.json')); // no complete checkpoint left
  await assert.rejects(loadModel(join(lagging, 'latest')), (e: Error) => e.message.includes(`${join(lagging, 'latest')}: no complete checkpoint`));
});

test('orz eval --model runs/x/checkpoints/latest evaluates the newest policy', () => {
  const r = orz(['eval', '--model', join('runs', 'paths', 'checkpoints', 'latest'), '--data', join(MINI, 'eval.jsonl'), '--limit', '2', '--max-new-tokens', '4'], work);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /template mini \(from the model/);
});

test('a run config whose model is another run\'s checkpoints/latest starts from that policy', async () => {
  await writeFile(join(work, 'next.json'), JSON.stringify({
    name: 'next', model: 'runs/paths/checkpoints/latest', trainData: join(MINI, 'train.json'), iterations: 1, trainer: { template: 'mini', promptsPerIteration: 2, samplesPerPrompt: 2, generation: { maxNewTokens: 8 } },
  }));
  const dry = orz(['train', 'next.json', '--dry-run'], work);
  assert.equal(dry.status, 0, dry.stdout + dry.stderr);
  const trainer = await trainerFromRunConfig(await readRunConfig(join(work, 'next.json')));
  const policy2 = await weightsOf(join(checkpoints, 'iter-2', 'policy'));
  for (const [name, v] of trainer.policy.weights) assert.deepEqual(Array.from(v.dataSync()), policy2.get(name), name);
});

test('loadCheckpoint and resumeFrom take checkpoints/latest; resumeFrom refuses a single checkpoint, naming its run', async () => {
  const rc = await readRunConfig(join(work, 'cfg.json'));
  const trainer = await trainerFromRunConfig(rc);
  const meta = await loadCheckpoint(trainer, join(checkpoints, 'latest'));
  assert.equal(meta.iteration, 2);
  const fresh = await trainerFromRunConfig(rc);
  assert.equal(await resumeFrom(fresh, join(checkpoints, 'latest'), { log: () => {} }), true);
  assert.equal(fresh.iteration, 2);
  await assert.rejects(resumeFrom(await trainerFromRunConfig(rc), join(checkpoints, 'iter-1')),
    (e: Error) => e.message.includes(`iter-1 is one checkpoint; pass its run directory (${run})`));
});
