// Run config files as users write them, mistakes included: each is a real file on disk, read by readRunConfig
// (what `orz train` does) and, for the ordering checks, by the `orz` command itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readRunConfig, trainerFromRunConfig, type RunConfig } from '../sdk/run/run-config.ts';
import { resolveTrainerConfig } from '../sdk/ppo/config.ts';

const ORZ = fileURLToPath(new URL('../bin/orz.js', import.meta.url));
const MINI_CONFIG = fileURLToPath(new URL('../data/mini/train-config.json', import.meta.url));

/** A run config whose model directory does not exist: a config error must come before any attempt to load it. */
const BASE = { name: 'x', model: 'no-such-model-dir', trainData: 'no-such-train.json', iterations: 2 };

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'orz-runcfg-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes `config` as cfg.json and returns readRunConfig's error message (fails the test if it reads fine). */
async function errorOf(dir: string, config: Record<string, unknown>): Promise<string> {
  const file = join(dir, 'cfg.json');
  await writeFile(file, JSON.stringify(config));
  try {
    await readRunConfig(file);
  } catch (e) {
    return (e as Error).message;
  }
  assert.fail(`readRunConfig accepted ${JSON.stringify(config)}`);
}

const trainer = (t: Record<string, unknown>) => ({ ...BASE, trainer: t });

test('strings are never numbers: the error says a number was expected and a string given, naming file and path', () => withDir(async (dir) => {
  const file = join(dir, 'cfg.json');
  assert.equal(await errorOf(dir, trainer({ policyLr: '2e-4' })), `${file}: trainer.policyLr must be a number, got the string "2e-4"`);
  assert.equal(await errorOf(dir, trainer({ promptsPerIteration: '16' })), `${file}: trainer.promptsPerIteration must be a positive integer, got the string "16"`);
  assert.match(await errorOf(dir, trainer({ generation: { maxNewTokens: '64' } })), /cfg\.json: trainer\.generation\.maxNewTokens must be a positive integer, got the string "64"/);
  assert.match(await errorOf(dir, { ...BASE, iterations: '30' }), /cfg\.json: iterations must be a positive integer, got the string "30"/);
}));

test('booleans must be booleans: "false" and "no" are errors, not true', () => withDir(async (dir) => {
  assert.match(await errorOf(dir, trainer({ saveRollouts: 'false' })), /cfg\.json: trainer\.saveRollouts must be true or false, got the string "false"/);
  assert.match(await errorOf(dir, trainer({ kl: { log: 'no' } })), /cfg\.json: trainer\.kl\.log must be true or false, got the string "no"/);
  assert.match(await errorOf(dir, trainer({ normalizeAdvantages: 1 })), /trainer\.normalizeAdvantages must be true or false, got 1/);
}));

test('unknown keys at any depth are errors with the closest valid name', () => withDir(async (dir) => {
  assert.match(await errorOf(dir, trainer({ generation: { maxNewToken: 64 } })), /cfg\.json: unknown field trainer\.generation\.maxNewToken \(did you mean maxNewTokens\?\)/);
  assert.match(await errorOf(dir, trainer({ kl: { coeff: 0.01 } })), /cfg\.json: unknown field trainer\.kl\.coeff \(did you mean coef\?\)/);
  assert.match(await errorOf(dir, trainer({ evalgeneration: { n: 2 } })), /unknown field trainer\.evalgeneration \(did you mean evalGeneration\?\)/);
  assert.match(await errorOf(dir, { ...BASE, evalLimt: 3 }), /cfg\.json: unknown field evalLimt \(did you mean evalLimit\?\)/);
  // nothing close: the valid names are listed instead
  assert.match(await errorOf(dir, trainer({ kl: { zzzzzz: 1 } })), /unknown field trainer\.kl\.zzzzzz \(known fields: coef, estimator, where, log\)/);
  assert.match(await errorOf(dir, trainer({ advantageEstimator: 'grop' })), /trainer\.advantageEstimator must be "gae" or "grpo", got the string "grop" \(did you mean "grpo"\?\)/);
}));

test('arrays must be arrays and strings strings, with a message instead of a JavaScript error', () => withDir(async (dir) => {
  assert.match(await errorOf(dir, trainer({ adamBetas: 0.9 })), /cfg\.json: trainer\.adamBetas must be an array of 2 numbers, got 0\.9/);
  assert.match(await errorOf(dir, trainer({ adamBetas: [0.9, '0.95'] })), /trainer\.adamBetas\[1\] must be a number, got the string "0\.95"/);
  assert.match(await errorOf(dir, trainer({ generation: { stop: '</answer>' } })), /cfg\.json: trainer\.generation\.stop must be an array of strings, got the string "<\/answer>"/);
  assert.match(await errorOf(dir, trainer({ template: 42 })), /cfg\.json: trainer\.template must be a non-empty string, got 42/);
  assert.match(await errorOf(dir, trainer({ template: 'orzz' })), /cfg\.json: trainer\.template must be "orz", "mini" or a text containing \{question\}, got the string "orzz"/);
  assert.match(await errorOf(dir, trainer({ kl: 0.01 })), /trainer\.kl must be an object, got 0\.01/);
  assert.match(await errorOf(dir, { ...BASE, trainer: [] }), /cfg\.json: trainer must be an object, got \[\]/);
}));

