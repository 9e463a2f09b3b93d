// `orz train` never destroys a run: a second run in the same directory is refused (every file left
// byte-identical) unless --resume or --overwrite; --resume without a checkpoint over finished iterations is
// refused; a resumed run's progress counts absolute iterations; report.html shows no absolute paths.
// Real subprocesses on data/mini/base with two prompts x two samples of 12 tokens.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { filesOf } from './support/files.ts';

const ORZ = fileURLToPath(new URL('../bin/orz.js', import.meta.url));
const REPO = fileURLToPath(new URL('..', import.meta.url));
const MINI = join(REPO, 'data', 'mini');

function orz(args: string[], cwd: string) {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['ORZ_FAILPOINT'];
  const r = spawnSync(process.execPath, [ORZ, ...args], { cwd, encoding: 'utf8', env, timeout: 120_000 });
  return { code: r.status, stderr: r.stderr };
}


async function iterations(run: string): Promise<number[]> {
  return (await readFile(join(run, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).iteration);
}

let work: string;
let run: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'orz-cli-rundir-'));
  run = join(work, 'runs', 'keep');
  // a project laid out like data/mini: the config's paths are relative to it
  await cp(join(MINI, 'base'), join(work, 'base'), { recursive: true });
  for (const f of ['train.json', 'eval.jsonl']) await cp(join(MINI, f), join(work, f));
  await writeFile(join(work, 'cfg.json'), JSON.stringify({
    name: 'keep', model: 'base', trainData: 'train.json', evalData: 'eval.jsonl', evalLimit: 2, iterations: 2,
    trainer: {
      seed: 1, template: 'mini', promptsPerIteration: 2, samplesPerPrompt: 2, generation: { maxNewTokens: 12 },
      evalGeneration: { temperature: 0, maxNewTokens: 12, n: 1 }, criticUpdateSteps: 1, evalEvery: 2, checkpointEvery: 2, kl: { log: false },
    },
  }));
  const r = orz(['train', 'cfg.json'], work);
  assert.equal(r.code, 0, r.stderr);
});

after(async () => { await rm(work, { recursive: true, force: true }); });

test('a second orz train on the same run is refused, naming what is there, and changes nothing', async () => {
  const before = await filesOf(run);
  const r = orz(['train', 'cfg.json'], work);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /runs\/keep already holds a run \(3 metrics rows up to iteration 2, checkpoint iter-2, 2 rollout files\)\. Continue it with --resume, replace it with --overwrite/);
  assert.deepEqual(await filesOf(run), before, 'the refused command changed the run directory');

  const both = orz(['train', 'cfg.json', '--resume', '--overwrite'], work);
  assert.equal(both.code, 2, both.stderr);
  assert.match(both.stderr, /--resume continues the run and --overwrite replaces it; give one of them/);
  assert.deepEqual(await filesOf(run), before);
});

test('--resume counts progress in absolute iterations, and report.html holds no absolute path', async () => {
  const r = orz(['train', 'cfg.json', '--resume', '--iterations', '3'], work);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /resumed at iteration 2/);
  assert.match(r.stderr, /^iter 2\/3 \[/m);
  assert.doesNotMatch(r.stderr, /^iter \d+\/1 /m);
  assert.match(r.stderr, /^iter 3 \| reward/m);
  assert.deepEqual(await iterations(run), [0, 1, 2, 3]);
  const html = await readFile(join(run, 'report.html'), 'utf8');
  for (const prefix of [work, REPO, tmpdir() + '/']) assert.ok(!html.includes(prefix), `report.html contains ${prefix}`);
  assert.ok(html.includes('&quot;model&quot;: &quot;../../base&quot;'), 'the model path is shown relative to the run');
});

test('--overwrite replaces the run; --resume without a checkpoint over finished iterations is refused and changes nothing', async () => {
  const r = orz(['train', 'cfg.json', '--overwrite', '--iterations', '1'], work);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /overwrite: removed the previous run in \S*runs\/keep \(4 metrics rows up to iteration 3/);
  assert.deepEqual(await iterations(run), [0, 1]);
  assert.deepEqual(await readdir(join(run, 'rollouts')), ['iter-1.arrow']);
  assert.deepEqual((await readdir(join(run, 'checkpoints'))).sort(), ['iter-1', 'latest']);

  await rm(join(run, 'checkpoints'), { recursive: true });
  const before = await filesOf(run);
  const resume = orz(['train', 'cfg.json', '--resume'], work);
  assert.equal(resume.code, 1, resume.stderr);
  assert.match(resume.stderr, /resume: \S*runs\/keep has no checkpoint to continue from, but holds 2 metrics rows up to iteration 1, no checkpoint, 1 rollout file; continuing would redo every iteration\. Start the run over with `orz train --overwrite`/);
  assert.deepEqual(await filesOf(run), before, '--resume changed the run directory');
});
