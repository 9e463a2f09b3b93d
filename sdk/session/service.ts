// The session itself, independent of any transport: handles, the operation table, one queue of calls per
// shared set of weights, cancellation, persistence and the event stream. The zeromq daemon and the in-process
// session both drive this class, so they behave the same.

import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { RolloutBatch } from '../rollout/rollout-batch.ts';
import { inProcessReward, type RewardFn } from '../reward/index.ts';
import type { Trainer } from '../ppo/trainer.ts';
import type { MetricsRow } from '../ppo/metrics-log.ts';
import type { TransformerLM } from '../model/index.ts';
import { ArgumentError, parseArgs } from './args.ts';
import { callContext, type CallContext, type ClientLink } from './call-context.ts';
import { processAlive } from './connection-file.ts';
import { sessionFiles } from './paths.ts';
import { buildFromRecipe } from './recipes.ts';
import { HandleRegistry, type Entry, type HandleInfo, type HandleKind, type HandleRecord, type Recipe } from './registry.ts';
import { resumeFrom } from '../run/resume.ts';
import { writeRunCheckpoint } from '../run/recorder.ts';
import { claimRunDir } from '../run/run-dir.ts';
import type { CheckpointKind } from '../run/checkpoint-policy.ts';
import { OPERATIONS } from './operations.ts';
import { Signer } from './wire.ts';
import type { CallInfo, EventSink, OpService, ServiceSettings, SessionStatus } from './service-types.ts';
import type { SessionWorkers } from './workers/session-workers.ts';

export type { ServiceSettings, EventSink, CallInfo, SessionStatus } from './service-types.ts';

/** Errors with a protocol-level code the client can branch on. */
const coded = (message: string, code: string) => Object.assign(new Error(message), { code });

export class SessionService implements OpService {
  readonly registry: HandleRegistry;
  readonly startedAt = new Date();
  readonly created: string;
  readonly #calls = new Map<string, { ctx: CallContext; controller: AbortController }>();
  readonly #queues = new Map<string, Promise<void>>();
  readonly #running = new Map<string, CallContext>();
  #closing = false;
  /** The rollout workers, when the session has some. */
  workers: SessionWorkers | null = null;

  private constructor(readonly settings: ServiceSettings, readonly emit: EventSink) {
    this.registry = new HandleRegistry(sessionFiles(settings.dir).handles);
    this.created = settings.created ?? this.startedAt.toISOString();
  }

  /**
   * Opens the session directory. With `resume`, every handle of handles.json is rebuilt from its recipe and each
   * trainer loads its newest checkpoint; without it, saved handles are an error (nothing is silently dropped).
   */
  static async open(settings: ServiceSettings, emit: EventSink, opts: { resume: boolean }): Promise<SessionService> {
    const every = settings.checkpointEvery;
    if (every !== null && !(Number.isInteger(every) && every > 0)) {
      throw new Error(`checkpointEvery must be a positive integer (or null: each trainer config's policy), got ${every}`);
    }
    await mkdir(settings.dir, { recursive: true, mode: 0o700 });
    await claimDirectory(settings.dir, settings.name);
    const s = new SessionService(settings, emit);
    const records = await s.registry.loadRecords();
    if (records.length > 0 && !opts.resume) {
      throw new Error(`session "${settings.name}" has saved handles (${sessionFiles(settings.dir).handles}); resume it (orz session start --resume ${settings.name}) or use another name`);
    }
    if (settings.workers || settings.slurm) {
      const { SessionWorkers } = await import('./workers/session-workers.ts');
      s.workers = await SessionWorkers.start({
        size: settings.workers ?? 0, key: settings.key ?? Signer.newKey(), backend: settings.backend,
        maxMessageSize: settings.maxMessageSize ?? 256 * 1024 * 1024, log: (l) => s.log(l), onChange: (w) => emit('worker', w),
        ...(settings.slurm ? { slurm: { ...settings.slurm, sessionName: settings.name, sessionDir: settings.dir } } : {}),
      });
    }
    try {
      await s.#restore(records);
    } catch (e) {
      await s.workers?.close();
      throw e;
    }
    return s;
  }

