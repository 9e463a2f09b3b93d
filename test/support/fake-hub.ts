// A Hugging Face hub on 127.0.0.1 (real HTTP, node:http) serving repositories that a test writes, with
// the endpoints orz's downloads use, answered as the hub answers them:
//   GET /api/models/<owner>/<name>/revision/<rev>   model info with "sha" (what @huggingface/hub's modelInfo asks)
//   GET /api/models/<owner>/<name>/tree/<rev>       file list: path, size, oid (git), lfs {oid sha256, size}
//   GET /<owner>/<name>/resolve/<rev>/<file>        the bytes; ETag, X-Repo-Commit, Content-Length, Range -> 206
// Every request is logged; a request for anything else is answered 404 and kept in `unknown`, so a test
// can show what the client asked that the fake does not know. `cutOnce(file)` makes the next full
// download of that file stop half-way by destroying the socket.

import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeFile { bytes: Buffer; lfs: boolean }
export interface FakeRepo { commit: string; files: Map<string, FakeFile> }
export interface LoggedRequest { method: string; url: string; range?: string; auth?: string }

export const gitOid = (bytes: Buffer) => createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
export const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

export class FakeHub {
  readonly repos = new Map<string, FakeRepo>();
  readonly log: LoggedRequest[] = [];
  readonly unknown: string[] = [];
  private readonly cuts = new Set<string>();
  private server: Server | undefined;
  url = '';

  /** A repository whose main branch is at `commit` (40 hex digits). */
  addRepo(repo: string, commit: string, files: Record<string, { bytes: Buffer; lfs?: boolean }>): void {
    this.repos.set(repo, { commit, files: new Map(Object.entries(files).map(([p, f]) => [p, { bytes: f.bytes, lfs: f.lfs ?? false }])) });
  }

  cutOnce(file: string): void {
    this.cuts.add(file);
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    this.log.push({ method: req.method ?? '', url: req.url ?? '', range: req.headers.range, auth: req.headers.authorization });
    const path = decodeURIComponent(url.pathname);
    let m = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(path);
    if (m && req.method === 'GET') return this.revision(res, m[1]!, m[2]!);
    m = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)$/.exec(path);
    if (m && req.method === 'GET') return this.tree(res, m[1]!, m[2]!);
    m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (m && (req.method === 'GET' || req.method === 'HEAD')) return this.resolve(req, res, m[1]!, m[2]!, m[3]!);
    this.unknown.push(`${req.method} ${req.url}`);
    this.json(res, 404, { error: `fake hub: no route for ${req.method} ${req.url}` });
  }

  private json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }

  /** The repository at `rev` (main or its commit), or undefined after answering 404 as the hub does. */
  private find(res: ServerResponse, repo: string, rev: string): FakeRepo | undefined {
    const r = this.repos.get(repo);
    if (!r) {
      this.json(res, 404, { error: 'Repository not found' }, { 'X-Error-Code': 'RepoNotFound' });
      return undefined;
    }
    if (rev !== 'main' && rev !== r.commit) {
      this.json(res, 404, { error: `Invalid rev id: ${rev}` }, { 'X-Error-Code': 'RevisionNotFound' });
      return undefined;
    }
    return r;
  }

  private revision(res: ServerResponse, repo: string, rev: string): void {
    const r = this.find(res, repo, rev);
    if (!r) return;
    this.json(res, 200, {
      _id: `fake-${repo}`, id: repo, sha: r.commit, private: false, gated: false, downloads: 0, likes: 0,
      lastModified: '2026-01-01T00:00:00.000Z', siblings: [...r.files.keys()].map((rfilename) => ({ rfilename })),
    });
  }

  private tree(res: ServerResponse, repo: string, rev: string): void {
    const r = this.find(res, repo, rev);
    if (!r) return;
    this.json(res, 200, [...r.files].map(([path, f]) => {
      if (!f.lfs) return { type: 'file', path, size: f.bytes.length, oid: gitOid(f.bytes) };
      const pointer = Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(f.bytes)}\nsize ${f.bytes.length}\n`);
      return { type: 'file', path, size: f.bytes.length, oid: gitOid(pointer), lfs: { oid: sha256(f.bytes), size: f.bytes.length, pointerSize: pointer.length } };
    }));
  }

  private resolve(req: IncomingMessage, res: ServerResponse, repo: string, rev: string, file: string): void {
    const r = this.find(res, repo, rev);
    if (!r) return;
    const f = r.files.get(file);
    if (!f) return this.json(res, 404, { error: 'Entry not found' }, { 'X-Error-Code': 'EntryNotFound' });
    const etag = f.lfs ? sha256(f.bytes) : gitOid(f.bytes);
    const headers: Record<string, string> = { ETag: `"${etag}"`, 'X-Repo-Commit': r.commit, 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream' };
    if (f.lfs) Object.assign(headers, { 'X-Linked-ETag': `"${etag}"`, 'X-Linked-Size': String(f.bytes.length) });
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    let body = f.bytes;
    let status = 200;
    if (range) {
      const start = Number(range[1]);
      const end = range[2] ? Number(range[2]) : f.bytes.length - 1;
      if (start >= f.bytes.length) {
        res.writeHead(416, { 'Content-Range': `bytes */${f.bytes.length}` });
        return void res.end();
      }
      body = f.bytes.subarray(start, end + 1);
      status = 206;
      headers['Content-Range'] = `bytes ${start}-${start + body.length - 1}/${f.bytes.length}`;
    }
    res.writeHead(status, { ...headers, 'Content-Length': String(body.length) });
    if (req.method === 'HEAD') return void res.end();
    if (status === 200 && this.cuts.delete(file)) {
      // half the body, then the connection drops
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => setTimeout(() => res.destroy(), 20));
      return;
    }
    res.end(body);
  }
}
