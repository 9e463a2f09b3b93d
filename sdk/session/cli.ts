// `orz session start|list|status|stop`: run and manage session daemons.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { listSessions, processAlive, readConnectionFile, writeConnectionFile, ORZ_VERSION, type SessionConnection } from './connection-file.ts';
import { checkSessionName, DEFAULT_SESSION, sessionDir, sessionFiles } from './paths.ts';
import { spawnDaemon } from './spawn.ts';
import { checkSlurmFlags, SBATCH, sbatchCommand, SLURM_FLAGS, slurmOptions } from './slurm-cli.ts';
import type { SlurmOptions } from './slurm.ts';
import { Signer, PROTOCOL } from './wire.ts';
import type { SessionStatus } from './service.ts';
import type { HandleInfo } from './registry.ts';
import { defineCommand, groupHelp, parseFlags, UsageError } from '../util/flags.ts';

const BACKEND_HELP = 'tensor backend: auto, tensorflow, onnxruntime, wasm, cpu (default: auto; a resumed session keeps its own)';

const START = defineCommand({
  name: 'orz session start',
  synopsis: '[options]',
  summary: 'Starts a session daemon (in the background unless --foreground) and prints its name, address and pid.\n' +
    'Default bind: loopback only; for remote use tunnel the ports over SSH.',
  flags: {
    name: { type: 'string', arg: 'NAME', help: `session name (default "${DEFAULT_SESSION}")` },
    listen: { type: 'string', arg: 'ADDR', help: 'request socket, e.g. tcp://127.0.0.1:5555 (default: a free loopback port)' },
    events: { type: 'string', arg: 'ADDR', help: 'event socket (default: a free port on the request socket\'s host)' },
    backend: { type: 'string', arg: 'B', help: BACKEND_HELP },
    'checkpoint-every': { type: 'int', min: 1, arg: 'K', help: "checkpoint every trainer each K iterations (default: each trainer config's checkpoint policy)" },
    'max-message-size': { type: 'int', min: 1, arg: 'BYTES', help: 'largest message accepted; bigger ones are dropped and logged (default 256 MiB)' },
    workers: { type: 'int', min: 0, help: 'rollout worker processes that trainers generate on (default 0: in the session process)' },
    slurm: { type: 'boolean', help: 'rollout workers as Slurm job steps (srun), in this allocation or in one the session asks for' },
    ...SLURM_FLAGS,
    resume: { type: 'string', arg: 'NAME', help: 'restart a stopped or crashed session: same key and ports if free, handles rebuilt, trainers at their latest checkpoint' },
    foreground: { type: 'boolean', help: 'run the daemon in this process instead of in the background' },
  },
});

const LIST = defineCommand({
  name: 'orz session list',
  synopsis: '[--json]',
  summary: 'Every session in the sessions directory: running or stopped, pid, address, backend.',
  flags: { json: { type: 'boolean', help: 'one JSON array instead of lines' } },
});

const STATUS = defineCommand({
  name: 'orz session status',
  synopsis: '[NAME] [--json]',
  summary: `One session (default "${DEFAULT_SESSION}"): its handles, trainers\' iterations and checkpoints, calls in flight.`,
  positionals: { min: 0, max: 1, name: 'session name' },
  flags: { json: { type: 'boolean', help: 'one JSON object instead of lines' } },
});

const STOP = defineCommand({
  name: 'orz session stop',
  synopsis: '[NAME]',
  summary: `Stops a session (default "${DEFAULT_SESSION}") after it checkpoints every trainer.`,
  positionals: { min: 0, max: 1, name: 'session name' },
  flags: {},
});

export const SESSION_USAGE = groupHelp({
  name: 'orz session',
  summary: 'persistent training sessions that notebooks attach to',
  commands: [START, LIST, STATUS, STOP, SBATCH],
});

interface Settings { checkpointEvery: number | null; maxMessageSize: number; backend: string; listen: string; events: string; workers: number; slurm?: SlurmOptions }

async function readJson<T>(path: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return null;
  }
}

