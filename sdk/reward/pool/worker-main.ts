// A reward worker: defines reward functions (by importing a module or re-evaluating shipped source) and runs
// jobs of samples through them. It never decides that a blocked call has run too long (it cannot, it is
// blocked): the pool watches PROGRESS and terminates it. Promise-level timeouts it does report itself.

import { parentPort, workerData } from 'node:worker_threads';
import { installCellHelpers } from './cell-helpers.ts';
import { moduleExports } from './module-exports.ts';
import { Slot, toWireError, wallMs, type FromWorker, type RewardSpec, type RewardWorkerData, type ToWorker, type WireValues } from './protocol.ts';

type EachFn = (sample: unknown) => unknown;
interface Defined { shape: 'each' | 'batch'; call: (arg: unknown) => unknown }

const port = parentPort!;
const { control, epochMs } = workerData as RewardWorkerData;
const slots = new Int32Array(control);
const defined = new Map<number, Defined>();

installCellHelpers();

function post(msg: FromWorker): void {
  port.postMessage(msg);
}

function markProgress(): void {
  Atomics.store(slots, Slot.PROGRESS, Math.round(wallMs() - epochMs));
}

/** Evaluates a function's source: an expression (arrow, function) or a method shorthand `batch(ss) {...}`. */
function evaluateSource(source: string): (...args: unknown[]) => unknown {
  const indirectEval = eval;
  let value: unknown;
  try {
    value = indirectEval(`(${source}\n)`);
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    const holder = indirectEval(`({${source}\n})`) as Record<string, unknown>;
    value = Object.values(holder)[0];
  }
  if (typeof value !== 'function') throw new TypeError(`the shipped source did not evaluate to a function (got ${typeof value})`);
  return value as (...args: unknown[]) => unknown;
}

async function define(spec: RewardSpec): Promise<Defined> {
  if (spec.kind === 'source') {
    const fn = evaluateSource(spec.source);
    return { shape: spec.shape, call: (arg) => fn(arg) };
  }
  const mod = moduleExports((await import(spec.url)) as Record<string, unknown>);
  if (!(spec.exportName in mod)) throw new Error(`${spec.url} has no export "${spec.exportName}" (it exports ${Object.keys(mod).join(', ') || 'nothing'})`);
  const exported = mod[spec.exportName];
  if (typeof exported === 'function') return { shape: 'each', call: (arg) => (exported as EachFn)(arg) };
  const batch = (exported as { batch?: unknown } | null)?.batch;
  if (typeof batch === 'function') return { shape: 'batch', call: (arg) => batch.call(exported, arg) };
  throw new TypeError(`export "${spec.exportName}" of ${spec.url} is neither a reward function nor an object with a batch function`);
}

class TimedOut {}

/** Runs one call; the sync part is flagged RUNNING_SYNC so a watchdog that finds the worker stuck can blame it. */
async function callOnce(d: Defined, arg: unknown, index: number, timeoutMs: number): Promise<unknown> {
  markProgress();
  Atomics.store(slots, Slot.LAST_STARTED, index);
  Atomics.store(slots, Slot.RUNNING_SYNC, index);
  let result: unknown;
  try {
    result = d.call(arg);
  } finally {
    Atomics.store(slots, Slot.RUNNING_SYNC, -1);
    markProgress();
  }
  if (typeof (result as PromiseLike<unknown> | null)?.then !== 'function') return result;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new TimedOut()), timeoutMs); });
  try {
    return await Promise.race([result, timeout]);
  } finally {
    clearTimeout(timer);
    markProgress();
  }
}

function encode(values: unknown[]): WireValues {
  const out: WireValues = { values: new Array<number>(values.length), nonNumbers: [] };
  values.forEach((v, i) => {
    if (typeof v === 'number') out.values[i] = v;
    else { out.values[i] = 0; out.nonNumbers.push([i, v === null ? 'null' : typeof v]); }
  });
  return out;
}

function failed(jobId: number, index: number, e: unknown): FromWorker {
  return e instanceof TimedOut
    ? { type: 'failed', jobId, index, reason: 'timeout' }
    : { type: 'failed', jobId, index, reason: 'threw', error: toWireError(e) };
}

async function runEach(msg: Extract<ToWorker, { type: 'each' }>, d: Defined): Promise<void> {
  const results = new Array<unknown>(msg.samples.length);
  let next = 0;
  let failure: FromWorker | null = null;
  const lane = async (): Promise<void> => {
    while (failure === null && next < msg.samples.length) {
      const i = next++;
      try {
        results[i] = await callOnce(d, msg.samples[i], i, msg.timeoutMs);
      } catch (e) {
        failure ??= failed(msg.jobId, i, e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(msg.concurrency, msg.samples.length) }, lane));
  post(failure ?? { type: 'result', jobId: msg.jobId, ...encode(results) });
}

async function runBatch(msg: Extract<ToWorker, { type: 'batch' }>, d: Defined): Promise<void> {
  let out: unknown;
  try {
    out = await callOnce(d, msg.samples, 0, msg.timeoutMs);
  } catch (e) {
    post(failed(msg.jobId, 0, e));
    return;
  }
  if (!Array.isArray(out)) post({ type: 'notArray', jobId: msg.jobId, gotType: out === null ? 'null' : typeof out });
  else post({ type: 'result', jobId: msg.jobId, ...encode(out) });
}

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'define') {
    define(msg.spec).then(
      (d) => { defined.set(msg.fnId, d); post({ type: 'defined', fnId: msg.fnId, shape: d.shape }); },
      (e: unknown) => post({ type: 'defineFailed', fnId: msg.fnId, error: toWireError(e) }),
    );
    return;
  }
  const d = defined.get(msg.fnId);
  if (!d) throw new Error(`reward worker: job ${msg.jobId} for undefined function ${msg.fnId}`);
  void (msg.type === 'each' ? runEach(msg, d) : runBatch(msg, d));
});

Atomics.store(slots, Slot.RUNNING_SYNC, -1);
post({ type: 'ready' });