  async #restore(records: HandleRecord[]): Promise<void> {
    for (const r of records) {
      try {
        await this.#build(r.id, r.kind, r.name, r.recipe, r.created);
      } catch (e) {
        throw new Error(`cannot restore handle ${r.id}${r.name ? ` ("${r.name}")` : ''} from its recipe ${JSON.stringify(r.recipe)}: ${(e as Error).message}`);
      }
      const entry = this.registry.get(r.id);
      if (entry.trainer) {
        // the run layer's recovery: the newest complete checkpoint that loads, partial ones removed
        const t = entry.object as Trainer;
        const restored = await resumeFrom(t, entry.trainer.dir, { log: (l) => this.log(`${r.id}: ${l}`) });
        entry.trainer.lastCheckpoint = restored ? t.iteration : -1;
        this.log(`restored ${r.id}${r.name ? ` ("${r.name}")` : ''}${restored ? ` at iteration ${t.iteration}` : ' (no checkpoint yet)'}`);
      } else {
        this.log(`restored ${r.id}${r.name ? ` ("${r.name}")` : ''}`);
      }
    }
  }

  log(line: string): void {
    (this.settings.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(`[${new Date().toISOString()}] ${line}`);
  }

  get closing(): boolean {
    return this.#closing;
  }

  /** Set by the transport: how to stop the whole session once the shutdown request has been answered. */
  onShutdownRequest: (() => void) | null = null;

  requestShutdown(): void {
    const stop = this.onShutdownRequest ?? (() => void this.shutdown());
    setImmediate(stop);
  }

  /** Runs one operation for a client. Queued operations wait for earlier calls on the same weights. */
  async call(link: ClientLink, callId: string, op: string, handle: string | null, rawArgs: unknown): Promise<unknown> {
    if (this.#closing) throw coded(`session "${this.settings.name}" is shutting down`, 'shutting_down');
    const def = Object.hasOwn(OPERATIONS, op) ? OPERATIONS[op] : undefined;
    if (!def) throw coded(`unknown operation ${JSON.stringify(op)} (known: ${Object.keys(OPERATIONS).join(', ')})`, 'unknown_op');
    if (this.#calls.has(callId)) throw coded(`call id ${callId} is already in use`, 'malformed');
    const controller = new AbortController();
    const ctx = callContext(link, callId, op, handle, controller.signal);
    this.#calls.set(callId, { ctx, controller });
    try {
      const args = parseArgs(op, rawArgs, def.spec);
      let entry: Entry | null = null;
      if (def.kind !== 'session') {
        if (typeof handle !== 'string' || handle === '') throw new ArgumentError(`${op}: the request names no ${def.kind} handle`);
        entry = this.registry.get(handle, def.kind);
      }
      const run = () => def.run({ service: this, call: ctx }, args, entry as Entry);
      if (!def.queued || !entry) return await run();
      return await this.#enqueue(entry, ctx, run);
    } finally {
      this.#calls.delete(callId);
    }
  }

  /** Aborts a call (its AbortSignal); only the client that made it may cancel it. */
  cancel(callId: string, client: string): boolean {
    const c = this.#calls.get(callId);
    if (!c || c.ctx.client !== client) return false;
    c.controller.abort(Object.assign(new Error(`${c.ctx.op} cancelled by the client`), { name: 'AbortError' }));
    return true;
  }

  async #enqueue(entry: Entry, ctx: CallContext, run: () => unknown): Promise<unknown> {
    const key = entry.queueKey;
    const before = this.#queues.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    this.#queues.set(key, before.then(() => mine));
    await before;
    this.#running.set(key, ctx);
    if (entry.trainer) entry.trainer.current = ctx;
    this.emit('call', { callId: ctx.callId, op: ctx.op, handle: entry.id, client: ctx.client, state: 'started' });
    try {
      const out = await run();
      this.emit('call', { callId: ctx.callId, op: ctx.op, handle: entry.id, client: ctx.client, state: 'finished' });
      return out;
    } catch (e) {
      this.emit('call', { callId: ctx.callId, op: ctx.op, handle: entry.id, client: ctx.client, state: 'failed', error: (e as Error).message });
      throw e;
    } finally {
      if (entry.trainer) entry.trainer.current = null;
      this.#running.delete(key);
      release();
    }
  }

  async #build(id: string, kind: HandleKind, name: string | null, recipe: Recipe, created: string): Promise<Entry> {
    const holder: { entry?: Entry } = {};
    // A controller reward asks the client of the call now running on this trainer to score the rollouts
    // (in process: it needs this session's state, and its wait is for a client, not for CPU work).
    const controller: RewardFn = inProcessReward({
      name: 'controller reward',
      batch: async (samples) => {
        const current = holder.entry?.trainer?.current;
        if (!current) throw new Error('a controller reward needs a client call in progress (step, run, score or evaluate)');
        return current.score(id, RolloutBatch.fromSamples(samples as never));
      },
    });
    // with rollout workers, a trainer generates on them; its weights version is its policy optimizer's step
    const engine = recipe.kind === 'trainer' && this.workers
      ? await this.workers.engineMaker(id, recipe, this.registry, () => (holder.entry!.object as Trainer).policyOptimizer.step)
      : undefined;
    const { object, queueKey } = await buildFromRecipe(recipe, id, this.registry, controller, engine);
    const entry: Entry = { id, kind, name, recipe, created, object, queueKey };
    if (recipe.kind === 'trainer') {
      entry.trainer = {
        dir: join(sessionFiles(this.settings.dir).checkpoints, id), reward: recipe.reward,
        lastCheckpoint: -1, dirty: false, current: null, experiences: new Map(),
      };
    }
    holder.entry = entry;
    if (entry.trainer) claimRunDir(object as Trainer, entry.trainer.dir); // the session's own run directory for it
    if (entry.trainer && this.workers) this.workers.adopt(entry);
    this.registry.add(entry);
    return entry;
  }

  async createHandle(kind: HandleKind, name: string | null | undefined, recipe: Recipe): Promise<HandleInfo> {
    const free = this.registry.checkFreeName(name);
    const entry = await this.#build(this.registry.newId(kind), kind, free, recipe, new Date().toISOString());
    await this.registry.save();
    const info = this.info(entry);
    this.emit('handle', { action: 'created', handle: info });
    this.log(`created ${entry.id}${entry.name ? ` ("${entry.name}")` : ''}: ${JSON.stringify(recipe)}`);
    return info;
  }

  async releaseHandle(ref: string): Promise<void> {
    const entry = this.registry.get(ref);
    const users = this.registry.dependents(entry.id);
    if (users.length) throw new Error(`${entry.id} is used by ${users.map((u) => u.id).join(', ')}; release those first`);
    if (this.#running.has(entry.queueKey) && this.#running.get(entry.queueKey)!.handle === entry.id) throw coded(`${entry.id} has a call running`, 'busy');
    this.registry.remove(entry.id);
    await this.workers?.release(entry.id);
    if (entry.kind === 'trainer') {
      (entry.object as Trainer).dispose();
      if (entry.recipe.kind === 'trainer' && entry.recipe.from === 'runConfig') (entry.object as Trainer).policy.dispose();
    } else if (entry.kind === 'model') {
      (entry.object as TransformerLM).dispose();
    }
    await this.registry.save();
    this.emit('handle', { action: 'released', handle: { id: entry.id, kind: entry.kind, name: entry.name } });
  }

  info(entry: Entry): HandleInfo {
    const out: HandleInfo = { id: entry.id, kind: entry.kind, name: entry.name, recipe: entry.recipe, created: entry.created, busy: this.#running.has(entry.queueKey) };
    if (entry.trainer) {
      const t = entry.object as Trainer;
      out.iteration = t.iteration;
      out.dataCursor = t.dataCursor;
      out.lastCheckpoint = entry.trainer.lastCheckpoint;
    }
    return out;
  }

  status(): SessionStatus {
    return {
      name: this.settings.name, pid: process.pid, backend: this.settings.backend, created: this.created,
      started: this.startedAt.toISOString(), uptimeSec: (Date.now() - this.startedAt.getTime()) / 1000,
      checkpointEvery: this.settings.checkpointEvery,
      handles: this.registry.entries().map((e) => this.info(e)),
      workers: this.workers?.infos() ?? [],
      calls: [...this.#calls.values()].filter(({ ctx }) => ctx.op !== 'session.status').map(({ ctx }) => ({ callId: ctx.callId, op: ctx.op, handle: ctx.handle, client: ctx.client, runningSec: (Date.now() - ctx.started) / 1000 })),
    };
  }

  /** Checkpoints the trainer of `entry` now (its metrics first), as the run layer writes checkpoints. */
  async checkpoint(entry: Entry): Promise<string> {
    const t = entry.object as Trainer;
    await t.metrics.save(entry.trainer!.dir);
    const dir = await writeRunCheckpoint(t, entry.trainer!.dir);
    this.checkpointed(entry, t.iteration);
    return dir;
  }

  /** A checkpoint of `entry` at `iteration` is on disk (written here or by the run loop). */
  checkpointed(entry: Entry, iteration: number): void {
    entry.trainer!.lastCheckpoint = iteration;
    entry.trainer!.dirty = false;
    this.emit('checkpoint', { handle: entry.id, name: entry.name, iteration });
  }

  /** The session's checkpoint period, when it has one (--checkpoint-every); null: the trainer config's policy. */
  checkpointDue(): ((iteration: number) => CheckpointKind | null) | undefined {
    const every = this.settings.checkpointEvery;
    return every === null ? undefined : (iteration) => (iteration % every === 0 ? 'safety' : null);
  }

  /** After each completed iteration, on disk and checkpointed when due: tell the caller and the watchers. */
  async afterIteration(entry: Entry, row: MetricsRow, ctx: CallContext, checkpointed: boolean): Promise<void> {
    ctx.progress('iteration', row);
    this.emit('iteration', { handle: entry.id, name: entry.name, row, checkpointed });
    await this.workers?.weightsChanged(entry.queueKey);
  }

  /** Stops taking calls, aborts running ones (runs stop at an iteration boundary), then checkpoints every trainer. */
  async shutdown(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    for (const { controller, ctx } of this.#calls.values()) {
      if (ctx.op !== 'session.shutdown') controller.abort(Object.assign(new Error('the session is shutting down'), { name: 'AbortError' }));
    }
    await Promise.allSettled([...this.#queues.values()]);
    for (const e of this.registry.entries()) {
      const t = e.trainer ? (e.object as Trainer) : null;
      if (t && (t.iteration !== e.trainer!.lastCheckpoint || e.trainer!.dirty) && (t.iteration > 0 || e.trainer!.dirty)) {
        try {
          await this.checkpoint(e);
          this.log(`checkpointed ${e.id} at iteration ${t.iteration}`);
        } catch (err) {
          this.log(`checkpoint of ${e.id} failed: ${(err as Error).message}`);
        }
      }
    }
    await this.registry.save();
    await this.workers?.close();
    await releaseDirectory(this.settings.dir);
    this.emit('shutdown', { name: this.settings.name });
  }
}

// One live process per session directory: a lock file with the owner's pid (a stale one, whose process is gone,
// is taken over). Two processes writing the same checkpoints would corrupt each other.
async function claimDirectory(dir: string, name: string): Promise<void> {
  const lock = join(dir, 'owner.pid');
  try {
    const pid = Number((await readFile(lock, 'utf8')).trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
      throw coded(`session "${name}" is in use by process ${pid} (stop it first: orz session stop ${name})`, 'busy');
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await writeFileAtomic(lock, `${process.pid}\n`);
}

async function releaseDirectory(dir: string): Promise<void> {
  await writeFileAtomic(join(dir, 'owner.pid'), '');
}