async function start(argv: string[]): Promise<number> {
  const parsed = parseFlags(START, argv);
  if (!parsed) return 0;
  const v = parsed.values;
  if (v.resume && v.name && v.resume !== v.name) throw new UsageError(`${START.name}: --name ${v.name} and --resume ${v.resume} name different sessions`);
  const name = checkSessionName(v.resume ?? v.name ?? DEFAULT_SESSION);
  const checkpointEvery = v['checkpoint-every'];
  const maxMessageSize = v['max-message-size'];
  const workers = v.workers;
  checkSlurmFlags(START.name, v);
  const slurm = v.slurm ? slurmOptions(v) : undefined;
  const dir = sessionDir(name);
  const files = sessionFiles(dir);
  if (existsSync(files.connection)) {
    const c = await readConnectionFile(files.connection).catch(() => null);
    if (c && processAlive(c.pid) && c.pid !== process.pid) throw new Error(`session "${name}" is already running (pid ${c.pid}, ${c.address})`);
  }
  if (v.resume && !existsSync(files.handles) && !existsSync(files.connection)) throw new Error(`there is no session "${name}" to resume (nothing in ${dir})`);
  if (!v.foreground) {
    const c = await spawnDaemon({
      name, resume: Boolean(v.resume), backend: v.backend, checkpointEvery, listen: v.listen, events: v.events, maxMessageSize, workers, slurm,
    });
    process.stdout.write(`session ${c.name} started: pid ${c.pid}, address ${c.address}, events ${c.events}, backend ${c.backend}\n  log: ${files.log}\n`);
    return 0;
  }
  return runForeground(name, Boolean(v.resume), { listen: v.listen, events: v.events, backend: v.backend, checkpointEvery, maxMessageSize, workers, slurm });
}


const checkpointPeriod = (every: number | null) => (every === null ? "checkpoints by each trainer config's policy" : `checkpoint every ${every} iteration(s)`);

