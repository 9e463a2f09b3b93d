// The fault suite: `orz train` as a real subprocess, killed with SIGKILL at exact points of an iteration
// (ORZ_FAILPOINT, sdk/util/failpoint.ts) and resumed with --resume each time, until it ends with the same
// metrics rows and bytewise the same weights as an uninterrupted run, losing at most the iteration in flight
// each time; the same for a SIGKILL sent from outside at an arbitrary moment. Also: a corrupt newest checkpoint
// and a full disk (a small tmpfs). Ctrl-C (SIGINT): run-interrupt.test.ts. Everything runs on the CLI's default backend.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSafetensors } from '../sdk/model/index.ts';
import { completeCheckpoints } from '../sdk/run/checkpoint.ts';

const ORZ = fileURLToPath(new URL('../bin/orz.js', import.meta.url));
const MINI = fileURLToPath(new URL('../data/mini/', import.meta.url));
const ITERATIONS = 5;

/**
 * data/mini/base on two prompts x two samples of 12 tokens; eval (2 records) every 3rd iteration; a milestone
 * checkpoint every 2nd and a rolling safety checkpoint after every other iteration (checkpointOverhead 1000:
 * whatever the write costs, so the test does not depend on timings).
 */
function config(overrides: { checkpointEvery?: number; evalEvery?: number; iterations?: number; checkpointOverhead?: number } = {}) {
  return {
    name: 'faults', model: join(MINI, 'base'), trainData: join(MINI, 'train.json'), evalData: join(MINI, 'eval.jsonl'), evalLimit: 2,
    iterations: overrides.iterations ?? ITERATIONS,
    trainer: {
      seed: 1, template: 'mini', promptsPerIteration: 2, samplesPerPrompt: 2,
      generation: { maxNewTokens: 12 }, evalGeneration: { temperature: 0, maxNewTokens: 12, n: 1 },
      policyLr: 2e-4, criticLr: 5e-4, warmupSteps: 1, policyUpdateSteps: 1, criticUpdateSteps: 2,
      evalEvery: overrides.evalEvery ?? 3, checkpointEvery: overrides.checkpointEvery ?? 2, kl: { log: false },
      checkpointOverhead: overrides.checkpointOverhead ?? 1000, checkpointMinutes: 0, keepCheckpoints: 1,
    },
  };
}

interface Exit { code: number | null; signal: NodeJS.Signals | null; stderr: string }

function orz(args: string[], cwd: string, failpoint?: string): Exit {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['ORZ_FAILPOINT'];
  if (failpoint) env['ORZ_FAILPOINT'] = failpoint;
  const r = spawnSync(process.execPath, [ORZ, ...args], { cwd, encoding: 'utf8', env, timeout: 120_000 });
  return { code: r.status, signal: r.signal, stderr: r.stderr };
}

function assertKilled(r: Exit, what: string) {
  assert.equal(r.signal, 'SIGKILL', `${what} was not killed by its failpoint (exit ${r.code}):\n${r.stderr}`);
}

async function metricsRows(runDir: string): Promise<Record<string, unknown>[]> {
  return (await readFile(join(runDir, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
}

/** A row without its timings and throughputs, which differ between any two runs. */
function deterministicPart(row: Record<string, unknown>) {
  return Object.fromEntries(Object.entries(row).filter(([k]) => !k.startsWith('time/') && !k.startsWith('throughput/')));
}

async function assertSameTensors(a: string, b: string) {
  const [x, y] = [await readSafetensors(a), await readSafetensors(b)];
  assert.deepEqual([...x.tensors.keys()].sort(), [...y.tensors.keys()].sort(), `${a} vs ${b}: tensor names`);
  for (const [name, t] of x.tensors) {
    const u = y.tensors.get(name)!;
    assert.deepEqual(t.shape, u.shape, `${name}: shape`);
    assert.ok(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).equals(Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength)), `${a}: ${name} differs from ${b}`);
  }
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    total += e.isDirectory() ? await dirBytes(join(dir, e.name)) : (await stat(join(dir, e.name))).size;
  }
  return total;
}

let work: string;
let reference: string; // the uninterrupted run's directory

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'orz-faults-'));
  await writeFile(join(work, 'cfg.json'), JSON.stringify(config()));
  const r = orz(['train', 'cfg.json', '--runs-dir', 'reference'], work);
  assert.equal(r.code, 0, r.stderr);
  reference = join(work, 'reference', 'faults');
});

after(async () => { await rm(work, { recursive: true, force: true }); });

