// Running a reward function over samples: bounded concurrency, a timeout per call, and loud failures.
// A reward that throws, hangs or returns a non-number must stop training with the sample named,
// because a silent 0 would quietly teach the policy the wrong thing.
//
// By default rewards run in reward worker threads (pool/), where a synchronous call that never returns can be
// terminated; on this thread only promises can be timed out.

import { RewardPool, SampleFailure } from './pool/reward-pool.ts';
import type { WireValues } from './pool/protocol.ts';
import { capturedStateMessage, importRewardModule, isRewardModule, rewardSpec, runsInProcess } from './pool/reward-spec.ts';
import { defaultRewardWorkers, sharedRewardPool } from './pool/shared.ts';
import type { BatchRewardFn, RewardFn, Sample } from './types.ts';

export class RewardError extends Error {
  readonly sampleIndex: number;
  readonly sample: Sample;

  constructor(message: string, sampleIndex: number, sample: Sample, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'RewardError';
    this.sampleIndex = sampleIndex;
    this.sample = sample;
  }
}

export interface ScoreOptions {
  /**
   * Per sample for a per-sample fn, per call for a batch fn. Default 10 s. In the pool it is hard (a blocked worker is
   * terminated); in process only promises time out.
   */
  timeoutMs?: number;
  /**
   * Per-sample calls in flight at once. Default 8. In the pool they are split over the workers (rounded up), which
   * matters for async rewards only: a synchronous one runs one call at a time per worker whatever this says.
   */
  concurrency?: number;
  /**
   * Reward worker threads. Default: ORZ_REWARD_WORKERS, else os.availableParallelism(). 0 runs the reward on this
   * thread, as inProcessReward(fn) does: needed for rewards that use state from their scope, but a synchronous
   * reward that never returns then hangs the process (no timeout can fire).
   */
  rewardWorkers?: number;
  /** Aborting rejects with the signal's reason and terminates the workers running this call. */
  signal?: AbortSignal;
  /** The pool to run in (instead of the shared one of `rewardWorkers` threads). */
  pool?: RewardPool;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_CONCURRENCY = 8;

class Timeout extends Error {}

/** Resolve with fn's result, or reject with Timeout after `ms` (synchronous code cannot be cut short). */
async function withTimeout<T>(fn: () => T | Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Timeout()), ms); });
  try {
    return await Promise.race([Promise.resolve().then(fn), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function rewardName(fn: RewardFn): string {
  if (typeof fn === 'function') return fn.name || 'reward function';
  return fn.name ?? (isRewardModule(fn) ? 'reward module' : 'batch reward function');
}

function snippet(s: Sample): string {
  const p = typeof s.prompt === 'string' ? s.prompt : '';
  return JSON.stringify(p.length > 60 ? p.slice(0, 57) + '...' : p);
}

function failure(fn: RewardFn, i: number, sample: Sample, what: string, cause?: unknown): RewardError {
  return new RewardError(`${rewardName(fn)} ${what} on sample ${i} (prompt ${snippet(sample)})`, i, sample, cause);
}

function checkValue(fn: RewardFn, v: unknown, i: number, sample: Sample): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw failure(fn, i, sample, `returned ${typeof v === 'number' ? String(v) : `a ${typeof v}`} instead of a finite number`);
  }
  return v;
}

/** Score every sample with `fn`; results come back in input order. */
export async function scoreSamples(fn: RewardFn, samples: Sample[], opts: ScoreOptions = {}): Promise<number[]> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Array.isArray(samples)) throw new TypeError('scoreSamples: samples must be an array');
  if (!(timeoutMs > 0)) throw new RangeError(`scoreSamples: opts.timeoutMs must be > 0, got ${timeoutMs}`);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`scoreSamples: opts.concurrency must be a positive integer, got ${concurrency}`);
  }
  if (typeof fn !== 'function' && !isRewardModule(fn) && (typeof fn !== 'object' || fn === null || typeof fn.batch !== 'function')) {
    throw new TypeError('scoreSamples: fn must be a function, an object with a batch function, or a rewardModule()');
  }
  const workers = opts.pool?.size ?? opts.rewardWorkers ?? defaultRewardWorkers();
  if (!Number.isInteger(workers) || workers < 0) throw new RangeError(`scoreSamples: opts.rewardWorkers must be a non-negative integer, got ${workers}`);
  if (samples.length === 0) return [];
  opts.signal?.throwIfAborted();
  if (workers === 0 || runsInProcess(fn)) {
    const local = isRewardModule(fn) ? await importRewardModule(fn) : fn;
    return typeof local === 'function' ? scoreEach(local, samples, timeoutMs, concurrency, opts.signal) : scoreBatch(local, samples, timeoutMs);
  }
  return scoreInPool(fn, samples, opts.pool ?? sharedRewardPool(workers), timeoutMs, concurrency, opts.signal);
}

