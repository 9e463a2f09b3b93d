// Ctrl-C in `orz train`, with real SIGINTs sent to a real subprocess on the bundled model: the first finishes
// the iteration in progress (or the base-model evaluation, or an iteration's evaluation), records and
// checkpoints it and exits 0 saying where it stopped and how to continue; a second stops at once with exit 130,
// saying what in-flight work is lost and what is kept, and the run directory holds exactly that.
// The SIGINTs come from outside (child.kill) or, at the exact start of an evaluation, from the evaluate
// failpoint (ORZ_FAILPOINT=evaluate@N:SIGINT, sdk/util/failpoint.ts).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { completeCheckpoints } from '../sdk/run/checkpoint.ts';

const ORZ = fileURLToPath(new URL('../bin/orz.js', import.meta.url));
const MINI = fileURLToPath(new URL('../data/mini/', import.meta.url));

/** 40 iterations (never reached), eval every 2nd, a safety checkpoint after each iteration. `longEval`: 100 records. */
function config(longEval = false) {
  return {
    name: 'int', model: join(MINI, 'base'), trainData: join(MINI, 'train.json'), evalData: join(MINI, 'eval.jsonl'),
    evalLimit: longEval ? 100 : 4, iterations: 40,
    trainer: {
      seed: 1, template: 'mini', promptsPerIteration: 4, samplesPerPrompt: 4, generation: { maxNewTokens: 24 },
      evalGeneration: { temperature: 0, maxNewTokens: longEval ? 40 : 8, n: 1 }, criticUpdateSteps: 1, kl: { log: false },
      evalEvery: 2, checkpointEvery: 0, checkpointOverhead: 1000, checkpointMinutes: 0, keepCheckpoints: 1,
    },
  };
}

interface Run { code: number | null; signal: NodeJS.Signals | null; stderr: string; pid: number }

/**
 * `orz train` in `work`; `react(stderr, kill)` runs on every stderr chunk (kill sends SIGINT). The promise
 * resolves once the process has exited.
 */
function train(args: string[], react: (stderr: string, sigint: () => void) => void = () => {}, failpoint = ''): Promise<Run> {
  const child = spawn(process.execPath, [ORZ, 'train', ...args], { cwd: work, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ORZ_FAILPOINT: failpoint } });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => { stderr += d; react(stderr, () => child.kill('SIGINT')); });
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr, pid: child.pid! })));
}

/** Sends SIGINT once when `pattern` first shows up in stderr. */
function onceAt(pattern: RegExp) {
  let sent = false;
  return (stderr: string, sigint: () => void) => { if (!sent && pattern.test(stderr)) { sent = true; sigint(); } };
}

/** First SIGINT at `first`, the second once the process says it is finishing. */
function twice(first: RegExp) {
  const a = onceAt(first);
  const b = onceAt(/interrupt: finishing/);
  return (stderr: string, sigint: () => void) => { a(stderr, sigint); b(stderr, sigint); };
}

function assertGone(pid: number) {
  assert.throws(() => process.kill(pid, 0), (e: NodeJS.ErrnoException) => e.code === 'ESRCH', `process ${pid} is still there`);
}

async function rows(run: string): Promise<Record<string, unknown>[]> {
  const path = join(run, 'metrics.jsonl');
  if (!existsSync(path)) return [];
  return (await readFile(path, 'utf8')).split('\n').filter((l) => l).map((l) => JSON.parse(l));
}

const iterationsOf = async (run: string) => (await rows(run)).map((r) => r['iteration']);
const newestCheckpoint = async (run: string) => (await completeCheckpoints(run)).at(-1)?.iteration ?? null;
const upTo = (n: number) => Array.from({ length: n + 1 }, (_, i) => i);

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'orz-interrupt-'));
  await writeFile(join(work, 'cfg.json'), JSON.stringify(config()));
  await writeFile(join(work, 'long-eval.json'), JSON.stringify(config(true)));
});
after(async () => { await rm(work, { recursive: true, force: true }); });

test('the first Ctrl-C mid-iteration finishes that iteration, records and checkpoints it, and exits 0 saying where it stopped; --resume continues', async () => {
  const r = await train(['cfg.json', '--runs-dir', 'one'], onceAt(/iter 2\/40 \[/)); // iteration 3 has started
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /interrupt: finishing iteration 3 \(with its evaluation, if due\), then checkpointing and stopping/);
  const run = join(work, 'one', 'int');
  assert.ok(r.stderr.includes(`stopped by Ctrl-C at iteration 3 of 40; checkpoint ${join(run, 'checkpoints', 'iter-3')}. Continue with: orz train cfg.json --runs-dir one --resume`), r.stderr);
  assert.deepEqual(await iterationsOf(run), upTo(3));
  assert.equal(typeof (await rows(run))[3]!['reward/mean'], 'number');
  assert.equal(await newestCheckpoint(run), 3);
  assert.equal((await readFile(join(run, 'checkpoints', 'latest'), 'utf8')).trim(), 'iter-3');
  assert.ok(existsSync(join(run, 'rollouts', 'iter-3.arrow')));
  assert.ok(existsSync(join(run, 'report.html')));
  assert.deepEqual((await readdir(join(run, 'checkpoints'))).filter((n) => n.includes('.tmp-')), []);

  const again = await train(['cfg.json', '--runs-dir', 'one', '--resume', '--iterations', '4']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /resumed at iteration 3/);
  assert.doesNotMatch(again.stderr, /dropping/);
  assert.deepEqual(await iterationsOf(run), upTo(4));
});

