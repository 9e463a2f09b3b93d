// The rollout benchmark's PyTorch peer (bench/rollout_reference.py): the static KV-cache loop decodes every
// chunk of --slots rows to its longest row (a finished row stays until then), counts the rows' own lengths as
// the useful tokens, and writes its record atomically. Checked on the bundled base model with hand-picked rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PYTHON } from '../bench/python-torch.ts';

const SCRIPT = resolve('bench/rollout_reference.py');

test('the static loop decodes each chunk to its longest row and counts each row\'s own tokens', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'orz-rollout-peer-'));
  try {
    // prompts of different lengths (left padding), five rows in chunks of two: steps = max(3,1) + max(4,1) + 5
    const rows = [[5, 6, 7], [8], [9, 10], [11, 12, 13, 14], [15]].map((promptIds, i) => ({ promptIds, length: [3, 1, 4, 1, 5][i]! }));
    const input = join(dir, 'rows.json'), out = join(dir, 'out.json');
    await writeFile(input, JSON.stringify({ modelDir: resolve('data/mini/base'), slots: 2, temperature: 1, seed: 1, rows }));
    const r = spawnSync(PYTHON, [SCRIPT, '--input', input, '--out', out, '--reps', '2', '--threads', '1'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const rec = JSON.parse(await readFile(out, 'utf8')) as Record<string, unknown>;
    assert.equal(rec['decodeSteps'], 12);
    assert.equal(rec['responseTokens'], 14);
    assert.equal(rec['rows'], 5);
    assert.equal((rec['times'] as number[]).length, 2);
    assert.ok((rec['tokensPerSec'] as number) > 0 && (rec['peakRssMB'] as number) > 0);
    assert.deepEqual((await readdir(dir)).sort(), ['out.json', 'rows.json'], 'no temp file left');

    await writeFile(input, JSON.stringify({ modelDir: resolve('data/mini/base'), slots: 2, temperature: 1, seed: 1, rows: [] }));
    const bad = spawnSync(PYTHON, [SCRIPT, '--input', input, '--out', out], { encoding: 'utf8' });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /rows\.json: needs rows and slots >= 1/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
