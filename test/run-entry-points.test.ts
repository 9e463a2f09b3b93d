// The three entry points of the run loop (sdk/run/loop.ts): trainer.run(), `orz train` (a subprocess) and a
// session's trainer.run (in process). The same seed gives the same metrics rows in each; an abort during a session
// run's evaluation keeps and checkpoints the finished iteration (orz train's Ctrl-C: run-interrupt.test.ts); a
// failing reward consumes no prompts; the session
// resumes as `orz train` does (the newest complete checkpoint over a stale `latest`, partial ones removed, a
// corrupt one skipped) and checkpoints by the trainer config's policy and retention.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '../sdk/engine/backend.ts';
import { readRunConfig, trainerFromRunConfig } from '../sdk/run/run-config.ts';
import { resumeFrom } from '../sdk/run/resume.ts';
import { inProcessReward, mathReward, type Sample } from '../sdk/reward/index.ts';
import { Session } from '../sdk/session/session.ts';
import type { RemoteTrainer } from '../sdk/session/remote-handles.ts';
import type { MetricsRow } from '../sdk/ppo/metrics-log.ts';

const ORZ = fileURLToPath(new URL('../bin/orz.js', import.meta.url));
const MINI = fileURLToPath(new URL('../data/mini/', import.meta.url));
const PROMPTS = 2;

let home = '';

/** data/mini on two prompts x two samples; eval (2 records) every 2nd iteration; `trainer` overrides. */
async function writeConfig(name: string, trainer: object = {}, iterations = 3): Promise<string> {
  const path = join(home, `${name}.json`);
  await writeFile(path, JSON.stringify({
    name, model: join(MINI, 'base'), trainData: join(MINI, 'train.json'), evalData: join(MINI, 'eval.jsonl'), evalLimit: 2,
    iterations, backend: 'cpu',
    trainer: {
      seed: 3, template: 'mini', promptsPerIteration: PROMPTS, samplesPerPrompt: 2,
      generation: { maxNewTokens: 10 }, evalGeneration: { temperature: 0, maxNewTokens: 10, n: 1 },
      policyLr: 2e-4, criticLr: 5e-4, warmupSteps: 1, policyUpdateSteps: 1, criticUpdateSteps: 1, kl: { log: false },
      evalEvery: 2, checkpointEvery: 2, checkpointOverhead: 1000, checkpointMinutes: 0, keepCheckpoints: 1,
      ...trainer,
    },
  }));
  return path;
}

const env = () => ({ ...process.env, ORZ_HOME: join(home, 'orz'), ORZ_FAILPOINT: '' });

function orzTrain(config: string, runsDir: string, failpoint = '') {
  const r = spawnSync(process.execPath, [ORZ, 'train', config, '--runs-dir', runsDir], {
    encoding: 'utf8', env: { ...env(), ORZ_FAILPOINT: failpoint }, timeout: 180_000,
  });
  return { code: r.status, signal: r.signal, stderr: r.stderr };
}

async function jsonlRows(path: string): Promise<MetricsRow[]> {
  return (await readFile(path, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as MetricsRow);
}

/**
 * Rows without their timings and throughputs, which differ between any two runs, and without null values: a
 * session's metrics travel as an Arrow table, where a null and a missing value are the same.
 */
const deterministic = (rows: readonly MetricsRow[]) =>
  rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k, v]) => v !== null && !k.startsWith('time/') && !k.startsWith('throughput/'))));

const checkpointNames = async (dir: string) => (await readdir(join(dir, 'checkpoints'))).sort();

before(async () => {
  await selectBackend('cpu');
  home = await mkdtemp(join(tmpdir(), 'orz-entry-points-'));
});

after(async () => {
  await rm(home, { recursive: true, force: true });
});

test('trainer.run(), orz train and a session run give the same metrics rows for the same seed', async () => {
  const config = await writeConfig('same');
  const fromRun = await trainerFromRunConfig(await readRunConfig(config));
  await fromRun.run({ iterations: 3, runDir: join(home, 'same-run'), log: null });
  const runRows = [...fromRun.metrics.rows];
  fromRun.dispose();

  const cli = orzTrain(config, join(home, 'same-cli'));
  assert.equal(cli.code, 0, cli.stderr);
  const cliRows = await jsonlRows(join(home, 'same-cli', 'same', 'metrics.jsonl'));

  const s = await Session.local({ inProcess: true, name: 'same', env: env(), backend: 'cpu' });
  try {
    const t = await s.trainerFromRunConfig(config, { name: 'same' });
    await t.run({ iterations: 3, log: null });
    const sessionRows = (await t.metrics()).rows;
    assert.deepEqual(runRows.map((r) => r['iteration']), [0, 1, 2, 3]);
    assert.equal(typeof runRows[2]!['eval/accuracy'], 'number');
    assert.deepEqual(deterministic(cliRows), deterministic(runRows), 'orz train differs from trainer.run()');
    assert.deepEqual(deterministic(sessionRows), deterministic(runRows), 'the session differs from trainer.run()');
  } finally {
    await s.close();
  }
});

