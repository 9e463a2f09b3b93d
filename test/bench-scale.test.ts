// bench/scale.ts's pieces at a tiny size (not timed): both engines' processes run every phase, the
// record has a row per (phase, length) with both sides' times and peak RSS, and PyTorch computes the
// same logits as orz on the shared weights. The sizes of a full run are checked by parameter count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseModelConfig } from '../sdk/model/index.ts';
import { parameterCount } from '../sdk/run/memory-plan.ts';
import { PYTHON } from '../bench/python-torch.ts';
import { SCALE_SIZES, trainLayout } from '../bench/scale-sizes.ts';

const root = join(import.meta.dirname, '..');
const torchImports = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

test('the full run\'s sizes: 3.4M, ~30M and Qwen2.5-0.5B\'s 494M parameters; PPO rows of exactly T tokens', () => {
  const millions = (name: string) => parameterCount(parseModelConfig(SCALE_SIZES[name]!.config, name)) / 1e6;
  assert.ok(Math.abs(millions('bench') - 3.44) < 0.05, `bench ${millions('bench')}M`);
  assert.ok(millions('30m') > 25 && millions('30m') < 35, `30m ${millions('30m')}M`);
  assert.ok(Math.abs(millions('0.5b') - 494) < 1, `0.5b ${millions('0.5b')}M`);
  for (const T of [16, 256, 4096]) {
    const { P, R } = trainLayout(T);
    assert.equal(P + R - 1, T);
  }
});

test('bench scale --sizes tiny: every phase on both engines, rows with both times, the same logits', { skip: torchImports ? false : `${PYTHON} cannot import torch` }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'orz-scale-test-'));
  try {
    const out = join(dir, 'scale.json');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/scale.ts', '--sizes', 'tiny', '--no-install', '--out', out], { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const rec = JSON.parse(readFileSync(out, 'utf8'));
    assert.deepEqual(rec.failures, []);
    const tiny = SCALE_SIZES['tiny']!;
    const expected = [
      ...tiny.train.lengths.map((T) => `train ${T}`), ...tiny.forward.lengths.map((T) => `forward ${T}`),
      `sampling ${tiny.sampling.promptLen + tiny.sampling.newTokens}`,
    ];
    assert.deepEqual(rec.rows.map((x: { phase: string; T: number }) => `${x.phase} ${x.T}`), expected);
    for (const row of rec.rows) {
      for (const k of ['orzS', 'torchS', 'ratio', 'orzRssMB', 'torchRssMB']) assert.ok(Number.isFinite(row[k]) && row[k] > 0, `${row.phase} ${row.T}: ${k} = ${row[k]}`);
    }
    assert.ok(rec.logitsRelErr.tiny < 1e-4, `logits differ by ${rec.logitsRelErr.tiny}`);
    assert.equal(rec.raw.tiny.sampling.pytorch.result.runs[0].tokens, tiny.sampling.prompts * tiny.sampling.newTokens);
    assert.equal(rec.machine.loadAvgStart.length, 3);
    assert.match(r.stdout, /\| tiny \| forward \| 2 x 32 \|/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
