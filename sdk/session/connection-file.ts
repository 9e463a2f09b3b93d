// The connection file: everything a client needs to reach a session (addresses and the signing key), as in
// Jupyter's kernel connection files. It is written atomically into a 0700 directory and then set to 0600, so no
// other user can read the key at any moment, and a reader never sees half a file.

import { chmod, mkdir, readFile, readdir } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { sessionFiles, sessionsRoot } from './paths.ts';
import { MIN_KEY_LENGTH, PROTOCOL, Signer } from './wire.ts';

export interface SessionConnection {
  name: string;
  protocol: string;
  /** ROUTER socket for requests (zeromq endpoint, e.g. tcp://127.0.0.1:5555). */
  address: string;
  /** PUB socket for the event stream. */
  events: string;
  /** HMAC-SHA256 key (hex). */
  key: string;
  signatureScheme: 'hmac-sha256';
  pid: number;
  backend: string;
  /** ISO time the session was first created (kept across resumes). */
  created: string;
  /** ISO time this process started. */
  started: string;
  /** orz package version of the daemon. */
  version: string;
  /** Largest message the session accepts, in bytes (clients refuse to send bigger ones); absent in older files. */
  maxMessageSize?: number;
}

export const ORZ_VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

export async function writeConnectionFile(dir: string, c: SessionConnection): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const path = sessionFiles(dir).connection;
  await writeFileAtomic(path, JSON.stringify(c, null, 2) + '\n');
  await chmod(path, 0o600);
  return path;
}

const STRING_FIELDS = ['name', 'protocol', 'address', 'events', 'key', 'backend', 'created', 'started', 'version'] as const;

export async function readConnectionFile(path: string): Promise<SessionConnection> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    throw new Error(`connection file ${path}: ${why}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`connection file ${path}: expected a JSON object`);
  const o = raw as Record<string, unknown>;
  for (const f of STRING_FIELDS) {
    if (typeof o[f] !== 'string' || o[f] === '') throw new Error(`connection file ${path}: "${f}" must be a non-empty string`);
  }
  if (o['protocol'] !== PROTOCOL) throw new Error(`connection file ${path}: protocol ${JSON.stringify(o['protocol'])} is not ${PROTOCOL}`);
  if (o['signatureScheme'] !== 'hmac-sha256') throw new Error(`connection file ${path}: signatureScheme must be "hmac-sha256"`);
  if (!Number.isInteger(o['pid']) || (o['pid'] as number) <= 0) throw new Error(`connection file ${path}: "pid" must be a positive integer`);
  const key = o['key'] as string;
  if (key.length < MIN_KEY_LENGTH) throw new Error(`connection file ${path}: "key" has ${key.length} characters, a session key has at least ${MIN_KEY_LENGTH} (the session writes ${Signer.newKey().length}): the file is damaged or not a session's`);
  const max = o['maxMessageSize'];
  if (max !== undefined && !(Number.isInteger(max) && (max as number) > 0)) throw new Error(`connection file ${path}: "maxMessageSize" must be a positive integer (bytes), got ${JSON.stringify(max)}`);
  return o as unknown as SessionConnection;
}

/**
 * True if a process with this pid is running (EPERM: it exists but belongs to someone else). A zombie (exited,
 * not yet reaped by a parent that is busy or blocked) counts as gone: it will never answer.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (process.platform === 'linux') {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
    } catch {
      return false; // gone between the two checks
    }
  }
  return true;
}

export interface SessionListing { name: string; dir: string; running: boolean; connection: SessionConnection | null; problem?: string }

/** Every session directory under $ORZ_HOME/sessions, running or not. */
export async function listSessions(env: NodeJS.ProcessEnv = process.env): Promise<SessionListing[]> {
  const root = sessionsRoot(env);
  if (!existsSync(root)) return [];
  const out: SessionListing[] = [];
  for (const name of (await readdir(root)).sort()) {
    const dir = join(root, name);
    const file = sessionFiles(dir).connection;
    if (!existsSync(file)) continue;
    try {
      const connection = await readConnectionFile(file);
      out.push({ name, dir, running: processAlive(connection.pid), connection });
    } catch (e) {
      out.push({ name, dir, running: false, connection: null, problem: (e as Error).message });
    }
  }
  return out;
}
