// The session's side of rollout workers: the pool, and one WorkerEngine per trainer, swapped in for the trainer's
// own engine so that Trainer.generate (and so step, run and evaluate) generates on the workers. The session tells
// it when a policy's weights change (after each iteration, after update()); it then broadcasts them at once.

import { resolve } from 'node:path';
import { resolveModelPath } from '../../hub/resolve.ts';
import type { Trainer } from '../../ppo/trainer.ts';
import { readRunConfig } from '../../run/run-config.ts';
import type { EngineMaker } from '../recipes.ts';
import type { Entry, HandleRegistry, Recipe } from '../registry.ts';
import type { ReplicaInfo, WorkerInfo } from './protocol.ts';
import { behaviourReplicaId, WorkerEngine, type PolicySource } from './worker-engine.ts';
import { SlurmAllocation, writeWorkerKeyFile, type SlurmOptions } from '../slurm.ts';
import { WorkerPool, type PoolOptions } from './worker-pool.ts';

/** The pool's options; with `slurm`, the workers are Slurm job steps and their number comes from the allocation. */
export interface WorkersOptions extends Omit<PoolOptions, 'slurm'> {
  slurm?: SlurmOptions & { sessionName: string; sessionDir: string };
}

/** The policy of a trainer recipe, as absolute paths a worker on this machine can load (a hub id as its cached snapshot). */
export async function policySource(recipe: Recipe, registry: HandleRegistry): Promise<PolicySource> {
  if (recipe.kind !== 'trainer') throw new Error(`rollout workers serve trainers, not ${recipe.kind} handles`);
  const local = async (pathOrId: string, need: 'model' | 'tokenizer') => resolve(await resolveModelPath(pathOrId, need));
  if (recipe.from === 'runConfig') {
    const model = (await readRunConfig(recipe.path)).model;
    return { modelDir: await local(model, 'model'), tokenizerPath: await local(model, 'tokenizer') };
  }
  const model = registry.get(recipe.policy, 'model').recipe;
  const tokenizer = registry.get(recipe.tokenizer, 'tokenizer').recipe;
  if (model.kind !== 'model' || tokenizer.kind !== 'tokenizer') throw new Error(`trainer recipe refers to ${recipe.policy} and ${recipe.tokenizer}, which are not a model and a tokenizer`);
  return { modelDir: await local(model.path, 'model'), tokenizerPath: await local(tokenizer.path, 'tokenizer') };
}

export class SessionWorkers {
  readonly #engines = new Map<string, { engine: WorkerEngine; queueKey: string }>();

  private constructor(readonly pool: WorkerPool, readonly log: (line: string) => void, readonly allocation: SlurmAllocation | null) {}

  static async start(opts: WorkersOptions): Promise<SessionWorkers> {
    const { slurm, ...local } = opts;
    if (!slurm) return new SessionWorkers(await WorkerPool.start(local), opts.log, null);
    const keyFile = await writeWorkerKeyFile(slurm.sessionDir, opts.key);
    const allocation = SlurmAllocation.acquire(slurm, slurm.sessionName, opts.log);
    try {
      const pool = await WorkerPool.start({ ...local, size: allocation.size, slurm: { allocation, keyFile, bindHost: slurm.bindHost, sessionName: slurm.sessionName } });
      return new SessionWorkers(pool, opts.log, allocation);
    } catch (e) {
      allocation.release();
      throw e;
    }
  }

  /**
   * What the trainer `id` (of `recipe`) is built with so that it generates on the workers (its policy is loaded
   * on them at the first generate): the engine for its policy and tokenizer, whose weights version is
   * `weightsMarker()` (the policy optimizer's step).
   */
  async engineMaker(id: string, recipe: Recipe, registry: HandleRegistry, weightsMarker: () => number): Promise<EngineMaker> {
    const source = await policySource(recipe, registry);
    return (policy, tokenizer) => new WorkerEngine(this.pool, id, source, policy, tokenizer, weightsMarker);
  }

  /** The trainer of `entry` exists (built with engineMaker): its engine broadcasts when its weights change. */
  adopt(entry: Entry): void {
    const engine = (entry.object as Trainer).engine;
    if (!(engine instanceof WorkerEngine)) throw new Error(`trainer ${entry.id} was not built with the session's worker engine`);
    this.#engines.set(entry.id, { engine, queueKey: entry.queueKey });
  }

  /**
   * After an iteration or an update() on the weights under `queueKey`: if they changed (a policy step was taken;
   * not during the critic warmup), every trainer on them broadcasts now. A failure (a worker died) is logged, not
   * thrown: the update itself succeeded, and the next generate restarts the worker and catches up.
   */
  async weightsChanged(queueKey: string): Promise<void> {
    const on = [...this.#engines].filter(([, e]) => e.queueKey === queueKey);
    if (!on.some(([, e]) => e.engine.stale)) return;
    for (const [id, { engine }] of on) {
      try {
        await engine.broadcast();
      } catch (e) {
        this.log(`broadcast of ${id}'s weights (version ${engine.version}) failed: ${(e as Error).message}`);
      }
    }
  }

  /** The trainer is released: its replicas are dropped on the workers. */
  async release(id: string): Promise<void> {
    if (!this.#engines.delete(id)) return;
    for (const replica of [id, behaviourReplicaId(id)]) { // the policy and its asyncRollouts behaviour copy
      for (const w of this.pool.readyWorkers()) {
        if (this.pool.replicaVersion(w, replica) === undefined) continue;
        this.pool.noteReplica(w, replica, null);
        await this.pool.call(w, 'worker.release', { policy: replica }).catch((e: unknown) => this.log(`rollout worker ${w}: release of ${replica}: ${(e as Error).message}`));
      }
    }
  }

  infos(): WorkerInfo[] {
    return this.pool.infos();
  }

  /** Like infos(), with the sha256 of each replica's weights as the worker computes it. */
  async infosWithDigests(): Promise<WorkerInfo[]> {
    const infos = this.pool.infos();
    for (const info of infos) {
      if (info.state !== 'ready') continue;
      info.replicas = await Promise.all(info.replicas.map(async (r) =>
        (await this.pool.call(info.worker, 'worker.digest', { policy: r.policy })) as ReplicaInfo));
    }
    return infos;
  }

  async close(): Promise<void> {
    await this.pool.close();
    this.allocation?.release();
  }
}