test('a session run: an abort during an evaluation keeps and checkpoints the finished iteration', async () => {
  const config = await writeConfig('sessioneval', { checkpointEvery: 0, checkpointOverhead: 0 }, 4);
  const s = await Session.local({ inProcess: true, name: 'sessioneval', env: env(), backend: 'cpu' });
  try {
    const ac = new AbortController();
    let armed = false;
    // after iteration 1, the first eval sample scored (iteration 2's evaluation) aborts the run and fails
    const isEval = (x: Sample) => x['level'] !== undefined && x['level'] !== null; // only eval records have a level
    const reward = (x: Sample) => {
      if (armed && isEval(x)) { ac.abort(new Error('stop')); throw new Error('aborted while scoring'); }
      return mathReward(x);
    };
    const t = await s.trainerFromRunConfig(config, { name: 'e', reward: inProcessReward(reward) });
    const rows = await t.run({ iterations: 4, log: null, signal: ac.signal, onIteration: (row) => { if (row['iteration'] === 1) armed = true; } });
    assert.deepEqual(rows.map((x) => x['iteration']), [1, 2]);
    assert.equal(rows[1]!['eval/accuracy'], undefined);
    const info = await t.info();
    assert.equal(info.iteration, 2);
    assert.equal(info.lastCheckpoint, 2, 'the finished iteration was not checkpointed');
  } finally {
    await s.close();
  }
});

test('a failing reward consumes no prompts: trainer.run() and a session run', async () => {
  const config = await writeConfig('badreward', { evalEvery: 0 });
  let calls = 0;
  const failSecond = (x: Sample) => {
    if (++calls > PROMPTS * 2) throw new Error('reward service down');
    return mathReward(x);
  };
  const runDir = join(home, 'badreward-run');
  const t = await trainerFromRunConfig(await readRunConfig(config), { reward: inProcessReward(failSecond) });
  await assert.rejects(t.run({ iterations: 3, runDir, log: null }), /reward service down/);
  assert.equal(t.iteration, 1);
  assert.equal(t.dataCursor, PROMPTS, 'the failed iteration consumed its prompts');
  t.dispose();
  const again = await trainerFromRunConfig(await readRunConfig(config));
  assert.ok(await resumeFrom(again, runDir, { log: () => {} }));
  assert.deepEqual([again.iteration, again.dataCursor], [1, PROMPTS], 'the checkpoint after the failure');
  again.dispose();

  calls = 0;
  const s = await Session.local({ inProcess: true, name: 'badreward', env: env(), backend: 'cpu' });
  try {
    const st = await s.trainerFromRunConfig(config, { name: 'b', reward: inProcessReward(failSecond) });
    await assert.rejects(st.run({ iterations: 3, log: null }), /reward service down/);
    const info = await st.info();
    assert.deepEqual([info.iteration, info.dataCursor], [1, PROMPTS], 'the failed iteration consumed its prompts');
  } finally {
    await s.close();
  }
});

test('a session checkpoints by the trainer config and resumes from the newest complete checkpoint, skipping partial and corrupt ones', async () => {
  // no --checkpoint-every: milestones every 2nd iteration, no safety checkpoints, three kept
  const config = await writeConfig('resume', { evalEvery: 0, checkpointEvery: 2, checkpointOverhead: 0, keepCheckpoints: 3 }, 5);
  const name = 'resume';
  let s = await Session.local({ inProcess: true, name, env: env(), backend: 'cpu' });
  const events: [unknown, boolean][] = [];
  s.events.on('iteration', (d) => events.push([d.row.iteration, d.checkpointed]));
  let t = await s.trainerFromRunConfig(config, { name: 'r' });
  const dir = join(home, 'orz', 'sessions', name, 'checkpoints', (await t.info()).id);
  await t.run({ iterations: 5, log: null });
  await s.close();
  assert.deepEqual(events, [[1, false], [2, true], [3, false], [4, true], [5, false]]);
  assert.deepEqual(await checkpointNames(dir), ['iter-2', 'iter-4', 'iter-5', 'latest'], 'milestones and the end, three kept');

  // a crash between the rename of iter-5 and the pointer update, plus a killed writer's leftovers
  await writeFile(join(dir, 'checkpoints', 'latest'), 'iter-4');
  await mkdir(join(dir, 'checkpoints', 'iter-6.tmp-4242', 'policy'), { recursive: true });
  s = await Session.local({ inProcess: true, name, env: env(), backend: 'cpu' });
  t = await s.get<RemoteTrainer>('r');
  assert.equal((await t.info()).iteration, 5, 'resumed from the stale pointer instead of the newest checkpoint');
  assert.ok(!existsSync(join(dir, 'checkpoints', 'iter-6.tmp-4242')), 'the partial checkpoint was left');
  await s.close();

  // a truncated newest checkpoint: the previous one is used, and the metrics rows after it dropped
  await truncate(join(dir, 'checkpoints', 'iter-5', 'optimizer.safetensors'), 10);
  s = await Session.local({ inProcess: true, name, env: env(), backend: 'cpu' });
  t = await s.get<RemoteTrainer>('r');
  assert.equal((await t.info()).iteration, 4);
  assert.deepEqual((await t.metrics()).rows.map((r) => r['iteration']), [1, 2, 3, 4]);
  await s.close();
});