/** A stand-in whose typeof is `type`: checkValue only looks at the kind of a non-number a worker reported. */
function valueOfType(type: string): unknown {
  const examples: Record<string, unknown> = { string: '', boolean: false, undefined, null: null, object: {}, function: () => {}, bigint: 0n, symbol: Symbol('value') };
  return examples[type];
}

function decode(w: WireValues): unknown[] {
  const out: unknown[] = w.values.slice();
  for (const [i, type] of w.nonNumbers) out[i] = valueOfType(type);
  return out;
}

async function scoreInPool(
  fn: RewardFn, samples: Sample[], pool: RewardPool, timeoutMs: number, concurrency: number, signal?: AbortSignal,
): Promise<number[]> {
  const spec = rewardSpec(fn);
  const call = { timeoutMs, concurrency, ...(signal ? { signal } : {}) };
  const batch = (await pool.shapeOf(spec)) === 'batch';
  try {
    const out = batch ? await pool.scoreBatch(spec, samples, call) : await pool.scoreEach(spec, samples, call);
    if ('notArray' in out) return checkBatchShape(fn, valueOfType(out.notArray), samples);
    return checkBatchShape(fn, decode(out), samples);
  } catch (e) {
    if (!(e instanceof SampleFailure)) throw e;
    const i = e.index;
    const whole = batch ? ` (whole batch of ${samples.length})` : '';
    if (e.reason === 'timeout') throw failure(fn, batch ? 0 : i, samples[i]!, `timed out after ${timeoutMs} ms${whole}`);
    if (e.undefinedName !== undefined && spec.kind === 'source') {
      throw failure(fn, i, samples[i]!, `failed: it ${capturedStateMessage(e.undefinedName)}`, e.error);
    }
    throw failure(fn, i, samples[i]!, `threw: ${e.error?.message ?? 'an error'}${whole}`, e.error);
  }
}

/** A batch's values: one finite number per sample (per-sample results always have the right length). */
function checkBatchShape(fn: RewardFn, out: unknown, samples: Sample[]): number[] {
  if (!Array.isArray(out) || out.length !== samples.length) {
    const got = Array.isArray(out) ? `${out.length} values` : `a ${typeof out}`;
    throw failure(fn, 0, samples[0]!, `returned ${got} for a batch of ${samples.length}`);
  }
  return out.map((v, i) => checkValue(fn, v, i, samples[i]!));
}

async function scoreBatch(fn: BatchRewardFn, samples: Sample[], timeoutMs: number): Promise<number[]> {
  let out: unknown;
  try {
    out = await withTimeout(() => fn.batch(samples), timeoutMs);
  } catch (e) {
    // A batch function that already names its culprit (a session's controller reward passing on the client's
    // per-sample failure) is reported as it is, with that sample's index.
    if (e instanceof RewardError) throw e;
    const what = e instanceof Timeout ? `timed out after ${timeoutMs} ms` : `threw: ${e instanceof Error ? e.message : String(e)}`;
    // A batch failure has no single culprit; it is reported on the first sample of the batch.
    throw failure(fn, 0, samples[0]!, `${what} (whole batch of ${samples.length})`, e instanceof Timeout ? undefined : e);
  }
  return checkBatchShape(fn, out, samples);
}

async function scoreEach(
  fn: (sample: Sample) => number | Promise<number>, samples: Sample[], timeoutMs: number, concurrency: number, signal?: AbortSignal,
): Promise<number[]> {
  const results = new Array<number>(samples.length);
  let next = 0;
  let failed = false;
  // A pool of workers, each taking the next unscored index; the first failure stops new work.
  const worker = async (): Promise<void> => {
    while (!failed && next < samples.length) {
      signal?.throwIfAborted();
      const i = next++;
      const sample = samples[i]!;
      let v: unknown;
      try {
        v = await withTimeout(() => fn(sample), timeoutMs);
      } catch (e) {
        failed = true;
        if (e instanceof Timeout) throw failure(fn, i, sample, `timed out after ${timeoutMs} ms`);
        throw failure(fn, i, sample, `threw: ${e instanceof Error ? e.message : String(e)}`, e);
      }
      try {
        results[i] = checkValue(fn, v, i, sample);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, samples.length) }, worker));
  return results;
}
