// From a hub id ("owner/name", "owner/name@revision") to a snapshot directory in the Hugging Face
// cache holding the files a model or tokenizer needs, downloading what is missing.
//
// Loading is cache first: when refs/<revision> names a snapshot that already has the needed files,
// nothing is asked of the hub (a branch that moved on is picked up by `orz pull`, which always asks).
// The revision's commit and the file list (git oid, LFS sha256, size) come from the hub's API through
// @huggingface/hub (modelInfo, listFiles); the bytes through download.ts.
//
// Environment: HF_ENDPOINT (default https://huggingface.co), HF_TOKEN, HF_HUB_OFFLINE=1 (cache only),
// and the cache location variables of cache.ts.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ListFileEntry } from '@huggingface/hub';
import { hubCacheDir, parseHubId, RepoCache, type HubId } from './cache.ts';
import { downloadBlob } from './download.ts';
import { resolveCheckpointPath } from './checkpoint-path.ts';

/** Which files a caller needs: a model's config and weights, a tokenizer's files, or both. */
export type Need = 'model' | 'tokenizer' | 'all';

export interface Snapshot {
  /** snapshots/<commit> in the cache. */
  dir: string;
  commit: string;
  /** Files fetched from the hub by this call (empty when the cache had everything). */
  downloaded: string[];
}

export interface HubOptions {
  env?: NodeJS.ProcessEnv;
  /** Ask the hub which commit the revision is at even when the cache has a snapshot (orz pull). */
  refresh?: boolean;
}

const DEFAULT_ENDPOINT = 'https://huggingface.co';
const CONFIG = 'config.json';
const WEIGHTS = 'model.safetensors';
const INDEX = 'model.safetensors.index.json';
const MODEL_EXTRAS = ['generation_config.json'];
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];

/**
 * A local path when it exists (a training checkpoint, or its `checkpoints/latest`, names its policy model:
 * see checkpoint-path.ts); else a hub id resolved to its snapshot directory. Anything else is returned
 * unchanged, for the caller's own "cannot read" error.
 */
export async function resolveModelPath(pathOrId: string, need: Need, opts: HubOptions = {}): Promise<string> {
  const local = resolveCheckpointPath(pathOrId);
  if (existsSync(local)) return local;
  const id = parseHubId(pathOrId);
  if (!id) return pathOrId;
  return (await ensureSnapshot(id, need, opts)).dir;
}

/**
 * A model reference written in a file (a run config): a path relative to `baseDir` when that exists,
 * else a hub id kept as the id, else the path (for the loader's own "cannot read" error).
 */
export function modelReference(baseDir: string, text: string): string {
  const local = resolve(baseDir, text);
  return existsSync(local) || !parseHubId(text) ? local : text;
}

export function isOffline(env: NodeJS.ProcessEnv = process.env): boolean {
  return ['1', 'true', 'yes', 'on'].includes((env.HF_HUB_OFFLINE ?? '').toLowerCase());
}

export function hubEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  return (env.HF_ENDPOINT || DEFAULT_ENDPOINT).replace(/\/+$/, '');
}

const idText = (id: HubId) => (id.revision === 'main' ? id.repo : `${id.repo}@${id.revision}`);

/** The snapshot of `id` with the files `need` asks for, from the cache or downloaded into it. */
export async function ensureSnapshot(id: HubId, need: Need, opts: HubOptions = {}): Promise<Snapshot> {
  const env = opts.env ?? process.env;
  const cache = new RepoCache(hubCacheDir(env), id.repo);
  const offline = isOffline(env);
  if (!opts.refresh || offline) {
    const commit = await cache.commitOf(id.revision);
    const missing = commit ? await missingFiles(cache, commit, need) : undefined;
    if (commit && missing!.length === 0) return { dir: cache.snapshotDir(commit), commit, downloaded: [] };
    if (offline) {
      const what = commit ? `snapshot ${commit} lacks ${missing!.join(', ')}` : `no snapshot of revision "${id.revision}"`;
      throw new Error(
        `${idText(id)}: not in the Hugging Face cache at ${cache.dir} (${what}); HF_HUB_OFFLINE is set, so nothing is downloaded. ` +
          `Run \`orz pull ${idText(id)}\` where the hub is reachable, or point HF_HUB_CACHE at a cache that has it.`,
      );
    }
  }
  return download(id, need, cache, env);
}

