// A pool of reward worker threads. Synchronous code cannot be cut short on the thread that runs it, so rewards
// run on worker threads, and a watchdog on this thread terminates a worker whose call has run past the timeout
// (and starts a fresh one). The pool is started lazily, reused across scoring calls, and its idle workers do not
// keep the process alive.

import { Worker } from 'node:worker_threads';
import { fromWireError, Slot, wallMs, type FromWorker, type RewardSpec, type RewardWorkerData, type ToWorker, type WireError, type WireValues } from './protocol.ts';

/** One sample's call failed in a worker; `index` is the sample's index in the scored array. */
export class SampleFailure extends Error {
  constructor(
    readonly index: number,
    readonly reason: 'threw' | 'timeout',
    readonly error?: Error,
    readonly undefinedName?: string,
  ) {
    super(reason === 'timeout' ? `sample ${index} timed out` : `sample ${index} threw: ${error?.message}`);
    this.name = 'SampleFailure';
  }
}

export interface PoolCallOptions {
  /** Per sample (per-sample rewards) or per call (batch rewards). */
  timeoutMs: number;
  /** Per-sample calls in flight at once, over all workers (matters for async rewards). */
  concurrency: number;
  signal?: AbortSignal;
}

/** Loading a module (or evaluating shipped source) may take a while the first time (tsx compiles it). */
const DEFINE_TIMEOUT_MS = 60_000;
/** At most this many samples per message: fewer round trips, yet work still spreads over the workers. */
const MAX_CHUNK = 32;

interface Run {
  cancelled: boolean;
  fail(e: unknown): void;
}

interface Job {
  id: number;
  run: Run;
  fnId: number;
  mode: 'each' | 'batch';
  samples: unknown[];
  /** Index of samples[0] in the scored array. */
  offset: number;
  opts: PoolCallOptions;
  /** Posted to the worker (before that, a worker death is a start-up failure, not this job's). */
  sent: boolean;
  resolve(out: WireValues | { notArray: string }): void;
}

interface WorkerSlot {
  worker: Worker;
  control: Int32Array;
  ready: Promise<void>;
  definitions: Map<number, { promise: Promise<'each' | 'batch'>; settle(m: FromWorker): void }>;
  job: Job | null;
  timer: ReturnType<typeof setTimeout> | null;
  dead: boolean;
  onReady(): void;
  onDeath(e: Error): void;
}

