// Reading a directory tree back in tests, to check that a command left every file byte-identical.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** Every file under dir (path relative to dir) with its bytes. */
export async function filesOf(dir: string, into = new Map<string, Buffer>(), root = dir): Promise<Map<string, Buffer>> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await filesOf(p, into, root);
    else into.set(relative(root, p), await readFile(p));
  }
  return into;
}
