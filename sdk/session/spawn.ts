// Starting a daemon in the background: `orz session start --foreground ...` as a detached process whose output
// goes to the session's log; we wait until it has written a connection file with its own pid (written only
// after its sockets are bound and its handles restored), or, if it dies first, report why: its error line first,
// then what this start wrote to the log (the log also holds earlier runs, which are not this failure's story).

import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, statSync } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { readConnectionFile, type SessionConnection } from './connection-file.ts';
import { sessionDir, sessionFiles } from './paths.ts';
import type { SlurmOptions } from './slurm.ts';

const ORZ_BIN = fileURLToPath(new URL('../../bin/orz.js', import.meta.url));

export interface SpawnOptions {
  name: string;
  resume?: boolean;
  backend?: string;
  checkpointEvery?: number;
  listen?: string;
  events?: string;
  maxMessageSize?: number;
  /** Rollout worker processes. */
  workers?: number;
  /** Workers as Slurm job steps (`--slurm`); its bind host comes from `listen`. */
  slurm?: SlurmOptions;
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the daemon to be ready (default 120 s: a resume may load large checkpoints). */
  timeoutMs?: number;
}

/** What was appended to the log from byte `from` on, as lines. */
async function linesSince(path: string, from: number): Promise<string[]> {
  try {
    const fh = await open(path, 'r');
    try {
      const { size } = await fh.stat();
      const buf = Buffer.alloc(Math.max(0, size - from));
      await fh.read(buf, 0, buf.length, from);
      return buf.toString('utf8').split('\n').filter((l) => l.trim() !== '');
    } finally {
      await fh.close();
    }
  } catch {
    return [];
  }
}

// The CLI prints a failure as its last line, "orz session start: <message>".
const CLI_ERROR = /^orz session(?: [a-z]+)?: /;

/** The reason first, then (at most `shown`) other lines this start wrote, and where the whole log is. */
async function failureReport(what: string, logFile: string, from: number, shown = 10): Promise<string> {
  const lines = await linesSince(logFile, from);
  const errorAt = lines.findLastIndex((l) => CLI_ERROR.test(l));
  const reason = errorAt >= 0 ? lines[errorAt]!.replace(CLI_ERROR, '') : (lines.at(-1) ?? 'it wrote nothing to its log');
  const rest = lines.filter((_, i) => i !== (errorAt >= 0 ? errorAt : lines.length - 1)).slice(-shown);
  const context = rest.length ? `\n  its other output this time (all of it in ${logFile}):\n${rest.map((l) => `    ${l}`).join('\n')}` : `\n  (log: ${logFile})`;
  return `${what}: ${reason}${context}`;
}

function slurmFlags(o: SlurmOptions): string[] {
  return [
    ...(o.nodes !== undefined ? ['--nodes', String(o.nodes)] : []), ...(o.workersPerNode !== undefined ? ['--workers-per-node', String(o.workersPerNode)] : []),
    ...(o.partition ? ['--partition', o.partition] : []), ...(o.time ? ['--time', o.time] : []),
  ];
}

export async function spawnDaemon(opts: SpawnOptions): Promise<SessionConnection> {
  const env = opts.env ?? process.env;
  const dir = sessionDir(opts.name, env);
  const files = sessionFiles(dir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const args = [ORZ_BIN, 'session', 'start', '--foreground', '--name', opts.name];
  if (opts.resume) args.push('--resume', opts.name);
  if (opts.backend) args.push('--backend', opts.backend);
  if (opts.checkpointEvery !== undefined) args.push('--checkpoint-every', String(opts.checkpointEvery));
  if (opts.listen) args.push('--listen', opts.listen);
  if (opts.events) args.push('--events', opts.events);
  if (opts.maxMessageSize !== undefined) args.push('--max-message-size', String(opts.maxMessageSize));
  if (opts.workers !== undefined) args.push('--workers', String(opts.workers));
  const logStart = existsSync(files.log) ? statSync(files.log).size : 0;
  if (opts.slurm) args.push('--slurm', ...slurmFlags(opts.slurm));
  const log = openSync(files.log, 'a', 0o600);
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', log, log], env });
  closeSync(log);
  child.unref();
  let exited: number | string | null = null;
  child.on('exit', (code, signal) => (exited = code ?? signal ?? 'unknown'));
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  while (Date.now() < deadline) {
    if (exited !== null) throw new Error(await failureReport(`session "${opts.name}" did not start (exit ${exited})`, files.log, logStart));
    if (existsSync(files.connection)) {
      try {
        const c = await readConnectionFile(files.connection);
        if (c.pid === child.pid) return c;
      } catch {
        // being replaced right now; look again
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(await failureReport(`session "${opts.name}" was not ready after ${(opts.timeoutMs ?? 120_000) / 1000} s (killed); its last line`, files.log, logStart));
}