test('killed during generation, the update and the checkpoint write, resumed each time: at most the iteration in flight is lost, and the end is the uninterrupted run', async () => {
  const run = join(work, 'runs', 'faults');
  const train = (failpoint?: string) => orz(['train', 'cfg.json', '--resume'], work, failpoint);
  const checkpoints = async () => (await readdir(join(run, 'checkpoints'))).sort();

  // iteration 2's generation: iteration 1 is recorded and has its safety checkpoint (iter-0's is rolled away)
  let r = train('generate@2');
  assertKilled(r, 'generate@2');
  assert.match(r.stderr, /nothing to resume in .*; starting a new run/);
  assert.deepEqual((await metricsRows(run)).map((r) => r['iteration']), [0, 1]);
  assert.deepEqual(await checkpoints(), ['iter-1', 'latest']);

  // resumed at 1 (nothing dropped), then killed in iteration 3's update; the milestone iter-2 replaces iter-1
  r = train('update@3');
  assertKilled(r, 'update@3');
  assert.match(r.stderr, /resumed at iteration 1/);
  assert.doesNotMatch(r.stderr, /dropping/);
  assert.doesNotMatch(r.stderr, /evaluating the base model/);
  assert.deepEqual((await metricsRows(run)).map((r) => r['iteration']), [0, 1, 2]);
  assert.deepEqual(await checkpoints(), ['iter-2', 'latest']);

  // iterations 3 and 4 are recorded, then the kill falls inside iteration 4's checkpoint (temporary directory)
  assertKilled(train('checkpoint-write@4'), 'checkpoint-write@4');
  assert.deepEqual((await metricsRows(run)).map((r) => r['iteration']), [0, 1, 2, 3, 4]);
  const leftovers = (await checkpoints()).filter((n) => n.startsWith('iter-4.tmp-'));
  assert.equal(leftovers.length, 1, 'the killed checkpoint write left no temporary directory');
  assert.ok(!existsSync(join(run, 'checkpoints', 'iter-4')));
  assert.ok(existsSync(join(run, 'checkpoints', 'iter-3', 'orz.json')));

  // back to iter-3: only the iteration in flight (4) is redone; then killed between the rename and `latest`
  r = train('checkpoint-latest@4');
  assertKilled(r, 'checkpoint-latest@4');
  assert.match(r.stderr, /removed the partial checkpoint .*iter-4\.tmp-/);
  assert.match(r.stderr, /resumed at iteration 3/);
  assert.match(r.stderr, /dropping 1 metrics row\(s\) after iteration 3/);
  assert.ok(existsSync(join(run, 'checkpoints', 'iter-4', 'orz.json')));
  assert.equal((await readFile(join(run, 'checkpoints', 'latest'), 'utf8')).trim(), 'iter-3');

  // the newest complete checkpoint wins over the stale `latest` pointer
  r = train();
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /resumed at iteration 4/);

  const rows = await metricsRows(run);
  const expected = await metricsRows(reference);
  assert.deepEqual(rows.map((r) => r['iteration']), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(rows.map(deterministicPart), expected.map(deterministicPart));
  assert.equal(typeof rows[3]!['eval/accuracy'], 'number');
  for (const f of ['policy/model.safetensors', 'critic/model.safetensors', 'critic/value_head.safetensors', 'optimizer.safetensors']) {
    await assertSameTensors(join(run, 'checkpoints', 'iter-5', f), join(reference, 'checkpoints', 'iter-5', f));
  }
  assert.deepEqual((await readdir(join(run, 'rollouts'))).sort(), (await readdir(join(reference, 'rollouts'))).sort());
  // milestones stay, safety checkpoints roll: the same set as the uninterrupted run's
  assert.deepEqual(await checkpoints(), ['iter-2', 'iter-4', 'iter-5', 'latest']);
  assert.deepEqual((await readdir(join(reference, 'checkpoints'))).sort(), ['iter-2', 'iter-4', 'iter-5', 'latest']);
});

