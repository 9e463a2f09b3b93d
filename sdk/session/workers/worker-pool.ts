// The session's rollout worker processes: N slots, each a worker process (or a Slurm job step, slurm.ts)
// connected to one internal ROUTER socket (loopback, a free port; for Slurm the host the session listens on) over
// the signed session protocol. The pool starts them, sends them calls, routes replies
// and progress back to the caller, and fails every call of a worker the moment its process exits, with an error
// naming the worker. A slot whose worker died is started again by restartExited() (the engine calls it before each
// generate), so one crash costs one failed call, not the session.

import { availableParallelism } from 'node:os';
import { Router } from 'zeromq';
import { decodeValue, encodeValue } from '../codec.ts';
import { errorFromWire } from '../errors.ts';
import { decodeMessage, encodeMessage, ReplayGuard, Signer, WireError, type MessageType } from '../wire.ts';
import { WORKER_ERRORS, type WorkerInfo, type WorkerReady } from './protocol.ts';
import { workerEndpoints, type SlurmAllocation } from '../slurm.ts';
import { DEFAULT_CHUNK_BYTES } from './weights-chunks.ts';
import { WorkerProcess } from './worker-process.ts';

export interface PoolOptions {
  size: number;
  /** The session key: workers sign and check every message with it. */
  key: string;
  backend: string;
  maxMessageSize: number;
  log: (line: string) => void;
  /** Told when a worker becomes ready or exits (the session turns it into a "worker" event). */
  onChange?: (info: WorkerInfo) => void;
  /** How long a worker may take to start (load the tensor backend) and say it is ready; default 120 s. */
  readyTimeoutMs?: number;
  /** Environment of the workers (default: this process's, with ORZ_THREADS splitting the cores among them). */
  env?: NodeJS.ProcessEnv;
  /** Bytes per message of a weights broadcast (default: 32 MiB, or half the message limit if smaller). */
  chunkBytes?: number;
  /** Workers as job steps of this allocation, reading the session key from `keyFile`. */
  slurm?: { allocation: SlurmAllocation; keyFile: string; bindHost?: string; sessionName: string };
}

/**
 * Unless the user chose ORZ_THREADS, each worker gets the onnxruntime default of 2 intra-op threads, or fewer when
 * N workers would otherwise ask for more threads than the machine has cores (N = 2 on 2 cores: 1 each).
 */
export function workerEnv(size: number, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (env['ORZ_THREADS']) return env;
  return { ...env, ORZ_THREADS: String(Math.max(1, Math.min(2, Math.floor(availableParallelism() / size)))) };
}

export interface WorkerCallOptions {
  signal?: AbortSignal;
  onProgress?: (kind: string, data: unknown) => void;
  /** The request has left this process (the worker may be working on it while this thread does other work). */
  onSent?: () => void;
}

interface Slot {
  worker: number;
  proc: WorkerProcess | null;
  /** As the worker reported it when ready. */
  report: WorkerReady | null;
  identity: Buffer | null;
  state: WorkerInfo['state'];
  starts: number;
  /** Weights version of each policy replica the worker holds (0: loaded, no weights yet). */
  replicas: Map<string, number>;
  ready: ((ok: Error | null) => void) | null;
}

interface Pending { slot: Slot; resolve: (v: unknown) => void; reject: (e: unknown) => void; onProgress?: WorkerCallOptions['onProgress'] }

const coded = (message: string, code: string) => Object.assign(new Error(message), { code });

export class WorkerPool {
  readonly #opts: PoolOptions;
  readonly #signer: Signer;
  readonly #guard = new ReplayGuard();
  readonly #router: Router;
  readonly #slots: Slot[];
  readonly #pending = new Map<string, Pending>();
  #sendChain: Promise<void> = Promise.resolve();
  #counter = 0;
  #closed = false;
  address = '';

