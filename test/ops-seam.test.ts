// Fused kernels are chosen in one place: sdk/engine/fused.ts decides (fusedKernel) and the op files
// (`*-op.ts`) hold each op's composite and fused path. The model and the algorithm call ops, so no
// other file under sdk/ asks for a kernel or runs one. ORZ_SEAM_ROOT points the scan at another checkout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const root = resolve(process.env['ORZ_SEAM_ROOT'] ?? join(import.meta.dirname, '..'));
const SEAM = 'sdk/engine/fused.ts';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** "file:line" of every line under sdk/ that contains `call`, outside the files `allowed` accepts. */
function callsOutside(call: string, allowed: (file: string) => boolean): string[] {
  const hits: string[] = [];
  for (const path of sourceFiles(join(root, 'sdk'))) {
    const file = relative(root, path);
    if (allowed(file)) continue;
    readFileSync(path, 'utf8').split('\n').forEach((line, i) => {
      if (line.includes(call)) hits.push(`${file}:${i + 1}`);
    });
  }
  return hits;
}

test('only the seam asks whether a fused kernel is available', () => {
  assert.deepEqual(callsOutside('fusedKernel(', (f) => f === SEAM), [], `fusedKernel( called outside ${SEAM}: define an op with fusedOp in a *-op.ts file instead`);
});

test('fused kernels run only inside op files', () => {
  assert.deepEqual(callsOutside('runFused(', (f) => f === SEAM || f.endsWith('-op.ts')), [], 'runFused( called outside the op files (*-op.ts)');
});
