// The layering of sdk/ and kernel/ as imports show it: no import cycles (type-only imports count).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importCycles, importGraph } from './support/import-graph.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

// Cycles that exist today and are being taken apart (issue 11: the run loop moves to sdk/run/ and the run
// report out of sdk/viz). Each entry must still be a cycle: once one is gone, delete it here, so the list
// only shrinks.
const KNOWN_CYCLES = [
  // Trainer.run()/saveCheckpoint() call the run loop and checkpoint code, which take a Trainer back
  ['sdk/ppo/checkpoint-policy.ts', 'sdk/ppo/checkpoint.ts', 'sdk/ppo/resume.ts', 'sdk/ppo/run-dir.ts', 'sdk/ppo/run-recorder.ts', 'sdk/ppo/run.ts', 'sdk/ppo/trainer.ts'],
  ['sdk/ppo/metrics-log.ts', 'sdk/rollout/rollout-batch.ts', 'sdk/viz/index.ts', 'sdk/viz/report.ts', 'sdk/viz/run-display.ts', 'sdk/viz/training-chart.ts'],
].map((c) => c.join(' '));

test('the import graph of sdk/ and kernel/ has no new cycle, and every listed one still exists', () => {
  const graph = importGraph(ROOT, ['sdk', 'kernel']);
  assert.ok(graph.size > 100, `expected the whole tree, found ${graph.size} files`);
  const cycles = importCycles(graph).map((c) => c.join(' '));
  const added = cycles.filter((c) => !KNOWN_CYCLES.includes(c));
  const gone = KNOWN_CYCLES.filter((c) => !cycles.includes(c));
  assert.deepEqual(added, [], `new import cycle(s):\n  ${added.join('\n  ')}`);
  assert.deepEqual(gone, [], `cycle(s) no longer present (remove them from KNOWN_CYCLES):\n  ${gone.join('\n  ')}`);
});

test('importGraph reads type-only, multi-line and re-export imports; importCycles finds a cycle and none in a chain', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'orz-imports-'));
  try {
    await mkdir(join(dir, 'src'));
    await writeFile(join(dir, 'src', 'a.ts'), "import type { B } from './b.ts';\n// import { gone } from './c.ts';\nexport const a = 1;\n");
    await writeFile(join(dir, 'src', 'b.ts'), "import {\n  a,\n} from './a.ts';\nexport * from './c.ts';\nexport type B = typeof a;\n");
    await writeFile(join(dir, 'src', 'c.ts'), "const later = () => import('./a.ts');\nexport { later };\n");
    const g = importGraph(dir, ['src']);
    assert.deepEqual(g.get('src/a.ts'), ['src/b.ts']);
    assert.deepEqual(g.get('src/b.ts'), ['src/a.ts', 'src/c.ts']);
    assert.deepEqual(g.get('src/c.ts'), [], 'a dynamic import() is lazy loading, not layering');
    assert.deepEqual(importCycles(g), [['src/a.ts', 'src/b.ts']]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('importCycles: none in a chain, one per strongly connected component', () => {
  const chain = new Map([['a.ts', ['b.ts']], ['b.ts', ['c.ts']], ['c.ts', []]]);
  assert.deepEqual(importCycles(chain), []);
  const loop = new Map([['a.ts', ['b.ts']], ['b.ts', ['c.ts']], ['c.ts', ['a.ts']], ['d.ts', ['a.ts']]]);
  assert.deepEqual(importCycles(loop), [['a.ts', 'b.ts', 'c.ts']]);
});