test('evalLimit must be a positive integer', () => withDir(async (dir) => {
  assert.match(await errorOf(dir, { ...BASE, evalLimit: 'abc' }), /cfg\.json: evalLimit must be a positive integer, got the string "abc"/);
  assert.match(await errorOf(dir, { ...BASE, evalLimit: -1 }), /cfg\.json: evalLimit must be a positive integer, got -1/);
  assert.match(await errorOf(dir, { ...BASE, evalLimit: 2.5 }), /evalLimit must be a positive integer, got 2\.5/);
}));

test('every problem of a file is reported at once, one line each', () => withDir(async (dir) => {
  const msg = await errorOf(dir, { name: 'x', model: 'm', iterations: 0, trainer: { policyLr: '1', kl: { coeff: 1 } } });
  const lines = msg.split('\n');
  assert.equal(lines.length, 4, msg);
  assert.ok(lines.every((l) => l.startsWith(join(dir, 'cfg.json') + ': ')), msg);
  assert.match(msg, /iterations must be a positive integer, got 0/);
  assert.match(msg, /trainData is missing \(a non-empty string\)/);
  assert.match(msg, /trainer\.policyLr must be a number, got the string "1"/);
  assert.match(msg, /unknown field trainer\.kl\.coeff/);
}));

test('ranges and cross-field rules keep their messages, under the trainer path', () => withDir(async (dir) => {
  assert.match(await errorOf(dir, trainer({ clipRatio: -1 })), /cfg\.json: trainer\.clipRatio must be > 0, got -1/);
  assert.match(await errorOf(dir, trainer({ gamma: 2 })), /trainer\.gamma must be in \[0, 1\], got 2/);
  assert.match(await errorOf(dir, trainer({ advantageEstimator: 'grpo', samplesPerPrompt: 1 })), /cfg\.json: trainer\.samplesPerPrompt must be >= 2 for GRPO/);
}));

test('the shipped run config and $comment notes are valid', async () => {
  const rc = await readRunConfig(MINI_CONFIG);
  assert.equal(rc.trainer?.policyLr, 2e-4);
  await withDir(async (dir) => {
    await writeFile(join(dir, 'ok.json'), JSON.stringify({ ...BASE, $comment: 'top', trainer: { $comment: 'why', kl: { $comment: 'off', coef: 0 } } }));
    const ok = await readRunConfig(join(dir, 'ok.json'));
    assert.equal(ok.model, join(dir, 'no-such-model-dir'));
  });
});

test('trainerFromRunConfig checks a config built in code before loading anything, naming configSource', async () => {
  const rc = { ...BASE, model: '/nonexistent/model', trainData: '/nonexistent/train.json', trainer: { evalEvery: '5' } } as unknown as RunConfig;
  await assert.rejects(trainerFromRunConfig(rc, { configSource: 'my-run.json' }), /^ConfigError: my-run\.json: trainer\.evalEvery must be an integer >= 0, got the string "5"$/);
  await assert.rejects(trainerFromRunConfig({ ...rc, trainer: {}, evalLimit: 0 }), /^ConfigError: run config: evalLimit must be a positive integer, got 0$/);
});

test('the SDK trainer config follows the same rule', () => {
  assert.throws(() => resolveTrainerConfig({ policyLr: '2e-4' } as never), /^ConfigError: trainer config: policyLr must be a number, got the string "2e-4"$/);
  assert.throws(() => resolveTrainerConfig({ saveRollouts: 'false' } as never), /saveRollouts must be true or false/);
});

test('orz train reports a config mistake before it loads the (missing) model', () => withDir(async (dir) => {
  await writeFile(join(dir, 'cfg.json'), JSON.stringify(trainer({ generation: { maxNewTokens: '64' } })));
  const r = spawnSync(process.execPath, [ORZ, 'train', 'cfg.json'], { cwd: dir, encoding: 'utf8', env: { ...process.env, ORZ_BACKEND: 'cpu' }, timeout: 120_000 });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /cfg\.json: trainer\.generation\.maxNewTokens must be a positive integer, got the string "64"/);
  assert.doesNotMatch(r.stderr, /no-such-model-dir|ENOENT|backend/);
}));
