// Session: the notebook's (or script's) side of a persistent training session.
//
//   const session = await Session.local();                 // spawn or reuse the local daemon "default"
//   const trainer = await session.trainerFromRunConfig('data/mini/train-config.json', { name: 'mini' });
//   await trainer.run({ iterations: 5 });
//   // ...kernel restart...
//   const again = await Session.attach('default');
//   const same = await again.get<RemoteTrainer>('mini');    // same weights, optimizer state, iteration, metrics
//
// The client side imports no tensor code: a notebook attached to a remote session stays light.

import { appendFileSync, existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { modelReference } from '../hub/resolve.ts';
import { mathReward, scoreSamples, type RewardFn, type Sample } from '../reward/index.ts';
import type { TrainerConfigInput } from '../ppo/config.ts';
import { listSessions, processAlive, readConnectionFile, type SessionConnection } from './connection-file.ts';
import { SessionError } from './errors.ts';
import { SessionEvents } from './events.ts';
import { checkSessionName, DEFAULT_SESSION, sessionDir, sessionFiles } from './paths.ts';
import type { HandleInfo } from './registry.ts';
import {
  handleFor, RemoteDataset, RemoteEngine, RemoteModel, RemoteTokenizer, RemoteTrainer, type HandleHost, type RemoteHandle,
} from './remote-handles.ts';
import type { SessionStatus } from './service.ts';
import type { WorkerInfo } from './workers/protocol.ts';
import { spawnDaemon } from './spawn.ts';
import type { CallOptions, Transport } from './transport.ts';

export interface LocalSessionOptions {
  /** Session name (default "default"; in-process: "in-process"). */
  name?: string;
  /** Run the session service inside this process, without sockets (it ends with the process). */
  inProcess?: boolean;
  /** Tensor backend of a session this call starts. */
  backend?: string;
  /** Checkpoint every K completed iterations (for a session this call starts; default: each trainer config's policy). */
  checkpointEvery?: number;
  /** Largest accepted message in bytes (for a session this call starts; default 256 MB). */
  maxMessageSize?: number;
  /** Rollout worker processes that trainers generate on (for a session this call starts; default 0: none). */
  workers?: number;
  /** Restore saved handles (default: when the session directory has some). */
  resume?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface AttachOptions {
  /** How long to wait for the session's first answer (default 30 s). */
  timeoutMs?: number;
}

export interface SessionTrainerInit {
  policy: RemoteModel | string;
  tokenizer: RemoteTokenizer | string;
  dataset: RemoteDataset | string;
  evalDataset?: RemoteDataset | string;
  /** "math" (default) runs inside the session; a function runs here, in the controller, on rollouts the session sends. */
  reward?: RewardFn | 'math';
  config?: TrainerConfigInput;
  /** A name to find the trainer by after re-attaching: session.get(name). */
  name?: string;
}

const ref = (h: { id: string } | string) => (typeof h === 'string' ? h : h.id);
/** Paths are resolved here, against the caller's working directory; a remote session needs absolute paths of its machine. */
const absolute = (p: string) => (isAbsolute(p) ? p : resolve(p));
/** A model or tokenizer: a local path made absolute, or a hub id ("owner/name[@rev]") kept as the id for the session to fetch. */
const modelPathOrId = (p: string) => modelReference(process.cwd(), p);

export class Session implements HandleHost {
  readonly events = new SessionEvents();
  readonly #rewards = new Map<string, RewardFn>();
  #closed = false;

  private constructor(readonly name: string, readonly transport: Transport, readonly connection: SessionConnection | null) {
    transport.onEvent((event, data) => this.events.push(event, data));
    transport.setScorer(async (handle, batch) => {
      const fn = this.#rewards.get(handle);
      if (!fn) throw new Error(`this client has no reward function for ${handle}: call trainer.setReward(fn) after attaching (a controller reward lives in the client, not the session)`);
      return scoreSamples(fn, batch.samples().map((s) => ({ ...s, groundTruth: s.groundTruth ?? '' }) as Sample));
    });
  }

  /** Spawns or reuses the local daemon (`name`, default "default"), or with `inProcess` runs the session here. */
  static async local(opts: LocalSessionOptions = {}): Promise<Session> {
    const env = opts.env ?? process.env;
    if (opts.inProcess) return Session.#inProcess(opts, env);
    const name = checkSessionName(opts.name ?? DEFAULT_SESSION);
    const files = sessionFiles(sessionDir(name, env));
    if (existsSync(files.connection)) {
      const c = await readConnectionFile(files.connection);
      if (processAlive(c.pid)) return Session.attach(files.connection);
    }
    await spawnDaemon({
      name, env, backend: opts.backend, checkpointEvery: opts.checkpointEvery, maxMessageSize: opts.maxMessageSize, workers: opts.workers,
      resume: opts.resume ?? existsSync(files.handles),
    });
    return Session.attach(files.connection); // by its file, so that errors can name it
  }

  static async #inProcess(opts: LocalSessionOptions, env: NodeJS.ProcessEnv): Promise<Session> {
    // Loaded here so that a client that only attaches never loads the tensor engine.
    const [{ SessionService }, { InProcessTransport }, { selectBackend, activeBackend }] = await Promise.all([
      import('./service.ts'), import('./inprocess-transport.ts'), import('../engine/backend.ts'),
    ]);
    const name = checkSessionName(opts.name ?? 'in-process');
    const dir = sessionDir(name, env);
    const backend = opts.backend ? (await selectBackend(opts.backend)).name : await activeBackend();
    const transport = new InProcessTransport();
    // The service's log goes to the session's log file, as a daemon's does, not into the notebook's output.
    const logFile = sessionFiles(dir).log;
    const log = (line: string) => {
      try {
        appendFileSync(logFile, `${line}\n`);
      } catch {
        // the log is a convenience; training goes on without it
      }
    };
    const service = await SessionService.open(
      { name, dir, checkpointEvery: opts.checkpointEvery ?? null, backend, log, workers: opts.workers, maxMessageSize: opts.maxMessageSize },
      transport.emit,
      { resume: opts.resume ?? existsSync(sessionFiles(dir).handles) },
    );
    transport.attach(service);
    const session = new Session(name, transport, null);
    session.#stopInProcess = () => service.shutdown();
    return session;
  }

  #stopInProcess: (() => Promise<void>) | null = null;

  /** Connects to a running session: by name, by connection file path, by its address (a local session's), or by connection info. */
  static async attach(target: string | SessionConnection, opts: AttachOptions & { env?: NodeJS.ProcessEnv } = {}): Promise<Session> {
    const env = opts.env ?? process.env;
    let c: SessionConnection;
    let file: string | null = null; // where c was read, named in errors
    if (typeof target !== 'string') c = target;
    else if (/^(tcp|ipc):\/\//.test(target)) {
      const found = (await listSessions(env)).find((s) => s.connection?.address === target);
      if (!found?.connection) throw new SessionError(`no local connection file has address ${target} (and so no key): attach with the connection file instead`, 'no_session');
      c = found.connection;
      file = sessionFiles(found.dir).connection;
    } else if (target.endsWith('.json') || target.includes('/')) c = await readConnectionFile((file = target));
    else {
      file = sessionFiles(sessionDir(target, env)).connection;
      if (!existsSync(file)) throw new SessionError(`no session "${target}" (no ${file}); start one with: orz session start --name ${target}`, 'no_session');
      c = await readConnectionFile(file);
      if (!processAlive(c.pid)) throw new SessionError(`session "${target}" is not running (process ${c.pid} is gone, connection file ${file}); resume it with: orz session start --resume ${target}`, 'not_running');
    }
    // zeromq (a native addon) loads on the first attach, not with `import { Trainer } from 'orz'`.
    const { ZmqTransport } = await import('./zmq-transport.ts');
    const session = new Session(c.name, new ZmqTransport(c, { file }), c);
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const timer = AbortSignal.timeout(timeoutMs);
    const from = file ? `, connection file ${file}` : '';
    try {
      await Promise.race([
        session.ping(),
        new Promise((_, reject) => timer.addEventListener('abort', () => reject(new SessionError(`session "${c.name}" at ${c.address} did not answer within ${timeoutMs / 1000} s (pid ${c.pid}${from})`, 'timeout')))),
      ]);
    } catch (e) {
      await session.close();
      throw e;
    }
    return session;
  }

  call(op: string, handle: string | null, args: object, opts?: CallOptions): Promise<unknown> {
    return this.transport.call(op, handle, args, opts);
  }

  setReward(handle: string, fn: RewardFn | null): void {
    if (fn === null) this.#rewards.delete(handle);
    else this.#rewards.set(handle, fn);
  }

  ping() { return this.call('session.ping', null, {}) as Promise<{ name: string; pid: number; protocol: string; version: string; time: number }>; }
  status() { return this.call('session.status', null, {}) as Promise<SessionStatus>; }
  handles() { return this.call('session.handles', null, {}) as Promise<HandleInfo[]>; }
  /** The rollout worker processes; with `digests`, each worker's sha256 of the policy weights it holds. */
  workers(opts: { digests?: boolean } = {}) { return this.call('session.workers', null, opts) as Promise<WorkerInfo[]>; }

  /** A handle by name or id (as listed by handles()); `reward` re-arms a controller reward after a re-attach. */
  async get<T extends RemoteHandle = RemoteHandle>(nameOrId: string, opts: { reward?: RewardFn } = {}): Promise<T> {
    const info = (await this.call('session.get', null, { ref: nameOrId })) as HandleInfo;
    const h = handleFor(this, info);
    if (opts.reward) {
      if (!(h instanceof RemoteTrainer)) throw new Error(`get: a reward applies to trainers; ${nameOrId} is a ${info.kind}`);
      h.setReward(opts.reward);
    }
    return h as T;
  }

  async #create<T extends RemoteHandle>(op: string, args: object): Promise<T> {
    return handleFor(this, (await this.call(op, null, args)) as HandleInfo) as T;
  }

  loadModel(pathOrId: string, opts: { name?: string } = {}) { return this.#create<RemoteModel>('session.loadModel', { path: modelPathOrId(pathOrId), ...opts }); }
  loadTokenizer(pathOrId: string, opts: { name?: string } = {}) { return this.#create<RemoteTokenizer>('session.loadTokenizer', { path: modelPathOrId(pathOrId), ...opts }); }
  readDataset(path: string, opts: { name?: string } = {}) { return this.#create<RemoteDataset>('session.readDataset', { path: absolute(path), ...opts }); }
  rolloutEngine(model: RemoteModel | string, tokenizer: RemoteTokenizer | string, opts: { name?: string; maxBatchRows?: number } = {}) {
    return this.#create<RemoteEngine>('session.rolloutEngine', { model: ref(model), tokenizer: ref(tokenizer), ...opts });
  }

  async trainer(init: SessionTrainerInit): Promise<RemoteTrainer> {
    const fn = typeof init.reward === 'function' || typeof init.reward === 'object' ? init.reward : null;
    const t = await this.#create<RemoteTrainer>('session.trainer', {
      policy: ref(init.policy), tokenizer: ref(init.tokenizer), dataset: ref(init.dataset),
      evalDataset: init.evalDataset ? ref(init.evalDataset) : undefined,
      reward: fn && fn !== mathReward ? 'controller' : 'math', config: init.config, name: init.name,
    });
    if (fn && fn !== mathReward) t.setReward(fn);
    return t;
  }

  /** A trainer as `orz train` would build it from the run config; `reward` (a function) makes it a controller reward. */
  async trainerFromRunConfig(path: string, opts: { name?: string; reward?: RewardFn } = {}): Promise<RemoteTrainer> {
    const controller = opts.reward && opts.reward !== mathReward;
    const t = await this.#create<RemoteTrainer>('session.trainerFromRunConfig', { path: absolute(path), name: opts.name, reward: controller ? 'controller' : 'math' });
    if (controller) t.setReward(opts.reward!);
    return t;
  }

  /** Detaches (the session keeps running; calls in flight go on there). An in-process session stops, checkpointing. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#stopInProcess) await this.#stopInProcess();
    await this.transport.close();
    this.events.close();
  }

  /** Stops the session (it checkpoints every trainer first) and detaches; waits for a local daemon to exit. */
  async shutdown(opts: { timeoutMs?: number } = {}): Promise<void> {
    if (this.#stopInProcess) return this.close();
    await this.call('session.shutdown', null, {});
    await this.close();
    const pid = this.connection?.pid;
    const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
    while (pid && processAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (pid && processAlive(pid)) throw new SessionError(`session "${this.name}" (pid ${pid}) has not exited ${(opts.timeoutMs ?? 120_000) / 1000} s after shutdown`, 'timeout');
  }
}
