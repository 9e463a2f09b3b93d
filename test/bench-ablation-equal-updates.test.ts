// bench/ablation-equal-updates.ts: the policy-steps ablation read per policy update. Hand-computed rows, the
// refusal of step counts that do not divide, and the command on a record file the test writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { equalUpdates } from '../bench/ablation-equal-updates.ts';

const rows = (steps: number, rewards: number[]) => [
  { iteration: 0, 'eval/accuracy': 0.4 },
  ...rewards.map((r, i) => ({ iteration: i + 1, 'reward/mean': r, 'policy/steps': steps })),
];

test('equalUpdates pairs base iteration u+1 with alt iteration u/k+1 while both runs reach', () => {
  const base = rows(1, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);   // iterations 1..7
  const alt = rows(3, [0.15, 0.35, 0.45, 0.9]);                  // iterations 1..4
  const pts = equalUpdates(base, alt, 1, 3);
  // u = 3: base iteration 4 (0.4) vs alt iteration 2 (0.35); u = 6: base 7 (0.7) vs alt 3 (0.45); u = 9: base has no iteration 10
  assert.deepEqual(pts.map((p) => [p.updates, p.baseIteration, p.altIteration]), [[3, 4, 2], [6, 7, 3]]);
  assert.ok(Math.abs(pts[0]!.diff - 0.05) < 1e-12);
  assert.ok(Math.abs(pts[1]!.diff - 0.25) < 1e-12);
});

test('equalUpdates refuses step counts that are not whole multiples', () => {
  assert.throws(() => equalUpdates(rows(2, [0.1]), rows(3, [0.1]), 2, 3), /whole multiple/);
});

test('the command reads a record, writes the summary with a verdict per update count, and names a missing arm', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orz-equal-updates-'));
  try {
    const record = join(dir, 'ablations.json');
    const run = (seed: number, steps: number, rewards: number[]) => ({ seed, rows: rows(steps, rewards) });
    writeFileSync(record, JSON.stringify({
      date: 'x', parameters: {},
      arms: {
        B: { runs: [run(1, 1, [0.1, 0.2, 0.3, 0.5, 0.6]), run(2, 1, [0.1, 0.2, 0.3, 0.2, 0.6])] },
        A: { runs: [run(2, 2, [0.3, 0.4, 0.35]), run(1, 2, [0.3, 0.25, 0.1])] },
      },
    }));
    const out = join(dir, 'out.json');
    const script = join(import.meta.dirname, '..', 'bench', 'ablation-equal-updates.ts');
    const r = spawnSync(process.execPath, ['--import', 'tsx', script, '--record', record, '--base', 'B', '--alt', 'A', '--out', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(readFileSync(out, 'utf8'));
    // seed 1: u=2 base it3 0.3 − alt it2 0.25 = +0.05; u=4 base it5 0.6 − alt it3 0.1 = +0.5
    // seed 2: u=2 0.3 − 0.4 = −0.1; u=4 0.6 − 0.35 = +0.25
    assert.deepEqual(got.summary.map((s: { updates: number; verdict: string }) => [s.updates, s.verdict]), [[2, 'mixed'], [4, 'base ahead in every seed']]);
    assert.ok(Math.abs(got.summary[1].meanDiff - 0.375) < 1e-9);
    const bad = spawnSync(process.execPath, ['--import', 'tsx', script, '--record', record, '--base', 'B', '--alt', 'nope', '--out', out], { encoding: 'utf8' });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /no arm named "nope"/);
    assert.match(bad.stderr, /ablations\.json/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
