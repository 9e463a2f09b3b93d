// A RolloutEngine whose generate() runs on the rollout workers: the prompts are split into contiguous slices, one
// per worker, each worker generates its slice (with the prompt indices and sampling streams the rows have in the
// whole batch) and the slices are joined in order. With per-row seeds (engine.ts: rowSeed) the result is the
// batch the in-process engine would have produced, whatever the number of workers.
//
// Weights: each broadcast is a new version (1, 2, ...) sent as raw float32 frames in chunks (weights-chunks.ts),
// each worker checking the version's digest before it assigns it. A generate names the version;
// a worker holding another refuses (protocol.ts). Before generating, the engine restarts dead workers, loads the
// policy on workers that lack it and sends the current weights to any worker behind.

import type { TransformerLM } from '../../model/index.ts';
import type { Tokenizer } from '../../tokenizer/index.ts';
import { DEFAULT_GENERATE, promptIndicesOf, RolloutEngine, type GenerateOptions, type GenerateParams, type GenerateProgress, type PromptInput } from '../../rollout/engine.ts';
import { RolloutBatch } from '../../rollout/rollout-batch.ts';
import { HostTensor } from '../codec.ts';
import { WORKER_ERRORS } from './protocol.ts';
import { chunkWeights, type WeightsChunk } from './weights-chunks.ts';
import type { WorkerPool } from './worker-pool.ts';

/** Where workers load the policy's architecture and tokenizer from (the paths of the trainer's recipe). */
export interface PolicySource { modelDir: string; tokenizerPath: string }

const GENERATE_KEYS = ['temperature', 'topP', 'topK', 'maxNewTokens', 'n', 'stop', 'seed'] as const;

/** Contiguous [start, end) slices of `n` items over `k` parts, sizes differing by at most one; empty parts left out. */
export function splitEvenly(n: number, k: number): [number, number][] {
  const out: [number, number][] = [];
  let start = 0;
  for (let i = 0; i < k; i++) {
    const size = Math.floor(n / k) + (i < n % k ? 1 : 0);
    if (size > 0) out.push([start, start + size]);
    start += size;
  }
  return out;
}

/** A worker that died mid-generate: say what that means for the caller. */
function explain(e: unknown): unknown {
  if (!(e instanceof Error) || (e as { code?: unknown }).code !== WORKER_ERRORS.exited) return e;
  e.message = `${e.message} while generating: the generate failed (a trainer step that fails here is not consumed and can be retried; the worker is restarted first)`;
  return e;
}

/** The replica id of a trainer's asyncRollouts behaviour policy on the workers. */
export function behaviourReplicaId(policyId: string): string {
  return `${policyId}@behaviour`;
}

export class WorkerEngine extends RolloutEngine {
  #version = 0;
  #marker: number | null = null;

  /**
   * `weightsMarker` changes whenever the policy weights may have changed (the policy optimizer's step count):
   * a generate that finds it moved broadcasts first, even if no one announced the update.
   */
  constructor(
    readonly pool: WorkerPool, readonly policyId: string, readonly source: PolicySource,
    model: TransformerLM, tokenizer: Tokenizer, readonly weightsMarker: () => number, opts: { maxBatchRows?: number } = {},
  ) {
    super(model, tokenizer, opts);
  }

  override get overlapsTraining(): boolean {
    return true;
  }

  /**
   * The behaviour policy of asyncRollouts on the same workers: a second replica (`<policy>@behaviour`) that
   * holds the weights `model` is set to, broadcast when `weightsVersion()` moves.
   */
  override forModel(model: TransformerLM, weightsVersion: () => number): WorkerEngine {
    return new WorkerEngine(this.pool, behaviourReplicaId(this.policyId), this.source, model, this.tokenizer, weightsVersion, { maxBatchRows: this.maxBatchRows });
  }

  /** The weights version last broadcast (0: none yet). */
  get version(): number {
    return this.#version;
  }

