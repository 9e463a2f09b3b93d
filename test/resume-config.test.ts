// Resume compares configs: `orz train --resume` (a real subprocess on the bundled model) refuses a changed
// seed, learning rate, template or batch shape before the model loads, changing nothing; with
// --allow-config-change it continues and records each change in config-changes.jsonl, never rewriting
// config.json; fields that only measure or keep (iterations, checkpoint cadence) change with a note. The SDK's
// resumeFrom() does the same check.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readRunConfig, trainerFromRunConfig } from '../sdk/run/run-config.ts';
import { resumeFrom } from '../sdk/run/resume.ts';
import { configInForce, recordConfigChanges } from '../sdk/run/config-changes.ts';
import { filesOf } from './support/files.ts';

const ORZ = fileURLToPath(new URL('../bin/orz.js', import.meta.url));
const MINI = fileURLToPath(new URL('../data/mini/', import.meta.url));

type Trainer = Record<string, unknown>;
function config(trainer: Trainer = {}, iterations = 2) {
  return {
    name: 'rc', model: join(MINI, 'base'), trainData: join(MINI, 'train.json'), iterations,
    trainer: {
      seed: 1, template: 'mini', promptsPerIteration: 2, samplesPerPrompt: 2, generation: { maxNewTokens: 8 },
      policyLr: 2e-4, criticUpdateSteps: 1, evalEvery: 0, checkpointEvery: 1, checkpointOverhead: 0, checkpointMinutes: 0,
      kl: { log: false }, ...trainer,
    },
  };
}

function orz(args: string[], cwd: string) {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['ORZ_FAILPOINT'];
  return spawnSync(process.execPath, [ORZ, ...args], { cwd, encoding: 'utf8', env, timeout: 120_000 });
}

async function changeLines(run: string): Promise<Record<string, unknown>[]> {
  return (await readFile(join(run, 'config-changes.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
}

let work: string;
let original: string; // a finished 2-iteration run, copied for each test

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'orz-resume-config-'));
  await writeFile(join(work, 'cfg.json'), JSON.stringify(config()));
  const r = orz(['train', 'cfg.json', '--runs-dir', 'original'], work);
  assert.equal(r.status, 0, r.stderr);
  original = join(work, 'original', 'rc');
});

after(async () => { await rm(work, { recursive: true, force: true }); });

async function copyRun(name: string): Promise<string> {
  await cp(original, join(work, name, 'rc'), { recursive: true });
  return join(work, name, 'rc');
}

test('a changed seed, learning rate, template or batch shape is refused before the model loads, naming each field, and changes nothing', async () => {
  const run = await copyRun('refused');
  const before = await filesOf(run);
  await writeFile(join(work, 'changed.json'), JSON.stringify(config({ seed: 2, policyLr: 1e-4, template: 'orz', samplesPerPrompt: 4, checkpointEvery: 2 }, 3)));
  const r = orz(['train', 'changed.json', '--runs-dir', 'refused', '--resume'], work);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`resume: the config differs from the one ${join(run, 'config.json')} ran with, in fields that change the algorithm or the data order`));
  for (const line of ['trainer.seed 1 -> 2', 'trainer.policyLr 0.0002 -> 0.0001', 'trainer.template "mini" -> "orz"', 'trainer.samplesPerPrompt 2 -> 4']) {
    assert.ok(r.stderr.includes(`\n  ${line}\n`), `${line} not listed:\n${r.stderr}`);
  }
  assert.doesNotMatch(r.stderr, /checkpointEvery|iterations 2/, 'a harmless field listed as a reason to refuse');
  assert.match(r.stderr, /Continue with the new values from iteration 3 with --allow-config-change/);
  assert.doesNotMatch(r.stderr, /orz train: rc \| backend/, 'the model was loaded before the refusal');
  assert.deepEqual(await filesOf(run), before);
});

test('--allow-config-change continues, records field, old and new value and the iteration in config-changes.jsonl, and keeps config.json', async () => {
  const run = await copyRun('allowed');
  const configBefore = await readFile(join(run, 'config.json'));
  await writeFile(join(work, 'lr.json'), JSON.stringify(config({ policyLr: 1e-4, checkpointEvery: 2 }, 3)));
  const r = orz(['train', 'lr.json', '--runs-dir', 'allowed', '--resume', '--allow-config-change'], work);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /resume: allowed config change from iteration 3: trainer\.policyLr 0\.0002 -> 0\.0001 \(recorded in config-changes\.jsonl\)/);
  assert.match(r.stderr, /resume: config change from iteration 3: trainer\.checkpointEvery 1 -> 2/);
  assert.match(r.stderr, /resumed at iteration 2/);
  assert.deepEqual(await readFile(join(run, 'config.json')), configBefore, 'config.json was rewritten');
  const strip = (l: Record<string, unknown>) => { const { at, ...rest } = l; assert.ok(!Number.isNaN(Date.parse(at as string))); return rest; };
  assert.deepEqual((await changeLines(run)).map(strip), [
    { field: 'iterations', old: 2, new: 3, fromIteration: 3, guarded: false },
    { field: 'trainer.policyLr', old: 2e-4, new: 1e-4, fromIteration: 3, guarded: true },
    { field: 'trainer.checkpointEvery', old: 1, new: 2, fromIteration: 3, guarded: false },
  ]);
  const rows = (await readFile(join(run, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).iteration);
  assert.deepEqual(rows, [1, 2, 3]);

  // the changed config is now the run's: resuming with it again needs no flag; going back is a change again
  const again = orz(['train', 'lr.json', '--runs-dir', 'allowed', '--resume', '--iterations', '4'], work);
  assert.equal(again.status, 0, again.stderr);
  assert.doesNotMatch(again.stderr, /policyLr/);
  const back = orz(['train', 'cfg.json', '--runs-dir', 'allowed', '--resume', '--iterations', '5'], work);
  assert.equal(back.status, 1, back.stderr);
  assert.ok(back.stderr.includes('\n  trainer.policyLr 0.0001 -> 0.0002\n'), back.stderr);
  assert.deepEqual(await readFile(join(run, 'config.json')), configBefore);
});

