// bench/async-overlap.ts at a small size (not timed): both stalenesses run on a real rollout worker process, pinned
// with taskset where the machine has two cores; the record says which iterations were prefetched and from which
// weights version, and that maxStaleness 0 never prefetches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const mini = join(root, 'data', 'mini');

test('bench async-overlap: maxStaleness 0 and 1 on a worker, versions and prefetches recorded, a ratio', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orz-overlap-test-'));
  try {
    const config = join(dir, 'cfg.json');
    const main = JSON.parse(readFileSync(join(mini, 'train-config.json'), 'utf8'));
    writeFileSync(config, JSON.stringify({
      ...main, model: join(mini, 'base'), trainData: join(mini, 'train.json'), evalData: join(mini, 'eval.jsonl'),
      trainer: { ...main.trainer, promptsPerIteration: 2, samplesPerPrompt: 2, generation: { maxNewTokens: 8 }, criticUpdateSteps: 1 },
    }));
    const out = join(dir, 'overlap.json');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/async-overlap.ts', '--config', config, '--iterations', '4', '--out', out],
      { cwd: root, encoding: 'utf8', timeout: 180_000 });
    assert.equal(r.status, 0, r.stderr);
    const rec = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(rec.pinned, cpus().length >= 2 ? 'head on core 0, the worker on core 1 (taskset -a)' : 'not pinned');
    const [on, stale] = rec.cases;
    assert.equal(on.maxStaleness, 0);
    assert.deepEqual(on.prefetched, [null, null, null, null], 'on-policy rows carry no prefetch column');
    assert.equal(stale.maxStaleness, 1);
    assert.deepEqual(stale.weightVersion, [0, 0, 1, 2]);
    assert.deepEqual(stale.prefetched, [0, 1, 1, 1], 'iterations 2-4 were generated during the update before them');
    assert.equal(stale.iterationSeconds.length, 4);
    assert.ok(rec.ratios['maxStaleness 1 / 0'] > 0, JSON.stringify(rec.ratios));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