test('a second Ctrl-C stops at once with exit 130, says the iteration in flight is lost and what is kept, and the run directory holds exactly that', async () => {
  const r = await train(['cfg.json', '--runs-dir', 'two'], twice(/iter 2\/40 \[/));
  assert.equal(r.code, 130, r.stderr);
  assertGone(r.pid);
  const lost = /interrupt: stopping now; the work in flight \(iteration (\d+)\) is lost\./.exec(r.stderr);
  assert.ok(lost, r.stderr);
  const inFlight = Number(lost[1]);
  const kept = /kept: checkpoint (\S+) \(iteration (\d+)\)[^\n]*\. Continue with: orz train cfg\.json --runs-dir two --resume/.exec(r.stderr);
  assert.ok(kept, r.stderr);
  const run = join(work, 'two', 'int');
  assert.ok(inFlight >= 3, `stopped in iteration ${inFlight}, before the first Ctrl-C was sent`);
  assert.equal(kept[1], join(run, 'checkpoints', `iter-${kept[2]}`));
  assert.equal(await newestCheckpoint(run), Number(kept[2]), 'the checkpoint named as kept is not the newest on disk');
  assert.ok(!(await iterationsOf(run)).includes(inFlight), `iteration ${inFlight} was recorded although it was in flight`);
  assert.doesNotMatch(r.stderr, /stopped by Ctrl-C at iteration/);

  const again = await train(['cfg.json', '--runs-dir', 'two', '--resume', '--iterations', String(inFlight)]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, new RegExp(`resumed at iteration ${kept[2]}`));
  assert.deepEqual(await iterationsOf(run), upTo(inFlight));
});

test('Ctrl-C at the base-model evaluation: the first lets it finish and checkpoints iteration 0 (exit 0); resume does not evaluate again', async () => {
  const r = await train(['cfg.json', '--runs-dir', 'base'], undefined, 'evaluate@0:SIGINT');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /interrupt: finishing the base-model evaluation, then checkpointing and stopping/);
  const run = join(work, 'base', 'int');
  assert.ok(r.stderr.includes(`stopped by Ctrl-C at iteration 0 of 40; checkpoint ${join(run, 'checkpoints', 'iter-0')}.`), r.stderr);
  const [row0, ...more] = await rows(run);
  assert.equal(more.length, 0);
  assert.equal(row0!['iteration'], 0);
  assert.equal(typeof row0!['eval/accuracy'], 'number');
  assert.equal(await newestCheckpoint(run), 0);

  const again = await train(['cfg.json', '--runs-dir', 'base', '--resume', '--iterations', '1']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /resumed at iteration 0/);
  assert.doesNotMatch(again.stderr, /evaluating the base model/);
  assert.deepEqual(await iterationsOf(run), [0, 1]);
});

test('a second Ctrl-C during the base-model evaluation stops at once (130): the evaluation is lost and nothing is kept', async () => {
  const r = await train(['long-eval.json', '--runs-dir', 'base2'], twice(/evaluating the base model/));
  assert.equal(r.code, 130, r.stderr);
  assertGone(r.pid);
  assert.match(r.stderr, /interrupt: stopping now; the work in flight \(the base-model evaluation\) is lost\.\nkept: no checkpoint yet\. orz train long-eval\.json --runs-dir base2 --resume starts over from iteration 0/);
  const run = join(work, 'base2', 'int');
  assert.deepEqual(await rows(run), []);
  assert.equal(await newestCheckpoint(run), null);
});

test('Ctrl-C at an iteration\'s evaluation: the first lets it finish (the row keeps its eval columns) and checkpoints; a second loses only the evaluation', async () => {
  const r = await train(['cfg.json', '--runs-dir', 'eval'], undefined, 'evaluate@2:SIGINT');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /interrupt: finishing the evaluation of iteration 2, then checkpointing and stopping/);
  const run = join(work, 'eval', 'int');
  assert.deepEqual(await iterationsOf(run), upTo(2));
  assert.equal(typeof (await rows(run))[2]!['eval/accuracy'], 'number');
  assert.equal(await newestCheckpoint(run), 2);
  assert.match(r.stderr, /stopped by Ctrl-C at iteration 2 of 40/);

  const twiceInEval = await train(['long-eval.json', '--runs-dir', 'eval2'], onceAt(/interrupt: finishing/), 'evaluate@2:SIGINT');
  assert.equal(twiceInEval.code, 130, twiceInEval.stderr);
  const run2 = join(work, 'eval2', 'int');
  assert.ok(twiceInEval.stderr.includes('the work in flight (the evaluation of iteration 2) is lost.\n' +
    `kept: checkpoint ${join(run2, 'checkpoints', 'iter-1')} (iteration 1); iteration 2 is in metrics.jsonl but not checkpointed, and run again.`), twiceInEval.stderr);
  assert.deepEqual(await iterationsOf(run2), upTo(2));
  assert.equal((await rows(run2))[2]!['eval/accuracy'], undefined);
  assert.equal(await newestCheckpoint(run2), 1);
});