export class RewardPool {
  readonly size: number;
  readonly #slots: Array<WorkerSlot | null>;
  readonly #queue: Job[] = [];
  readonly #fnIds = new Map<string, number>();
  readonly #specs = new Map<number, RewardSpec>();
  readonly #shapes = new Map<number, 'each' | 'batch'>();
  readonly #epochMs = wallMs();
  #nextJob = 1;
  #closed = false;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`RewardPool: size must be a positive integer, got ${size}`);
    this.size = size;
    this.#slots = new Array<WorkerSlot | null>(size).fill(null);
  }

  /** Live worker threads (for tests and diagnostics). */
  get workerCount(): number {
    return this.#slots.filter((s) => s !== null).length;
  }

  /** Per-sample scoring; values come back in input order. */
  async scoreEach(spec: RewardSpec, samples: unknown[], opts: PoolCallOptions): Promise<WireValues> {
    const chunk = Math.max(1, Math.min(MAX_CHUNK, Math.ceil(samples.length / (this.size * 4))));
    const perWorker = Math.max(1, Math.ceil(opts.concurrency / this.size));
    const parts: Array<{ offset: number; samples: unknown[] }> = [];
    for (let o = 0; o < samples.length; o += chunk) parts.push({ offset: o, samples: samples.slice(o, o + chunk) });
    const outs = await this.#runJobs(spec, 'each', parts, { ...opts, concurrency: perWorker });
    const merged: WireValues = { values: new Array<number>(samples.length), nonNumbers: [] };
    outs.forEach((out, k) => {
      const { offset } = parts[k]!;
      const w = out as WireValues;
      w.values.forEach((v, i) => { merged.values[offset + i] = v; });
      for (const [i, type] of w.nonNumbers) merged.nonNumbers.push([offset + i, type]);
    });
    return merged;
  }

  /** One batch call in one worker. */
  async scoreBatch(spec: RewardSpec, samples: unknown[], opts: PoolCallOptions): Promise<WireValues | { notArray: string }> {
    const [out] = await this.#runJobs(spec, 'batch', [{ offset: 0, samples }], opts);
    return out!;
  }

  /** Whether the reward is per-sample or batch: a module's export is only known once a worker has imported it. */
  async shapeOf(spec: RewardSpec): Promise<'each' | 'batch'> {
    if (spec.kind === 'source') return spec.shape;
    if (this.#closed) throw new Error('the reward pool was closed');
    const fnId = this.#fnId(spec);
    const known = this.#shapes.get(fnId);
    if (known) return known;
    const i = Math.max(0, this.#slots.findIndex((s) => s !== null));
    const slot = this.#slots[i] ?? (this.#slots[i] = this.#spawn(i));
    slot.worker.ref();
    try {
      await slot.ready;
      const shape = await this.#define(i, slot, fnId);
      this.#shapes.set(fnId, shape);
      return shape;
    } finally {
      if (!slot.job && !slot.dead) slot.worker.unref();
    }
  }

  /** Terminates every worker; pending calls reject. The pool cannot be used afterwards. */
  async close(): Promise<void> {
    this.#closed = true;
    const error = new Error('the reward pool was closed');
    for (const job of this.#queue.splice(0)) job.run.fail(error);
    await Promise.all(this.#slots.map((s, i) => {
      if (!s) return undefined;
      return this.#kill(i, error);
    }));
  }

  #fnId(spec: RewardSpec): number {
    const key = JSON.stringify(spec);
    let id = this.#fnIds.get(key);
    if (id === undefined) {
      this.#fnIds.set(key, (id = this.#fnIds.size + 1));
      this.#specs.set(id, spec);
    }
    return id;
  }

  #runJobs(spec: RewardSpec, mode: Job['mode'], parts: Array<{ offset: number; samples: unknown[] }>, opts: PoolCallOptions) {
    if (this.#closed) return Promise.reject(new Error('the reward pool was closed'));
    const fnId = this.#fnId(spec);
    return new Promise<Array<WireValues | { notArray: string }>>((resolve, reject) => {
      const outs = new Array<WireValues | { notArray: string }>(parts.length);
      let pending = parts.length;
      const run: Run = {
        cancelled: false,
        fail: (e) => {
          if (run.cancelled) return;
          run.cancelled = true;
          opts.signal?.removeEventListener('abort', onAbort);
          for (let q = this.#queue.length - 1; q >= 0; q--) if (this.#queue[q]!.run === run) this.#queue.splice(q, 1);
          reject(e);
        },
      };
      // Aborting stops this call's work at once: its workers are terminated (and later replaced), not drained.
      const onAbort = (): void => {
        run.fail(opts.signal!.reason);
        this.#slots.forEach((s, i) => { if (s?.job?.run === run) void this.#kill(i, opts.signal!.reason); });
        this.#pump();
      };
      if (opts.signal?.aborted) { onAbort(); return; }
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      parts.forEach((part, k) => {
        this.#queue.push({
          id: this.#nextJob++, run, fnId, mode, samples: part.samples, offset: part.offset, opts, sent: false,
          resolve: (out) => {
            if (run.cancelled) return;
            outs[k] = out;
            if (--pending === 0) { opts.signal?.removeEventListener('abort', onAbort); resolve(outs); }
          },
        });
      });
      this.#pump();
    });
  }

  /** Hands queued jobs to free workers, starting workers as needed. */
  #pump(): void {
    for (let i = 0; i < this.size && this.#queue.length > 0 && !this.#closed; i++) {
      const slot = this.#slots[i] ?? (this.#slots[i] = this.#spawn(i));
      if (slot.job) continue;
      const job = this.#queue.shift()!;
      slot.job = job;
      slot.worker.ref(); // busy: an awaited score must keep the process alive
      void this.#dispatch(i, slot, job);
    }
  }

  async #dispatch(i: number, slot: WorkerSlot, job: Job): Promise<void> {
    try {
      await slot.ready;
      await this.#define(i, slot, job.fnId);
    } catch (e) {
      if (slot.job === job) slot.job = null;
      job.run.fail(e);
      if (!slot.dead) this.#release(slot);
      return;
    }
    if (slot.dead || slot.job !== job) return;
    if (job.run.cancelled) { this.#release(slot); return; }
    // The timeout counts from here, not from the worker's start or the module's import.
    Atomics.store(slot.control, Slot.PROGRESS, Math.round(wallMs() - this.#epochMs));
    Atomics.store(slot.control, Slot.LAST_STARTED, 0);
    const msg: ToWorker = job.mode === 'each'
      ? { type: 'each', jobId: job.id, fnId: job.fnId, samples: job.samples, timeoutMs: job.opts.timeoutMs, concurrency: job.opts.concurrency }
      : { type: 'batch', jobId: job.id, fnId: job.fnId, samples: job.samples, timeoutMs: job.opts.timeoutMs };
    try {
      slot.worker.postMessage(msg);
    } catch (e) {
      // Typically a DataCloneError: a sample field that cannot be structured-cloned (a function, a class instance's private state).
      job.run.fail(new Error(`reward samples could not be sent to a reward worker: ${e instanceof Error ? e.message : String(e)}`, { cause: e }));
      this.#release(slot);
      return;
    }
    job.sent = true;
    this.#arm(i, slot, job, job.opts.timeoutMs);
  }

  /** The watchdog: fires when the worker may have made no progress for a whole timeout. */
  #arm(i: number, slot: WorkerSlot, job: Job, delayMs: number): void {
    slot.timer = setTimeout(() => {
      slot.timer = null;
      if (slot.dead || slot.job !== job) return;
      const idle = wallMs() - this.#epochMs - Atomics.load(slot.control, Slot.PROGRESS);
      const runningSync = Atomics.load(slot.control, Slot.RUNNING_SYNC);
      const { timeoutMs } = job.opts;
      // Inside a synchronous call the worker cannot report anything: blocked once the timeout is up. Between
      // calls (awaiting) the worker reports its own promise timeouts, so it gets a little grace to do so.
      const limit = runningSync >= 0 ? timeoutMs : timeoutMs + Math.min(1000, Math.max(25, timeoutMs / 10));
      if (idle < limit) { this.#arm(i, slot, job, limit - idle + 1); return; }
      const index = runningSync >= 0 ? runningSync : Atomics.load(slot.control, Slot.LAST_STARTED);
      const failure = new SampleFailure(job.offset + index, 'timeout');
      void this.#kill(i, failure);
      this.#pump();
    }, Math.max(1, delayMs));
  }

  #define(i: number, slot: WorkerSlot, fnId: number): Promise<'each' | 'batch'> {
    const known = slot.definitions.get(fnId);
    if (known) return known.promise;
    let settle!: (m: FromWorker) => void;
    const promise = new Promise<'each' | 'batch'>((resolve, reject) => {
      const timer = setTimeout(() => {
        const error = new Error(`a reward worker took over ${DEFINE_TIMEOUT_MS / 1000} s to load the reward (a module whose top level never finishes?)`);
        reject(error);
        void this.#kill(i, error);
      }, DEFINE_TIMEOUT_MS);
      settle = (m) => {
        clearTimeout(timer);
        if (m.type === 'defined') resolve(m.shape);
        else if (m.type === 'defineFailed') reject(defineError(this.#specs.get(fnId)!, m.error));
      };
    });
    slot.definitions.set(fnId, { promise, settle });
    // A failed definition is not cached: the next call tries again (the module may have been fixed).
    promise.catch(() => slot.definitions.delete(fnId));
    slot.worker.postMessage({ type: 'define', fnId, spec: this.#specs.get(fnId)! } satisfies ToWorker);
    return promise;
  }

  #onMessage(i: number, slot: WorkerSlot, m: FromWorker): void {
    if (m.type === 'ready') { slot.onReady(); return; }
    if (m.type === 'defined' || m.type === 'defineFailed') { slot.definitions.get(m.fnId)?.settle(m); return; }
    const job = slot.job;
    if (!job || job.id !== m.jobId) return; // a cancelled run's late answer
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    if (m.type === 'failed') {
      const error = m.error ? fromWireError(m.error) : undefined;
      job.run.fail(new SampleFailure(job.offset + m.index, m.reason, error, m.error?.undefinedName));
      // A timed-out promise may still be running in that worker; a fresh worker is cheaper than doubt.
      if (m.reason === 'timeout') { void this.#kill(i, new Error('timed out')); this.#pump(); return; }
    } else {
      job.resolve(m.type === 'notArray' ? { notArray: m.gotType } : m);
    }
    this.#release(slot);
  }

  #release(slot: WorkerSlot): void {
    slot.job = null;
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    if (this.#queue.length === 0) slot.worker.unref();
    this.#pump();
  }

  /** Terminates worker i; the call whose job it was running (if that call still waits) fails with `reason`. */
  #kill(i: number, reason: unknown): Promise<unknown> {
    const slot = this.#slots[i];
    if (!slot) return Promise.resolve();
    this.#slots[i] = null;
    slot.dead = true;
    slot.job?.run.fail(reason);
    if (slot.timer) clearTimeout(slot.timer);
    return slot.worker.terminate();
  }

  #spawn(i: number): WorkerSlot {
    const control = new SharedArrayBuffer(Slot.LENGTH * Int32Array.BYTES_PER_ELEMENT);
    // TypeScript in the worker: tsx's hooks registered on this thread do not reach worker threads, so the
    // worker's entry is a bootstrap that registers tsx there (ESM and CommonJS, for user modules that are either)
    // and then imports worker-main.ts.
    const esmApi = JSON.stringify(import.meta.resolve('tsx/esm/api'));
    const cjsApi = JSON.stringify(import.meta.resolve('tsx/cjs/api'));
    const entry = JSON.stringify(new URL('./worker-main.ts', import.meta.url).href);
    const bootstrap = `Promise.all([import(${esmApi}), import(${cjsApi})]).then(([esm, cjs]) => { esm.register(); cjs.register(); return import(${entry}); })`;
    const worker = new Worker(bootstrap, { eval: true, workerData: { control, epochMs: this.#epochMs } satisfies RewardWorkerData, name: 'orz-reward' });
    let onReady!: () => void;
    let onBootFailure!: (e: Error) => void;
    const ready = new Promise<void>((resolve, reject) => { onReady = resolve; onBootFailure = reject; });
    ready.catch(() => {}); // observed through the job that waits on it
    const slot: WorkerSlot = {
      worker, control: new Int32Array(control), ready, definitions: new Map(), job: null, timer: null, dead: false, onReady,
      onDeath: (e) => {
        const bootError = new Error(`a reward worker failed to start: ${e.message}`, { cause: e });
        onBootFailure(bootError);
        for (const d of slot.definitions.values()) d.settle({ type: 'defineFailed', fnId: 0, error: { name: e.name, message: e.message, stack: e.stack } });
        const job = slot.job;
        if (job?.sent) {
          // An uncaught error (say, thrown from a timer the reward set) or process.exit() in the reward.
          job.run.fail(new SampleFailure(job.offset + Atomics.load(slot.control, Slot.LAST_STARTED), 'threw', e));
        }
        if (this.#slots[i] === slot) { void this.#kill(i, bootError); this.#pump(); }
      },
    };
    worker.on('message', (m: FromWorker) => this.#onMessage(i, slot, m));
    worker.on('error', (e) => slot.onDeath(e));
    worker.on('exit', (code) => { if (!slot.dead) slot.onDeath(new Error(`the reward worker exited with code ${code}`)); });
    return slot;
  }
}

function defineError(spec: RewardSpec, w: WireError): Error {
  const what = spec.kind === 'module' ? `reward module ${spec.url} (export "${spec.exportName}")` : 'the reward function\'s source';
  return new Error(`a reward worker could not load ${what}: ${w.name}: ${w.message}`, { cause: fromWireError(w) });
}