test('a config.json from before a trainer field existed resumes as if it held that field\'s default', async () => {
  const run = await copyRun('older');
  const saved = JSON.parse(await readFile(join(run, 'config.json'), 'utf8'));
  assert.equal(saved.trainer.grpoStd, true, 'the field this test removes');
  delete saved.trainer.grpoStd; // guarded, and added after the first runs
  delete saved.trainer.kl.estimator; // a nested field
  await writeFile(join(run, 'config.json'), JSON.stringify(saved));
  const same = orz(['train', 'cfg.json', '--runs-dir', 'older', '--resume', '--iterations', '3'], work);
  assert.equal(same.status, 0, same.stderr);
  assert.doesNotMatch(same.stderr, /grpoStd|kl\.estimator/);
  // a value other than the default is still a change, shown against the default the old run used
  await writeFile(join(work, 'grpo.json'), JSON.stringify(config({ grpoStd: false }, 4)));
  const changed = orz(['train', 'grpo.json', '--runs-dir', 'older', '--resume'], work);
  assert.equal(changed.status, 1, changed.stderr);
  assert.ok(changed.stderr.includes('\n  trainer.grpoStd true -> false\n'), changed.stderr);
});

test('--allow-config-change without --resume is a usage error', () => {
  const r = orz(['train', 'cfg.json', '--runs-dir', 'usage', '--allow-config-change'], work);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--allow-config-change applies to --resume only/);
  assert.ok(!existsSync(join(work, 'usage')));
});

test('resumeFrom() compares the trainer config the same way, and run() after it keeps config.json', async () => {
  const run = await copyRun('sdk');
  const configBefore = await readFile(join(run, 'config.json'));
  await writeFile(join(work, 'batch.json'), JSON.stringify(config({ promptsPerIteration: 3 }, 3)));
  const rc = await readRunConfig(join(work, 'batch.json'));
  const before = await filesOf(run);
  await assert.rejects(resumeFrom(await trainerFromRunConfig(rc), run, { log: () => {} }),
    (e: Error) => e.message.includes('\n  trainer.promptsPerIteration 2 -> 3\n') && e.message.includes('allowConfigChange: true'));
  assert.deepEqual(await filesOf(run), before);

  const trainer = await trainerFromRunConfig(rc);
  const lines: string[] = [];
  assert.equal(await resumeFrom(trainer, run, { log: (l) => lines.push(l), allowConfigChange: true }), true);
  assert.ok(lines.some((l) => /allowed config change from iteration 3: trainer\.promptsPerIteration 2 -> 3/.test(l)), lines.join('\n'));
  await trainer.run({ iterations: 3, runDir: run, runConfig: rc, log: null });
  assert.deepEqual(await readFile(join(run, 'config.json')), configBefore);
  assert.deepEqual((await changeLines(run)).map((l) => [l['field'], l['new'], l['fromIteration']]), [['trainer.promptsPerIteration', 3, 3]]);
});

test('the config in force at an iteration: config.json plus the changes from that iteration on, in the order made', async () => {
  const dir = join(work, 'in-force');
  await mkdir(dir);
  await writeFile(join(dir, 'config.json'), JSON.stringify({ iterations: 5, trainer: { policyLr: 1, kl: { coef: 0 } } }));
  await recordConfigChanges(dir, [{ field: 'trainer.policyLr', old: 1, new: 2, guarded: true }], 6);
  // a later resume that went back to iteration 3 (newer checkpoints unusable) changed it again from iteration 4
  await recordConfigChanges(dir, [{ field: 'trainer.policyLr', old: 1, new: 3, guarded: true }, { field: 'trainer.kl.coef', old: 0, new: 0.1, guarded: true }], 4);
  const lr = async (it: number) => ((await configInForce(dir, it))!['trainer'] as { policyLr: number }).policyLr;
  assert.equal(await lr(3), 1);
  assert.equal(await lr(4), 3);
  assert.equal(await lr(6), 3, 'the newer change (made later, from iteration 4) wins over the one from iteration 6');
  assert.deepEqual(((await configInForce(dir, 4))!['trainer'] as { kl: unknown }).kl, { coef: 0.1 });
  assert.equal(await configInForce(join(work, 'no-such-run'), 1), null);
});
