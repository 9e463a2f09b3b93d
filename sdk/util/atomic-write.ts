// Writes that either fully happen or not at all: a temp file in the same directory, fsync, then rename.
// Shared by every module that saves files (models, tokenizers, rollouts, metrics, runs).

import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export async function writeFileAtomic(path: string, chunks: Uint8Array[] | string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const fh = await open(tmp, 'w');
    try {
      if (typeof chunks === 'string') await fh.writeFile(chunks, 'utf8');
      else for (const c of chunks) await fh.writeFile(c); // writes the whole chunk at the current position
      await fh.sync(); // data on disk before the rename makes it visible
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new Error(`${path}: write failed: ${(e as Error).message}`);
  }
}