/** Files of `need` that snapshots/<commit> lacks (the shards the index lists count). */
async function missingFiles(cache: RepoCache, commit: string, need: Need): Promise<string[]> {
  const missing: string[] = [];
  if (need !== 'tokenizer') {
    if (!cache.hasFile(commit, CONFIG)) missing.push(CONFIG);
    if (cache.hasFile(commit, INDEX)) {
      const shards = await shardNames(join(cache.snapshotDir(commit), INDEX)).catch(() => undefined);
      if (shards) missing.push(...shards.filter((f) => !cache.hasFile(commit, f)));
      else missing.push(`${INDEX} (unreadable)`);
    } else if (!cache.hasFile(commit, WEIGHTS)) missing.push(WEIGHTS);
  }
  if (need !== 'model' && !cache.hasFile(commit, TOKENIZER_FILES[0]!)) missing.push(TOKENIZER_FILES[0]!);
  return missing;
}

async function shardNames(indexPath: string): Promise<string[]> {
  const index = JSON.parse(await readFile(indexPath, 'utf8')) as { weight_map?: Record<string, unknown> };
  if (typeof index.weight_map !== 'object' || index.weight_map === null) throw new Error(`${indexPath}: no weight_map object`);
  return [...new Set(Object.values(index.weight_map).map(String))];
}

interface Remote {
  id: HubId;
  cache: RepoCache;
  endpoint: string;
  token: string | undefined;
  commit: string;
  files: Map<string, ListFileEntry>;
  downloaded: string[];
}

async function download(id: HubId, need: Need, cache: RepoCache, env: NodeJS.ProcessEnv): Promise<Snapshot> {
  const endpoint = hubEndpoint(env);
  const token = env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || undefined;
  const call = <T>(what: string, f: () => Promise<T>) => hubCall(id, cache, endpoint, what, f);
  const { listFiles, modelInfo } = await import('@huggingface/hub'); // loaded only when something is downloaded
  const info = await call('revision', () => modelInfo({ name: id.repo, revision: id.revision, hubUrl: endpoint, accessToken: token, additionalFields: ['sha'] }));
  const commit = info.sha;
  if (typeof commit !== 'string' || !/^[0-9a-f]{40}$/.test(commit)) throw new Error(`${idText(id)}: ${endpoint} gave no commit for revision "${id.revision}"`);
  const files = new Map<string, ListFileEntry>();
  await call('file list', async () => {
    for await (const entry of listFiles({ repo: id.repo, revision: commit, hubUrl: endpoint, accessToken: token })) {
      if (entry.type === 'file') files.set(entry.path, entry);
    }
  });
  await cache.writeRef(id.revision, commit);
  const remote: Remote = { id, cache, endpoint, token, commit, files, downloaded: [] };
  for (const file of await filesToFetch(remote, need)) await fetchFile(remote, file);
  return { dir: cache.snapshotDir(commit), commit, downloaded: remote.downloaded };
}