async function runForeground(name: string, resume: boolean, given: Partial<Settings>): Promise<number> {
  const { selectBackend } = await import('../engine/backend.ts');
  const { SessionDaemon, DEFAULT_MAX_MESSAGE_SIZE } = await import('./daemon.ts');
  const dir = sessionDir(name);
  const files = sessionFiles(dir);
  // A resumed session keeps its key (attached clients stay valid), its creation time and, when free, its ports.
  const old = resume ? await readConnectionFile(files.connection).catch(() => null) : null;
  const saved = resume ? await readJson<Partial<Settings>>(files.settings) : null;
  const backend = await selectBackend(given.backend ?? saved?.backend);
  const settings: Settings = {
    checkpointEvery: given.checkpointEvery ?? saved?.checkpointEvery ?? null,
    maxMessageSize: given.maxMessageSize ?? saved?.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
    backend: backend.name,
    listen: given.listen ?? old?.address ?? 'tcp://127.0.0.1:*',
    events: given.events ?? old?.events ?? '',
    workers: given.workers ?? saved?.workers ?? 0,
    ...(given.slurm ?? saved?.slurm ? { slurm: given.slurm ?? saved!.slurm! } : {}),
  };
  const key = old?.key ?? Signer.newKey();
  const created = old?.created ?? new Date().toISOString();
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const daemon = await SessionDaemon.start({
    name, dir, key, resume, created, log, backend: backend.name,
    checkpointEvery: settings.checkpointEvery, maxMessageSize: settings.maxMessageSize,
    listen: settings.listen, events: settings.events || undefined, fallbackToFreePort: resume && !given.listen,
    workers: settings.workers, slurm: settings.slurm,
  });
  const connection: SessionConnection = {
    name, protocol: PROTOCOL, address: daemon.address, events: daemon.eventsAddress, key, signatureScheme: 'hmac-sha256',
    pid: process.pid, backend: backend.name, created, started: daemon.service.startedAt.toISOString(), version: ORZ_VERSION,
    maxMessageSize: settings.maxMessageSize,
  };
  await writeFileAtomic(files.settings, JSON.stringify({ ...settings, listen: daemon.address, events: daemon.eventsAddress, created }, null, 2) + '\n');
  await writeConnectionFile(dir, connection);
  daemon.service.log(`session ${name} ready: pid ${process.pid}, address ${daemon.address}, events ${daemon.eventsAddress}, backend ${backend.name}, ${checkpointPeriod(settings.checkpointEvery)}${daemon.service.workers ? `, ${daemon.service.workers.pool.size} rollout worker(s)${settings.slurm ? ` as steps of Slurm job ${daemon.service.workers.allocation?.jobId}` : ''}` : ''}${resume ? ' (resumed)' : ''}`);
  let signals = 0;
  const onSignal = (sig: string) => {
    if (++signals > 1) process.exit(130);
    daemon.service.log(`${sig}: stopping (checkpointing every trainer first; again to quit at once)`);
    void daemon.stop();
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  await daemon.closed;
  daemon.service.log(`session ${name} stopped`);
  // zeromq's context may hold the loop open a moment longer; everything is saved, so leave now.
  setTimeout(() => process.exit(0), 200).unref();
  return 0;
}

function uptime(sec: number): string {
  const s = Math.floor(sec);
  return s >= 3600 ? `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m` : s >= 60 ? `${Math.floor(s / 60)}m ${s % 60}s` : `${s}s`;
}

function handleLine(h: HandleInfo): string {
  const label = `${h.id}${h.name ? ` "${h.name}"` : ''}`.padEnd(24);
  const what = h.kind === 'trainer'
    ? `iteration ${h.iteration ?? '?'} (checkpoint ${h.lastCheckpoint !== undefined && h.lastCheckpoint >= 0 ? h.lastCheckpoint : 'none'})`
    : 'path' in h.recipe ? h.recipe.path : JSON.stringify(h.recipe);
  return `    ${label} ${h.kind.padEnd(9)} ${what}${h.busy ? '  [busy]' : ''}`;
}

async function list(argv: string[]): Promise<number> {
  const parsed = parseFlags(LIST, argv);
  if (!parsed) return 0;
  const { values } = parsed;
  const all = await listSessions();
  if (values.json) {
    process.stdout.write(JSON.stringify(all.map((s) => ({ name: s.name, running: s.running, pid: s.connection?.pid ?? null, address: s.connection?.address ?? null, backend: s.connection?.backend ?? null, created: s.connection?.created ?? null, problem: s.problem })), null, 2) + '\n');
    return 0;
  }
  if (all.length === 0) process.stdout.write('no sessions\n');
  for (const s of all) {
    const c = s.connection;
    process.stdout.write(c ? `${s.name.padEnd(16)} ${s.running ? 'running' : 'stopped'}  pid ${c.pid}  ${c.address}  backend ${c.backend}  created ${c.created}\n` : `${s.name.padEnd(16)} unreadable: ${s.problem}\n`);
  }
  return 0;
}

async function status(argv: string[]): Promise<number> {
  const parsed = parseFlags(STATUS, argv);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const name = checkSessionName(positionals[0] ?? DEFAULT_SESSION);
  const files = sessionFiles(sessionDir(name));
  if (!existsSync(files.connection)) throw new Error(`no session "${name}" (no ${files.connection})`);
  const c = await readConnectionFile(files.connection);
  if (!processAlive(c.pid)) {
    const saved = await readJson<{ handles?: HandleInfo[] }>(files.handles);
    const { completeCheckpoints } = await import('../run/checkpoint.ts');
    const handles: HandleInfo[] = [];
    for (const h of saved?.handles ?? []) {
      const cps = h.kind === 'trainer' ? await completeCheckpoints(`${files.checkpoints}/${h.id}`) : [];
      handles.push({ ...h, ...(h.kind === 'trainer' ? { lastCheckpoint: cps.at(-1)?.iteration ?? -1, iteration: cps.at(-1)?.iteration ?? 0 } : {}) });
    }
    if (values.json) process.stdout.write(JSON.stringify({ name, running: false, pid: c.pid, backend: c.backend, created: c.created, handles }, null, 2) + '\n');
    else {
      process.stdout.write(`session ${name}: stopped (last pid ${c.pid}, backend ${c.backend}); resume with: orz session start --resume ${name}\n  handles (as of the last checkpoint):\n`);
      for (const h of handles) process.stdout.write(handleLine(h) + '\n');
    }
    return 0;
  }
  const { Session } = await import('./session.ts');
  const session = await Session.attach(c);
  let st: SessionStatus;
  try {
    st = await session.status();
  } finally {
    await session.close();
  }
  if (values.json) {
    process.stdout.write(JSON.stringify({ running: true, address: c.address, events: c.events, ...st }, null, 2) + '\n');
    return 0;
  }
  process.stdout.write(`session ${st.name}: running, pid ${st.pid}, backend ${st.backend}, up ${uptime(st.uptimeSec)}, ${checkpointPeriod(st.checkpointEvery)}\n`);
  process.stdout.write(`  address ${c.address}  events ${c.events}\n  handles:${st.handles.length ? '' : ' none'}\n`);
  for (const h of st.handles) process.stdout.write(handleLine(h) + '\n');
  for (const w of st.workers ?? []) {
    const replicas = w.replicas.map((r) => `${r.policy} v${r.version}`).join(', ');
    const where = w.slurm ? `, node ${w.slurm.node}, Slurm job ${w.slurm.jobId} step ${w.slurm.step}` : '';
    process.stdout.write(`  rollout worker ${w.worker}: ${w.state}${w.pid ? `, pid ${w.pid}` : ''}${where}${w.starts > 1 ? `, started ${w.starts} times` : ''}${replicas ? `, weights ${replicas}` : ''}\n`);
  }
  for (const call of st.calls) process.stdout.write(`  call ${call.op}${call.handle ? ` on ${call.handle}` : ''}: ${call.runningSec.toFixed(1)} s\n`);
  return 0;
}

async function stop(argv: string[]): Promise<number> {
  const parsed = parseFlags(STOP, argv);
  if (!parsed) return 0;
  const { positionals } = parsed;
  const name = checkSessionName(positionals[0] ?? DEFAULT_SESSION);
  const files = sessionFiles(sessionDir(name));
  if (!existsSync(files.connection)) throw new Error(`no session "${name}"`);
  const c = await readConnectionFile(files.connection);
  if (!processAlive(c.pid)) {
    process.stdout.write(`session ${name} is not running\n`);
    return 0;
  }
  const { Session } = await import('./session.ts');
  try {
    const session = await Session.attach(c, { timeoutMs: 10_000 });
    await session.shutdown();
  } catch (e) {
    // Unreachable over its socket (blocked, or a broken key): a signal asks for the same graceful stop.
    process.stderr.write(`orz session stop: ${(e as Error).message}; sending SIGTERM to ${c.pid}\n`);
    process.kill(c.pid, 'SIGTERM');
    const deadline = Date.now() + 120_000;
    while (processAlive(c.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (processAlive(c.pid)) throw new Error(`session ${name} (pid ${c.pid}) did not stop`);
  }
  process.stdout.write(`session ${name} stopped (pid ${c.pid})\n`);
  return 0;
}

/** Entry point for `orz session ...`; returns the exit code. */
export async function sessionCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    switch (sub) {
      case 'start': return await start(rest);
      case 'list': return await list(rest);
      case 'status': return await status(rest);
      case 'stop': return await stop(rest);
      case 'sbatch': return await sbatchCommand(rest);
      case undefined: case 'help': case '--help': case '-h': process.stdout.write(SESSION_USAGE); return sub === undefined ? 2 : 0;
      default: throw new UsageError(`orz session: unknown command "${sub}"`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${e.message}\n\n${e.usage ?? SESSION_USAGE}`);
      return 2;
    }
    process.stderr.write(`orz session ${sub}: ${(e as Error).message}\n`);
    if (process.env['ORZ_DEBUG']) process.stderr.write(`${(e as Error).stack}\n`);
    return 1;
  }
}