  #snapshot(): { names: string[]; tensors: HostTensor[] } {
    const names = [...this.model.weights.keys()].sort();
    const tensors = names.map((n) => {
      const v = this.model.weights.get(n)!;
      return new HostTensor(v.dataSync() as Float32Array<ArrayBuffer>, [...v.shape], 'float32');
    });
    return { names, tensors };
  }

  /** Brings worker `w` to the current version: loads the policy there if needed, then sends the weights. */
  async #push(w: number, version: number, chunks: WeightsChunk[]): Promise<void> {
    if (this.pool.replicaVersion(w, this.policyId) === undefined) {
      await this.pool.call(w, 'worker.load', { policy: this.policyId, ...this.source, maxBatchRows: this.maxBatchRows });
      this.pool.noteReplica(w, this.policyId, 0);
    }
    for (const c of chunks) await this.pool.call(w, 'worker.weightsChunk', { policy: this.policyId, version, ...c });
    this.pool.noteReplica(w, this.policyId, version);
  }

  async #pushAll(workers: number[]): Promise<void> {
    if (workers.length === 0) return;
    const { names, tensors } = this.#snapshot();
    const chunks = chunkWeights(names, tensors, this.pool.chunkBytes);
    const version = this.#version;
    const results = await Promise.allSettled(workers.map((w) => this.#push(w, version, chunks)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** The weights may have changed since the last broadcast (or there was none). */
  get stale(): boolean {
    return this.#version === 0 || this.#marker !== this.weightsMarker();
  }

  /** Sends the policy's current weights to every running worker as a new version. */
  async broadcast(): Promise<void> {
    this.#version += 1;
    this.#marker = this.weightsMarker();
    await this.#pushAll(this.pool.readyWorkers());
  }

  /** Workers started since, or that missed a broadcast, get the current version. */
  async #catchUp(): Promise<void> {
    await this.pool.restartExited();
    if (this.stale) return this.broadcast();
    await this.#pushAll(this.pool.readyWorkers().filter((w) => this.pool.replicaVersion(w, this.policyId) !== this.#version));
  }

  override async generate(prompts: (string | PromptInput)[], params: Partial<GenerateParams> = {}, opts: GenerateOptions = {}): Promise<RolloutBatch> {
    const full: GenerateParams = { ...DEFAULT_GENERATE, ...params };
    const sent = Object.fromEntries(GENERATE_KEYS.map((k) => [k, full[k]]));
    const inputs = prompts.map((x) => (typeof x === 'string' ? { prompt: x } : x));
    const indices = promptIndicesOf(inputs.length, opts);
    if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('generation aborted');
    if (inputs.length === 0) return RolloutBatch.fromSamples([]);
    await this.#catchUp();
    const workers = this.pool.readyWorkers();
    const slices = splitEvenly(inputs.length, workers.length);
    // One failure cancels the other slices: the batch is all or nothing.
    const cancel = new AbortController();
    const onAbort = () => cancel.abort(opts.signal!.reason);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const progress = slices.map(([a, b]) => ({ finished: 0, total: (b - a) * full.n, tokens: 0 }));
    const start = performance.now();
    let cause: unknown = null;
    try {
      let unsent = slices.length;
      const results = await Promise.allSettled(slices.map(([a, b], i) => this.pool.call(workers[i]!, 'worker.generate', {
        policy: this.policyId, version: this.#version, prompts: inputs.slice(a, b), params: sent,
        firstPromptIndex: indices[a] ?? 0, promptIndices: indices.slice(a, b),
      }, {
        signal: cancel.signal,
        onSent: () => { if (--unsent === 0) opts.onDispatched?.(); },
        onProgress: (kind, data) => {
          if (kind !== 'generate' || !opts.onProgress) return;
          Object.assign(progress[i]!, data as GenerateProgress);
          opts.onProgress({
            finished: progress.reduce((s, p) => s + p.finished, 0), total: progress.reduce((s, p) => s + p.total, 0),
            tokens: progress.reduce((s, p) => s + p.tokens, 0), elapsedSec: (performance.now() - start) / 1000,
          });
        },
      }).catch((e: unknown) => {
        cause ??= e; // the first failure; the others are mostly the cancellations it sets off
        cancel.abort(e);
        throw e;
      })));
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('generation aborted');
      if (cause !== null) throw explain(cause);
      const batches = results.map((r) => (r as PromiseFulfilledResult<unknown>).value as RolloutBatch);
      return RolloutBatch.concat(batches);
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }
}
