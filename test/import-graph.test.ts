// The layering of sdk/ and kernel/ as imports show it: no import cycles (type-only imports count).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importCycles, importGraph } from './support/import-graph.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

// Cycles being taken apart. Each entry must still be a cycle: once one is gone, delete it here, so the list
// only shrinks (it is empty: keep it so).
const KNOWN_CYCLES: string[] = [];

// The layers of sdk/ and kernel/, low to high; a file may import its own layer or lower ones, never higher.
// Layers in one group are peers. viz (generic display: tables, plotly, progress bars, mime bundles) depends on
// nothing else in sdk/ and sits lowest: util/ambient.ts names the mime bundle a notebook host displays.
// sdk/index.ts (the public API, "api") re-exports every layer but the command line.
const LAYERS: string[][] = [
  ['viz'],
  ['engine', 'util'],
  ['model', 'tokenizer', 'data', 'reward', 'hub'],
  ['rollout'],
  ['ppo'],
  ['eval'],
  ['run'],
  ['session'],
  ['api'],
  ['cli'],
  ['kernel'],
];

/** The layer of a file: kernel/..., sdk/index.ts (api) or the directory under sdk/. */
function layerOf(file: string): string {
  const parts = file.split('/');
  if (parts[0] === 'kernel') return 'kernel';
  return parts.length === 2 ? 'api' : parts[1]!;
}

const rank = (layer: string) => LAYERS.findIndex((group) => group.includes(layer));

/** Imports that point from a lower layer to a higher one ("from -> to (layer -> layer)"); throws on an unlisted layer. */
function upwardImports(graph: Map<string, string[]>): string[] {
  const out: string[] = [];
  for (const [file, deps] of graph) {
    const from = layerOf(file);
    if (rank(from) < 0) throw new Error(`${file}: its layer "${from}" is not in LAYERS (test/import-graph.test.ts)`);
    for (const dep of deps) {
      const to = layerOf(dep);
      if (rank(to) > rank(from)) out.push(`${file} -> ${dep} (${from} -> ${to})`);
    }
  }
  return out;
}

test('the import graph of sdk/ and kernel/ has no new cycle, and every listed one still exists', () => {
  const graph = importGraph(ROOT, ['sdk', 'kernel']);
  assert.ok(graph.size > 100, `expected the whole tree, found ${graph.size} files`);
  const cycles = importCycles(graph).map((c) => c.join(' '));
  const added = cycles.filter((c) => !KNOWN_CYCLES.includes(c));
  const gone = KNOWN_CYCLES.filter((c) => !cycles.includes(c));
  assert.deepEqual(added, [], `new import cycle(s):\n  ${added.join('\n  ')}`);
  assert.deepEqual(gone, [], `cycle(s) no longer present (remove them from KNOWN_CYCLES):\n  ${gone.join('\n  ')}`);
});

test('no import in sdk/ or kernel/ points from a lower layer to a higher one', () => {
  assert.deepEqual(upwardImports(importGraph(ROOT, ['sdk', 'kernel'])), []);
});

test('upwardImports names an import from a lower layer to a higher one, and accepts peers and lower ones', () => {
  const g = new Map([
    ['sdk/ppo/trainer.ts', ['sdk/run/loop.ts', 'sdk/rollout/engine.ts']],
    ['sdk/model/checkpoint.ts', ['sdk/hub/resolve.ts']],
    ['sdk/run/loop.ts', ['sdk/ppo/trainer.ts']],
  ]);
  assert.deepEqual(upwardImports(g), ['sdk/ppo/trainer.ts -> sdk/run/loop.ts (ppo -> run)']);
  assert.throws(() => upwardImports(new Map([['sdk/newthing/a.ts', []]])), /layer "newthing" is not in LAYERS/);
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
