// `orz train --dry-run` and the pre-flight refusal, as a user runs them (real subprocesses, the shipped config).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const orz = (args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin/orz.js'), ...args], {
  cwd: ROOT, encoding: 'utf8', env: { ...process.env, ORZ_BACKEND: 'cpu' }, timeout: 120_000,
});

test('orz train --dry-run prints the memory plan and exits 0 when it fits, 1 with fixes when it does not', () => {
  const ok = orz(['train', 'data/mini/train-config.json', '--dry-run']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /memory pre-flight \(mini\)/);
  assert.match(ok.stdout, /policy weights .* params x 4 B/);
  assert.match(ok.stdout, /^fits: estimated peak [\d.]+ [MG]B of [\d.]+ [MG]B available$/m);

  const tight = orz(['train', 'data/mini/train-config.json', '--dry-run', '--memory-budget', '0.4']);
  assert.equal(tight.status, 1, tight.stdout + tight.stderr);
  assert.match(tight.stdout, /does not fit: estimated peak .*available 409\.6 MB/);
  assert.match(tight.stdout, /trainer\.(microBatchRows|samplesPerPrompt|promptsPerIteration) \d+ \(peak/);
});

test('orz train refuses a run that does not fit before writing anything', async () => {
  const runs = await mkdtemp(join(tmpdir(), 'orz-preflight-'));
  try {
    const r = orz(['train', 'data/mini/train-config.json', '--memory-budget', '0.3', '--runs-dir', runs]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /does not fit in memory/);
    assert.ok(!existsSync(join(runs, 'mini')), 'the run directory was created');
    const bad = orz(['train', 'data/mini/train-config.json', '--memory-budget', 'lots']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--memory-budget must be a number > 0, got "lots"/);
  } finally {
    await rm(runs, { recursive: true, force: true });
  }
});
