// Messages between the reward pool (main thread) and a reward worker, and the shared-memory slots the
// watchdog reads. Only plain data crosses: samples are structured-cloned, functions travel as source text.

/** How a worker gets hold of a reward: by importing a module, or by re-evaluating a function's source. */
export type RewardSpec =
  | { kind: 'module'; url: string; exportName: string }
  | { kind: 'source'; source: string; shape: 'each' | 'batch' };

/** An error as it crosses threads (an Error instance would lose its name and stack in the clone). */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
  /** Set for "x is not defined": the identifier, probably captured from the function's enclosing scope. */
  undefinedName?: string;
}

export type ToWorker =
  | { type: 'define'; fnId: number; spec: RewardSpec }
  | { type: 'each'; jobId: number; fnId: number; samples: unknown[]; timeoutMs: number; concurrency: number }
  | { type: 'batch'; jobId: number; fnId: number; samples: unknown[]; timeoutMs: number };

/**
 * Reward values as they come back: numbers as they are; anything else only by its typeof (it may not even be
 * cloneable), which is all the "returned a string instead of a number" error needs.
 */
export interface WireValues {
  values: number[];
  nonNumbers: Array<[index: number, type: string]>;
}

export type FromWorker =
  | { type: 'ready' }
  | { type: 'defined'; fnId: number; shape: 'each' | 'batch' }
  | { type: 'defineFailed'; fnId: number; error: WireError }
  | ({ type: 'result'; jobId: number } & WireValues)
  /** A batch call returned something other than an array. */
  | { type: 'notArray'; jobId: number; gotType: string }
  /** `index` is within the job's samples. */
  | { type: 'failed'; jobId: number; index: number; reason: 'threw' | 'timeout'; error?: WireError };

/**
 * Int32 slots in the SharedArrayBuffer each worker gets. PROGRESS is written by the worker whenever a call starts
 * or settles (and by the pool when it hands over a job); if it stands still for a whole timeout while the worker
 * has work, the worker is blocked. Times are ms since the pool's epoch (workerData.epochMs).
 */
export const Slot = { PROGRESS: 0, RUNNING_SYNC: 1, LAST_STARTED: 2, LENGTH: 3 } as const;

export interface RewardWorkerData {
  control: SharedArrayBuffer;
  epochMs: number;
}

/** Wall-clock ms on any thread (performance.now() alone is relative to each thread's own start). */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

export function toWireError(e: unknown): WireError {
  if (e instanceof Error) {
    const undefinedName = e.name === 'ReferenceError' ? /^(\S+) is not defined$/.exec(e.message)?.[1] : undefined;
    return { name: e.name, message: e.message, stack: e.stack, ...(undefinedName ? { undefinedName } : {}) };
  }
  return { name: 'Error', message: String(e) };
}

/** An Error standing for one raised in a worker (keeps its name, message and the worker's stack). */
export function fromWireError(w: WireError): Error {
  const e = new Error(w.message);
  e.name = w.name;
  if (w.stack) e.stack = w.stack;
  return e;
}
