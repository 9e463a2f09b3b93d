// One file from the hub into a cache blob: resumable (bytes so far stay in <blob>.incomplete and the
// next attempt asks for the rest with a Range request), verified (size, and the git oid or LFS sha256
// the hub listed), then renamed into place, so a blob that exists is always whole.
//
// Another process downloading the same blob holds <blob>.lock (its pid inside); this one waits for it to
// finish (or takes the lock over when that pid is gone), so two runs never append to one partial file.
//
// The bytes are fetched here rather than through @huggingface/hub's downloadFile/WebBlob: those do not
// say whether a ranged request was honoured (206) or answered with the whole file (200), which
// appending to a partial file must know, and they report no progress.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface BlobRequest {
  url: string;
  token?: string;
  /** The blob's final path; bytes accumulate in `${path}.incomplete`. */
  path: string;
  size: number;
  /** 64 hex digits: the LFS sha256 of the content; 40: the git blob oid. */
  oid?: string;
  /** Shown in progress and errors, e.g. "EleutherAI/pythia-14m model.safetensors". */
  label: string;
}

const ATTEMPTS = 3;

/** Downloads to req.path, retrying a cut connection from where it stopped. */
export async function downloadBlob(req: BlobRequest, progress = new Progress(req.label)): Promise<void> {
  await mkdir(dirname(req.path), { recursive: true });
  const release = await lockBlob(req.path, progress);
  try {
    if ((await sizeOf(req.path)) === req.size) return; // the process that held the lock finished it
    await downloadLocked(req, progress);
  } finally {
    await release();
  }
}

const LOCK_POLL_MS = 200;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes <blob>.lock; waits while a live process holds it, takes over a lock whose process is gone. */
async function lockBlob(blobPath: string, progress: Progress): Promise<() => Promise<void>> {
  const lock = `${blobPath}.lock`;
  let waiting = false;
  for (;;) {
    try {
      const fh = await open(lock, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return () => rm(lock, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = Number((await readFile(lock, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(holder) && holder > 0 && !processAlive(holder)) {
      await rm(lock, { force: true }); // left by a process that died
      continue;
    }
    if (!waiting) progress.note(`waiting for process ${holder || '?'} that is downloading it (${lock})`);
    waiting = true;
    await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
  }
}

async function downloadLocked(req: BlobRequest, progress: Progress): Promise<void> {
  const partial = `${req.path}.incomplete`;
  for (let attempt = 1; ; attempt++) {
    try {
      await fetchRest(req, partial, progress);
      break;
    } catch (e) {
      if (!(e instanceof CutConnection) || attempt === ATTEMPTS) throw e instanceof CutConnection ? e.cause : e;
      progress.note(`connection cut (${(e.cause as Error).message}); resuming (attempt ${attempt + 1} of ${ATTEMPTS})`);
    }
  }
  await verify(req, partial);
  await rename(partial, req.path);
  progress.done();
}

/** A failure while the body was arriving: what came is kept, and a retry can resume. */
class CutConnection extends Error {}

async function sizeOf(path: string): Promise<number> {
  return stat(path).then((s) => s.size, () => 0);
}

async function fetchRest(req: BlobRequest, partial: string, progress: Progress): Promise<void> {
  let have = await sizeOf(partial);
  if (have > req.size) {
    await rm(partial, { force: true });
    have = 0;
  }
  if (have === req.size) return;
  const headers: Record<string, string> = {};
  if (req.token) headers.Authorization = `Bearer ${req.token}`;
  if (have > 0) headers.Range = `bytes=${have}-`;
  const res = await fetch(req.url, { headers });
  if (res.status === 200) have = 0; // the server sent the whole file: start over
  else if (res.status === 206) {
    const start = Number(/^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '')?.[1]);
    if (start !== have) throw new Error(`${req.label}: asked for bytes from ${have}, the server sent a range starting at ${res.headers.get('content-range')}`);
  } else {
    throw new Error(`${req.label}: ${req.url} answered HTTP ${res.status} ${res.statusText}`);
  }
  if (!res.body) throw new Error(`${req.label}: ${req.url} sent no body`);
  const fh = await open(partial, have === 0 ? 'w' : 'a');
  let written = have;
  progress.update(written, req.size);
  try {
    try {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        await fh.write(chunk);
        written += chunk.length;
        progress.update(written, req.size);
      }
    } catch (e) {
      throw new CutConnection(`${req.label}: cut at byte ${written}`, { cause: e });
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  if (written < req.size) throw new CutConnection(`${req.label}: cut at byte ${written}`, { cause: new Error(`body ended at byte ${written} of ${req.size}`) });
  if (written > req.size) {
    await rm(partial, { force: true });
    throw new Error(`${req.label}: received ${written} bytes, the hub listed ${req.size}`);
  }
}

async function verify(req: BlobRequest, partial: string): Promise<void> {
  if (!req.oid) return;
  const kind = req.oid.length === 64 ? 'sha256' : req.oid.length === 40 ? 'sha1' : undefined;
  if (!kind) return;
  const hash = createHash(kind);
  if (kind === 'sha1') hash.update(`blob ${req.size}\0`); // git's blob oid
  for await (const chunk of createReadStream(partial)) hash.update(chunk as Buffer);
  const got = hash.digest('hex');
  if (got !== req.oid) {
    await rm(partial, { force: true });
    throw new Error(`${req.label}: downloaded bytes have ${kind} ${got}, the hub listed ${req.oid}; the partial file was removed, run again`);
  }
}

const MB = 1024 * 1024;
const fmt = (bytes: number) => (bytes >= MB ? `${(bytes / MB).toFixed(1)} MB` : `${(bytes / 1024).toFixed(1)} kB`);

/** Bytes per file on stderr: a line redrawn in place on a terminal, a line every few seconds otherwise. */
export class Progress {
  private last = 0;
  private shown = false;
  private readonly tty = process.stderr.isTTY === true;

  constructor(private readonly label: string) {}

  update(done: number, total: number): void {
    const now = performance.now();
    if (this.shown && now - this.last < (this.tty ? 200 : 2000) && done < total) return;
    this.last = now;
    this.shown = true;
    const pct = total > 0 ? ` (${Math.floor((100 * done) / total)}%)` : '';
    const line = `${this.label}: ${fmt(done)} / ${fmt(total)}${pct}`;
    process.stderr.write(this.tty ? `\r${line}\x1b[K` : `${line}\n`);
  }

  note(message: string): void {
    process.stderr.write(`${this.tty && this.shown ? '\n' : ''}${this.label}: ${message}\n`);
    this.shown = false;
  }

  done(): void {
    if (this.tty && this.shown) process.stderr.write('\n');
  }
}
