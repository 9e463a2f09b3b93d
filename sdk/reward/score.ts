// Running a reward function over samples: bounded concurrency, a timeout per call, and loud failures.
// A reward that throws, hangs or returns a non-number must stop training with the sample named,
// because a silent 0 would quietly teach the policy the wrong thing.

import type { RewardFn, Sample } from './types.ts';

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
  /** Per sample for a per-sample fn, per call for a batch fn. Default 10 s. */
  timeoutMs?: number;
  /** Per-sample calls in flight at once. Default 8. */
  concurrency?: number;
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
  return typeof fn === 'function' ? fn.name || 'reward function' : fn.name ?? 'batch reward function';
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
  if (typeof fn !== 'function' && (typeof fn !== 'object' || fn === null || typeof fn.batch !== 'function')) {
    throw new TypeError('scoreSamples: fn must be a function or an object with a batch function');
  }
  if (samples.length === 0) return [];
  return typeof fn === 'function' ? scoreEach(fn, samples, timeoutMs, concurrency) : scoreBatch(fn, samples, timeoutMs);
}

async function scoreBatch(fn: Exclude<RewardFn, Function>, samples: Sample[], timeoutMs: number): Promise<number[]> {
  let out: unknown;
  try {
    out = await withTimeout(() => fn.batch(samples), timeoutMs);
  } catch (e) {
    const what = e instanceof Timeout ? `timed out after ${timeoutMs} ms` : `threw: ${e instanceof Error ? e.message : String(e)}`;
    // A batch failure has no single culprit; it is reported on the first sample of the batch.
    throw failure(fn, 0, samples[0]!, `${what} (whole batch of ${samples.length})`, e instanceof Timeout ? undefined : e);
  }
  if (!Array.isArray(out) || out.length !== samples.length) {
    const got = Array.isArray(out) ? `${out.length} values` : `a ${typeof out}`;
    throw failure(fn, 0, samples[0]!, `returned ${got} for a batch of ${samples.length}`);
  }
  return out.map((v, i) => checkValue(fn, v, i, samples[i]!));
}

async function scoreEach(
  fn: (sample: Sample) => number | Promise<number>, samples: Sample[], timeoutMs: number, concurrency: number,
): Promise<number[]> {
  const results = new Array<number>(samples.length);
  let next = 0;
  let failed = false;
  // A pool of workers, each taking the next unscored index; the first failure stops new work.
  const worker = async (): Promise<void> => {
    while (!failed && next < samples.length) {
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
