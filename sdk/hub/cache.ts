// The Hugging Face hub cache, laid out as huggingface_hub (Python) lays it, so files either side
// downloaded serve the other:
//   <cache>/models--<owner>--<name>/blobs/<etag>                 file contents, named by git oid or LFS sha256
//   <cache>/models--<owner>--<name>/snapshots/<commit>/<file>    relative symlinks into blobs/
//   <cache>/models--<owner>--<name>/refs/<revision>              the commit a branch or tag pointed to
// <cache> is $HF_HUB_CACHE, else $HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, else
// $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.

import { existsSync } from 'node:fs';
import { lstat, mkdir, readFile, rename, rm, symlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.ts';

export interface HubId {
  /** "owner/name". */
  repo: string;
  /** Branch, tag or commit; "main" when the id gives none. */
  revision: string;
}

const COMMIT = /^[0-9a-f]{40}$/;
const HUB_ID = /^([A-Za-z0-9][\w.-]*)\/([A-Za-z0-9][\w.-]*)(?:@([\w./-]+))?$/;

/** "owner/name" or "owner/name@revision", else undefined. */
export function parseHubId(text: string): HubId | undefined {
  const m = HUB_ID.exec(text);
  if (!m || m[1]!.includes('..') || m[2]!.includes('..') || m[3]?.includes('..')) return undefined;
  return { repo: `${m[1]}/${m[2]}`, revision: m[3] ?? 'main' };
}

export function isCommitHash(revision: string): boolean {
  return COMMIT.test(revision);
}

export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HUGGINGFACE_HUB_CACHE) return env.HUGGINGFACE_HUB_CACHE;
  if (env.HF_HOME) return join(env.HF_HOME, 'hub');
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'huggingface', 'hub');
}

/** One model's folder in the cache. */
export class RepoCache {
  readonly dir: string;

  constructor(readonly cacheDir: string, readonly repo: string) {
    this.dir = join(cacheDir, `models--${repo.split('/').join('--')}`);
  }

  snapshotDir(commit: string): string {
    return join(this.dir, 'snapshots', commit);
  }

  blobPath(etag: string): string {
    return join(this.dir, 'blobs', etag);
  }

  /** The commit a revision names: itself when it is a commit hash, else refs/<revision>, else undefined. */
  async commitOf(revision: string): Promise<string | undefined> {
    if (isCommitHash(revision)) return revision;
    try {
      const commit = (await readFile(join(this.dir, 'refs', revision), 'utf8')).trim();
      return isCommitHash(commit) ? commit : undefined;
    } catch {
      return undefined;
    }
  }

  async writeRef(revision: string, commit: string): Promise<void> {
    if (isCommitHash(revision)) return; // Python records refs only for branch and tag names
    const path = join(this.dir, 'refs', revision);
    await mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, commit); // no newline, as huggingface_hub writes it
  }

  /** snapshots/<commit>/<file> as a relative symlink to blobs/<etag>; replaced atomically if present. */
  async linkSnapshotFile(commit: string, file: string, etag: string): Promise<string> {
    const pointer = join(this.snapshotDir(commit), file);
    await mkdir(dirname(pointer), { recursive: true });
    const target = relative(dirname(pointer), this.blobPath(etag));
    const tmp = `${pointer}.tmp-${process.pid}`;
    await rm(tmp, { force: true });
    await symlink(target, tmp);
    await rename(tmp, pointer);
    return pointer;
  }

  /** Whether snapshots/<commit>/<file> exists and its blob too (a dangling link does not count). */
  hasFile(commit: string, file: string): boolean {
    return existsSync(join(this.snapshotDir(commit), file));
  }

  async hasBlob(etag: string, size: number): Promise<boolean> {
    try {
      const s = await lstat(this.blobPath(etag));
      return s.isFile() && s.size === size;
    } catch {
      return false;
    }
  }
}
