// asyncRollouts: rollouts sampled from older weights, with a fixed lag.
//
// With maxStaleness k >= 1, the rollouts of iteration i (1-based) are sampled from the policy weights of version
//
//   v(i) = max(0, i - 1 - k)            (version v = the weights after v iterations; iteration i trains version i-1)
//
// a fixed function of i, not "whatever version the workers hold when they start": so the same config and seed
// give the same samples and metrics whether generation runs in-process (sequentially, on a snapshot of those
// weights) or on rollout workers overlapped with the previous update. Since v(i+1) = i - k <= i - 1, the weights
// iteration i+1 samples from exist before iteration i's update starts, which is what lets workers generate it
// during that update. The staleness of iteration i is (i - 1) - v(i) <= k updates; PPO's ratio
// rho_t = pi_theta / pi_behaviour uses the log-probs recorded at sampling time (the rollout's logprobs column),
// so the clip bounds the step from the behaviour policy, as in off-policy PPO variants (AReaL, prime-rl).
//
// BehaviourPolicy keeps the host copies of the versions still needed (at most k + 1) and a model that holds
// one of them, with the engine that samples from it (a second replica on the workers for a WorkerEngine).

import { tf } from '../engine/tf.ts';
import type { TransformerLM } from '../model/index.ts';
import type { RolloutEngine } from '../rollout/engine.ts';
import type { RolloutBatch } from '../rollout/rollout-batch.ts';

/** v(i): the weights version iteration `iteration` samples from under maxStaleness `k` (k = 0: i - 1, on-policy). */
export function behaviourVersion(iteration: number, k: number): number {
  return Math.max(0, iteration - 1 - k);
}

/** One version's weights, by name, on the host. */
export type WeightsSnapshot = Map<string, Float32Array>;

export class BehaviourPolicy {
  readonly #snapshots = new Map<number, WeightsSnapshot>();
  #held = -1; // the version `model` holds (-1: none yet)
  readonly model: TransformerLM;
  readonly engine: RolloutEngine;

  constructor(readonly policy: TransformerLM, readonly maxStaleness: number, engine: RolloutEngine) {
    this.model = policy.clone();
    this.engine = engine.forModel(this.model, () => this.#held + 1); // a WorkerEngine's marker: moves when the held version does
  }

  /** The versions kept, oldest first. */
  versions(): number[] {
    return [...this.#snapshots.keys()].sort((a, b) => a - b);
  }

  snapshot(version: number): WeightsSnapshot | undefined {
    return this.#snapshots.get(version);
  }

  /** Keeps the policy's current weights as `version`, and forgets versions no iteration after `nextIteration` samples from. */
  record(version: number, nextIteration: number): void {
    if (!this.#snapshots.has(version)) {
      const copy: WeightsSnapshot = new Map();
      for (const [name, v] of this.policy.weights) copy.set(name, (v.dataSync() as Float32Array).slice());
      this.#snapshots.set(version, copy);
    }
    this.forgetBefore(behaviourVersion(nextIteration, this.maxStaleness));
  }

  /** Adds a version read from a checkpoint. */
  put(version: number, weights: WeightsSnapshot): void {
    this.#snapshots.set(version, weights);
  }

  forgetBefore(version: number): void {
    for (const v of this.#snapshots.keys()) if (v < version) this.#snapshots.delete(v);
  }

  /** Drops every version (a restore brings its own). */
  clear(): void {
    this.#snapshots.clear();
    this.#held = -1;
  }

  /** Makes `model` hold `version`; `source` names the caller in errors. */
  hold(version: number, source: string): void {
    if (this.#held === version) return;
    const w = this.#snapshots.get(version);
    if (!w) {
      throw new Error(`${source}: asyncRollouts needs the policy weights of version ${version}, which this trainer does not hold ` +
        `(it holds ${this.versions().join(', ') || 'none'}); a checkpoint of a run with maxStaleness >= 1 carries them in behaviour.safetensors`);
    }
    for (const [name, v] of this.model.weights) {
      const data = w.get(name);
      if (!data || data.length !== v.size) throw new Error(`${source}: the weights of version ${version} lack ${name} or have another size`);
      const t = tf.tensor(data, v.shape, 'float32');
      v.assign(t);
      t.dispose();
    }
    this.#held = version;
  }

  dispose(): void {
    this.model.dispose();
    this.#snapshots.clear();
  }
}


/**
 * The generation of the next iteration, started while this one trains (rollout workers only). Its prompts are
 * drawn at `cursor` without advancing the trainer's data cursor: until step() consumes the batch the prompts are
 * not spent, so a stop, an abort, a failure or a checkpoint in between loses nothing (a resumed run regenerates
 * the batch from the same version and seed and gets the same samples).
 */
export class Prefetch {
  readonly #controller = new AbortController();
  readonly #unlink: () => void;
  readonly batch: Promise<RolloutBatch>;
  /** Resolves once the work is on the workers (or the generation ended). */
  readonly dispatched: Promise<void>;

  constructor(
    readonly iteration: number, readonly cursor: number, readonly promptCount: number, readonly version: number,
    start: (signal: AbortSignal, onDispatched: () => void) => Promise<RolloutBatch>,
    signal: AbortSignal | undefined,
  ) {
    const onAbort = () => this.#controller.abort(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    this.#unlink = () => signal?.removeEventListener('abort', onAbort);
    let dispatched!: () => void;
    const sent = new Promise<void>((r) => { dispatched = r; });
    this.batch = start(this.#controller.signal, dispatched);
    this.batch.catch(() => {}); // observed by take() or cancel()
    this.dispatched = Promise.race([sent, this.batch.then(() => {}, () => {})]);
  }

  /** The batch, for step(): `signal` (the step's) aborts it. */
  async take(signal: AbortSignal | undefined): Promise<RolloutBatch> {
    this.#unlink();
    const onAbort = () => this.#controller.abort(signal!.reason);
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await this.batch;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Stops the generation and waits until it has ended (on the workers too): nothing keeps running after this.
   * 'stopped' when it was cut short, 'ended' when it had already finished or failed by itself.
   */
  async cancel(reason: string): Promise<'stopped' | 'ended'> {
    this.#unlink();
    let settled = false;
    void this.batch.then(() => { settled = true; }, () => { settled = true; });
    await Promise.resolve(); // lets an already-settled batch say so
    const ended = settled;
    this.#controller.abort(new Error(reason));
    await this.batch.then(() => {}, () => {});
    return ended ? 'ended' : 'stopped';
  }
}