/** The repository's files that `need` asks for; the shard index is fetched first to learn the shards. */
async function filesToFetch(r: Remote, need: Need): Promise<string[]> {
  const wanted: string[] = [];
  const listed = (f: string) => r.files.has(f);
  if (need !== 'tokenizer') {
    if (!listed(CONFIG)) throw new Error(`${idText(r.id)}: the repository has no ${CONFIG} at commit ${r.commit}`);
    wanted.push(CONFIG, ...MODEL_EXTRAS.filter(listed));
    if (listed(INDEX)) {
      await fetchFile(r, INDEX);
      wanted.push(INDEX, ...(await shardNames(join(r.cache.snapshotDir(r.commit), INDEX))));
    } else if (listed(WEIGHTS)) {
      wanted.push(WEIGHTS);
    } else {
      const names = [...r.files.keys()].join(', ');
      throw new Error(`${idText(r.id)}: no ${WEIGHTS} or ${INDEX} at commit ${r.commit} (files: ${names}); orz reads safetensors weights only`);
    }
  }
  if (need === 'tokenizer' || (need === 'all' && listed(TOKENIZER_FILES[0]!))) { // orz pull takes a model without a tokenizer too
    if (!listed(TOKENIZER_FILES[0]!)) throw new Error(`${idText(r.id)}: the repository has no ${TOKENIZER_FILES[0]} at commit ${r.commit}`);
    wanted.push(...TOKENIZER_FILES.filter(listed));
  }
  return [...new Set(wanted)];
}

// Downloads of one blob already under way in this process (loadModel and loadTokenizer may run together).
const inFlight = new Map<string, Promise<void>>();

async function fetchFile(r: Remote, file: string): Promise<void> {
  // names come from the hub's listing and the shard index: neither may point outside the snapshot
  if (file.startsWith('/') || file.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new Error(`${idText(r.id)}: refusing the file name ${JSON.stringify(file)} (not a plain path inside the repository)`);
  }
  if (r.cache.hasFile(r.commit, file)) return;
  const entry = r.files.get(file);
  if (!entry) throw new Error(`${idText(r.id)}: ${file} is not in the repository at commit ${r.commit}`);
  const etag = entry.lfs?.oid ?? entry.oid;
  const size = entry.lfs?.size ?? entry.size;
  if (!etag || !/^[0-9a-f]{40}$|^[0-9a-f]{64}$/.test(etag)) throw new Error(`${idText(r.id)}: the hub listed no usable oid for ${file} (${JSON.stringify(etag)})`);
  if (!(await r.cache.hasBlob(etag, size))) {
    const blob = r.cache.blobPath(etag);
    let pending = inFlight.get(blob);
    if (!pending) {
      const url = `${r.endpoint}/${r.id.repo}/resolve/${r.commit}/${file.split('/').map(encodeURIComponent).join('/')}`;
      const label = `${r.id.repo} ${file}`;
      pending = hubCall(r.id, r.cache, r.endpoint, file, () => downloadBlob({ url, token: r.token, path: blob, size, oid: etag, label }));
      inFlight.set(blob, pending);
      pending.finally(() => inFlight.delete(blob)).catch(() => {});
    }
    await pending;
    r.downloaded.push(file);
  }
  await r.cache.linkSnapshotFile(r.commit, file, etag);
}

/** Runs a hub request; a network failure or an API error becomes a message naming the model, the endpoint and the way out. */
async function hubCall<T>(id: HubId, cache: RepoCache, endpoint: string, what: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    const err = e as Error & { cause?: Error; statusCode?: number };
    if (typeof err.statusCode === 'number') { // @huggingface/hub's HubApiError
      const hint = err.statusCode === 401 || err.statusCode === 403 || err.statusCode === 404
        ? ' Check the id and revision; a private or gated model needs HF_TOKEN.'
        : '';
      throw new Error(`${idText(id)}: the hub at ${endpoint} refused the ${what} request (HTTP ${err.statusCode}): ${err.message}.${hint}`);
    }
    if (err instanceof TypeError && err.message === 'fetch failed') {
      throw new Error(
        `${idText(id)}: cannot reach the hub at ${endpoint} for the ${what} (${err.cause?.message ?? err.message}). ` +
          `Set HF_HUB_OFFLINE=1 to use only the cache (${cache.dir}), or HF_ENDPOINT to use a mirror.`,
      );
    }
    if (err instanceof TypeError && /access token/.test(err.message)) throw new Error(`HF_TOKEN: ${err.message}`);
    throw err;
  }
}