  private constructor(opts: PoolOptions) {
    this.#opts = opts;
    this.#signer = new Signer(opts.key);
    // mandatory: a send to a worker that is gone fails (and fails its call) instead of vanishing.
    this.#router = new Router({ maxMessageSize: opts.maxMessageSize, mandatory: true, linger: 0 });
    this.#slots = Array.from({ length: opts.size }, (_, worker) => ({
      worker, proc: null, report: null, identity: null, state: 'exited', starts: 0, replicas: new Map(), ready: null,
    }));
  }

  /** Binds the internal socket and starts every worker; resolves when all are ready. */
  static async start(opts: PoolOptions): Promise<WorkerPool> {
    if (!(Number.isInteger(opts.size) && opts.size > 0)) throw new Error(`the number of rollout workers must be a positive integer, got ${opts.size}`);
    const pool = new WorkerPool(opts);
    const ends = workerEndpoints(opts.slurm?.bindHost);
    await pool.#router.bind(ends.bind);
    pool.address = ends.connectHost ? pool.#router.lastEndpoint!.replace('0.0.0.0', ends.connectHost) : pool.#router.lastEndpoint!;
    void pool.#receive();
    try {
      await Promise.all(pool.#slots.map((s) => pool.#start(s)));
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  /** Calls sent to workers and not yet answered. */
  get pendingCalls(): number {
    return this.#pending.size;
  }

  get size(): number {
    return this.#slots.length;
  }

  /** Size of a weights broadcast's chunks: well under the message limit (default 32 MiB). */
  get chunkBytes(): number {
    return this.#opts.chunkBytes ?? Math.min(DEFAULT_CHUNK_BYTES, Math.floor(this.#opts.maxMessageSize / 2));
  }

  #info(s: Slot): WorkerInfo {
    return {
      worker: s.worker, pid: s.report?.pid ?? s.proc?.pid ?? null, host: s.report?.host ?? null, slurm: s.report?.slurm ?? null,
      state: s.state, exit: s.proc?.exit ?? null, starts: s.starts,
      replicas: [...s.replicas].map(([policy, version]) => ({ policy, version })),
    };
  }

  infos(): WorkerInfo[] {
    return this.#slots.map((s) => this.#info(s));
  }

  /** Which worker: its pid, and for a job step its Slurm job, step and node (for errors and logs). */
  #describe(slot: Slot): string {
    const r = slot.report;
    const pid = r?.pid ?? slot.proc?.pid;
    if (!this.#opts.slurm) return `pid ${pid}`;
    const node = r?.slurm?.node ?? this.#opts.slurm.allocation.nodeOf(slot.worker);
    return r?.slurm ? `Slurm job ${r.slurm.jobId} step ${r.slurm.step} on node ${node}, pid ${pid}` : `Slurm job ${this.#opts.slurm.allocation.jobId} on node ${node}, srun pid ${pid}`;
  }

  #launch(slot: Slot): WorkerProcess {
    const { key, backend, maxMessageSize, log, slurm } = this.#opts;
    const boot = { address: this.address, worker: slot.worker, start: slot.starts, backend, maxMessageSize };
    const env = this.#opts.env ?? workerEnv(slurm ? slurm.allocation.workersPerNode : this.size);
    if (!slurm) return new WorkerProcess({ ...boot, key }, log, env);
    slurm.allocation.ensureRunning(slurm.sessionName);
    return new WorkerProcess({ ...boot, keyFile: slurm.keyFile }, log, env, slurm.allocation.stepCommand(slot.worker));
  }

  #start(slot: Slot): Promise<void> {
    slot.starts += 1;
    slot.report = null;
    let proc: WorkerProcess;
    try {
      proc = this.#launch(slot);
    } catch (e) {
      slot.state = 'exited';
      return Promise.reject(e);
    }
    slot.proc = proc;
    slot.identity = null;
    slot.state = 'starting';
    slot.replicas = new Map();
    const ready = new Promise<void>((resolve, reject) => {
      const timeoutMs = this.#opts.readyTimeoutMs ?? 120_000;
      const timer = setTimeout(() => slot.ready?.(new Error(`rollout worker ${slot.worker} (${this.#describe(slot)}) was not ready after ${timeoutMs / 1000} s`)), timeoutMs);
      slot.ready = (err) => {
        clearTimeout(timer);
        slot.ready = null;
        if (err) reject(err);
        else resolve();
      };
    });
    void proc.exited.then((how) => this.#exited(slot, proc, how));
    return ready.catch(async (e: unknown) => {
      await proc.stop(0);
      throw e;
    });
  }

  #exited(slot: Slot, proc: WorkerProcess, how: string): void {
    if (slot.proc !== proc) return;
    const wasStarting = slot.state === 'starting';
    slot.state = 'exited';
    slot.identity = null;
    slot.replicas = new Map();
    const e = coded(`rollout worker ${slot.worker} (${this.#describe(slot)}) exited (${this.#opts.slurm ? `srun ${how}: its step was cancelled, failed or lost its node` : how})${wasStarting ? ' while starting; see the session log' : ''}`, WORKER_ERRORS.exited);
    slot.ready?.(e);
    for (const [id, p] of this.#pending) {
      if (p.slot !== slot) continue;
      this.#pending.delete(id);
      p.reject(e);
    }
    if (!this.#closed) {
      this.#opts.log(e.message);
      this.#opts.onChange?.(this.#info(slot));
    }
  }

  /** Starts again every worker whose process has exited; resolves when they are ready. Returns their numbers. */
  async restartExited(): Promise<number[]> {
    if (this.#closed) throw new Error('the rollout workers are shut down');
    const dead = this.#slots.filter((s) => s.state === 'exited');
    for (const s of dead) this.#opts.log(`restarting rollout worker ${s.worker}`);
    await Promise.all(dead.map((s) => this.#start(s)));
    return dead.map((s) => s.worker);
  }

  /** The weights version worker `w` holds of `policy` (undefined: no replica). */
  replicaVersion(worker: number, policy: string): number | undefined {
    return this.#slots[worker]?.replicas.get(policy);
  }

  noteReplica(worker: number, policy: string, version: number | null): void {
    const s = this.#slots[worker]!;
    if (version === null) s.replicas.delete(policy);
    else s.replicas.set(policy, version);
  }

  readyWorkers(): number[] {
    return this.#slots.filter((s) => s.state === 'ready').map((s) => s.worker);
  }

  /** One call on one worker. Aborting `signal` asks the worker to cancel it; the worker exiting fails it. */
  call(worker: number, op: string, args: object, opts: WorkerCallOptions = {}): Promise<unknown> {
    const slot = this.#slots[worker];
    if (!slot) return Promise.reject(new Error(`there is no rollout worker ${worker} (the session has ${this.size})`));
    if (slot.state !== 'ready' || !slot.identity) {
      return Promise.reject(coded(`rollout worker ${worker} is not running (${slot.state}${slot.proc?.exit ? `, ${slot.proc.exit}` : ''})`, WORKER_ERRORS.exited));
    }
    const identity = slot.identity;
    const callId = `w${worker}-${++this.#counter}`;
    const { json, buffers } = encodeValue(args);
    return new Promise((resolve, reject) => {
      const onAbort = () => void this.#send(identity, 'cancel', { callId }).catch(() => {});
      const done = <T>(f: (x: T) => void) => (x: T) => {
        opts.signal?.removeEventListener('abort', onAbort);
        f(x);
      };
      this.#pending.set(callId, { slot, resolve: done(resolve), reject: done(reject), onProgress: opts.onProgress });
      this.#send(identity, 'request', { callId, op, args: json }, buffers).then(() => opts.onSent?.(), (e: unknown) => {
        const p = this.#pending.get(callId);
        this.#pending.delete(callId);
        p?.reject(coded(`cannot reach rollout worker ${worker}: ${(e as Error).message}`, WORKER_ERRORS.exited));
      });
      if (opts.signal?.aborted) onAbort();
      else opts.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** zeromq.js allows one send in flight per socket: sends are chained; each caller learns its own failure. */
  #send(identity: Buffer, type: MessageType, payload: object, buffers: Uint8Array[] = []): Promise<void> {
    const frames = [identity, ...encodeMessage(this.#signer, type, payload, buffers)];
    const sent = this.#sendChain.then(() => this.#router.send(frames));
    this.#sendChain = sent.catch(() => {});
    return sent;
  }

  async #receive(): Promise<void> {
    try {
      for await (const frames of this.#router) {
        const [identity, ...rest] = frames as Buffer[];
        try {
          this.#dispatch(identity!, rest);
        } catch (e) {
          this.#opts.log(`rollout workers: dropped a message: ${(e as Error).message}`);
        }
      }
    } catch (e) {
      if (!this.#closed) this.#opts.log(`rollout workers: receive loop ended: ${(e as Error).message}`);
    }
  }

  #dispatch(identity: Buffer, frames: Buffer[]): void {
    let msg;
    try {
      msg = decodeMessage(frames, this.#signer, { maxBytes: this.#opts.maxMessageSize, replay: this.#guard });
    } catch (e) {
      if (e instanceof WireError) throw new Error(`${e.code}: ${e.message}`);
      throw e;
    }
    const p = msg.payload;
    if (msg.header.type === 'event' && p['event'] === 'ready') {
      const r = p['data'] as Partial<WorkerReady> | undefined;
      const slot = typeof r?.worker === 'number' ? this.#slots[r.worker] : undefined;
      // Only the latest start of that slot may take it (an older process of the slot could still be connecting).
      if (!slot || slot.state !== 'starting' || slot.starts !== r?.start) throw new Error(`unexpected ready message ${JSON.stringify(r)}`);
      slot.identity = identity;
      slot.report = r as WorkerReady;
      slot.state = 'ready';
      this.#opts.log(`rollout worker ${slot.worker} ready: ${this.#describe(slot)}, backend ${r!.backend}`);
      slot.ready?.(null);
      this.#opts.onChange?.(this.#info(slot));
      return;
    }
    const callId = typeof p['callId'] === 'string' ? p['callId'] : '';
    const pending = this.#pending.get(callId);
    if (!pending || !pending.slot.identity?.equals(identity)) throw new Error(`a ${msg.header.type} for ${JSON.stringify(callId)}, which is no call of that worker`);
    if (msg.header.type === 'progress') {
      if (typeof p['kind'] === 'string') pending.onProgress?.(p['kind'], decodeValue(p['data'], msg.buffers, 'progress'));
      return;
    }
    if (msg.header.type !== 'reply') throw new Error(`workers may send ready, progress or reply, not ${msg.header.type}`);
    this.#pending.delete(callId);
    if (p['ok'] === true) {
      try {
        pending.resolve(decodeValue(p['value'], msg.buffers, 'worker reply'));
      } catch (e) {
        pending.reject(e);
      }
    } else pending.reject(errorFromWire(p['error']));
  }

  /** Stops every worker and closes the socket; calls still running fail. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.#slots.map((s) => s.proc?.stop()));
    for (const p of this.#pending.values()) p.reject(new Error('the rollout workers are shutting down'));
    this.#pending.clear();
    this.#router.close();
  }
}