test('SIGKILL from outside once iteration 3 is in metrics.jsonl, safety checkpoints only: --resume keeps every row up to the newest checkpoint (at least iteration 2) byte for byte, and ends like the uninterrupted run', async () => {
  await writeFile(join(work, 'cfg-safety.json'), JSON.stringify(config({ checkpointEvery: 0 })));
  const run = join(work, 'sigkill', 'faults');
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['ORZ_FAILPOINT'];
  const child = spawn(process.execPath, [ORZ, 'train', 'cfg-safety.json', '--runs-dir', 'sigkill'], { cwd: work, stdio: ['ignore', 'ignore', 'pipe'], env });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => { stderr += d; });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, sig) => resolve(sig)));
  const finishedLines = async () => {
    const text = existsSync(join(run, 'metrics.jsonl')) ? await readFile(join(run, 'metrics.jsonl'), 'utf8') : '';
    return text.split('\n').slice(0, -1); // the part after the last newline is not a finished line
  };
  while (!(await finishedLines()).some((l) => JSON.parse(l).iteration >= 3)) {
    if (child.exitCode !== null) assert.fail(`orz train ended before iteration 3 was recorded:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL', stderr);

  const before = await finishedLines();
  const lastRecorded = Math.max(...before.map((l) => JSON.parse(l).iteration as number));
  const newest = (await completeCheckpoints(run)).at(-1)?.iteration ?? -1;
  assert.ok(newest >= lastRecorded - 1, `killed after iteration ${lastRecorded} was recorded, but the newest checkpoint is ${newest}`);
  assert.ok(lastRecorded < ITERATIONS, 'the run finished before the kill');

  const r = orz(['train', 'cfg-safety.json', '--runs-dir', 'sigkill', '--resume'], work);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`resumed at iteration ${newest}`));
  const after = await finishedLines();
  assert.deepEqual(after.slice(0, newest + 1), before.slice(0, newest + 1), 'rows up to the checkpoint changed');
  assert.deepEqual((await metricsRows(run)).map(deterministicPart), (await metricsRows(reference)).map(deterministicPart));
  await assertSameTensors(join(run, 'checkpoints', `iter-${ITERATIONS}`, 'policy', 'model.safetensors'), join(reference, 'checkpoints', `iter-${ITERATIONS}`, 'policy', 'model.safetensors'));
});

test('a truncated newest checkpoint: --resume warns, names the file, falls back to the one before and rewrites it', async () => {
  const run = join(work, 'corrupt', 'faults');
  // milestones only: iteration 5 is checkpointed by the end of the run alone, which must not take the unusable iter-5 for its own
  await writeFile(join(work, 'cfg-milestones.json'), JSON.stringify(config({ checkpointOverhead: 0 })));
  await cp(reference, run, { recursive: true });
  const model = join(run, 'checkpoints', 'iter-5', 'policy', 'model.safetensors');
  await truncate(model, 1000);
  const r = orz(['train', 'cfg-milestones.json', '--runs-dir', 'corrupt', '--resume'], work);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`warning: resume: checkpoint .*iter-5 is unusable \\(.*model\\.safetensors`));
  assert.match(r.stderr, /resumed at iteration 4/);
  const rows = await metricsRows(run);
  assert.deepEqual(rows.map(deterministicPart), (await metricsRows(reference)).map(deterministicPart));
  await assertSameTensors(model, join(reference, 'checkpoints', 'iter-5', 'policy', 'model.safetensors'));

  // every checkpoint unreadable: an error naming each file, and metrics.jsonl is left as it was
  const before = await readFile(join(run, 'metrics.jsonl'), 'utf8');
  for (const it of [2, 4, 5]) await writeFile(join(run, 'checkpoints', `iter-${it}`, 'orz.json'), '{"format": "orz-chec');
  const bad = orz(['train', 'cfg-milestones.json', '--runs-dir', 'corrupt', '--resume'], work);
  assert.equal(bad.code, 1, bad.stderr);
  assert.match(bad.stderr, /resume: no usable checkpoint in .*checkpoints/);
  for (const it of [2, 4, 5]) assert.match(bad.stderr, new RegExp(`iter-${it}/orz\\.json: cannot read checkpoint metadata`));
  assert.equal(await readFile(join(run, 'metrics.jsonl'), 'utf8'), before);
});

test('a full disk: a clear error naming the checkpoint, no partial checkpoint left, and the previous one resumes', async (t) => {
  const mnt = join(work, 'small-disk');
  await mkdir(mnt);
  const checkpointBytes = await dirBytes(join(reference, 'checkpoints', 'iter-2'));
  const reportBytes = (await stat(join(reference, 'report.html'))).size;
  // room for one checkpoint, the report (written after it) and the small files; the second checkpoint runs out halfway
  const size = Math.ceil((checkpointBytes * 1.5 + reportBytes) / 1024);
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}k`, 'tmpfs', mnt], { encoding: 'utf8' });
  if (mount.status !== 0) { t.skip(`cannot mount a tmpfs here (${(mount.stderr || mount.error?.message || '').trim()}); the full-disk case needs root`); return; }
  try {
    await writeFile(join(work, 'cfg-every1.json'), JSON.stringify(config({ checkpointEvery: 1, evalEvery: 0, iterations: 3, checkpointOverhead: 0 })));
    const r = orz(['train', 'cfg-every1.json', '--runs-dir', mnt], work);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /cannot write checkpoint \S*checkpoints\/iter-2: no space left on device/);
    const run = join(mnt, 'faults');
    assert.deepEqual((await readdir(join(run, 'checkpoints'))).sort(), ['iter-1', 'latest']);

    // on a bigger disk, the run continues from iter-1
    const moved = join(work, 'bigger', 'faults');
    await cp(run, moved, { recursive: true });
    const again = orz(['train', 'cfg-every1.json', '--runs-dir', join(work, 'bigger'), '--resume'], work);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /resumed at iteration 1/);
    const rows = await metricsRows(moved);
    assert.deepEqual(rows.map((r) => r['iteration']), [1, 2, 3]);
    const expected = (await metricsRows(reference)).filter((r) => [1, 2, 3].includes(r['iteration'] as number));
    for (const [i, row] of rows.entries()) assert.equal(row['reward/mean'], expected[i]!['reward/mean'], `iteration ${i + 1}`);
  } finally {
    spawnSync('umount', [mnt]);
  }
});
