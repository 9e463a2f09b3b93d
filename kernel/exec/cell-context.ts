// Which execution the code running right now belongs to, so an interrupted cell's leftovers can be stopped.
//
// Each execution evaluates its cell inside an AsyncLocalStorage store. Node propagates the store into
// everything the cell starts: code evaluated through node:inspector's Runtime.evaluate (called synchronously
// inside the store), await continuations, .then callbacks, timers, async functions called without await.
// When an interrupted execution ends, its store is marked abandoned; from then on the checks the cell
// compiler writes into the cell (function entry, after every await, loop bodies, catch/finally) throw
// Interrupted whenever they run in an abandoned store, and a timer whose cell callback stops that way clears
// itself (an interval does not fire again).
// A later cell calling a function declared in the interrupted cell runs in its own, live store, so state
// and functions stay usable. Why not a global "interrupted" flag: it cannot tell the abandoned cell's
// leftovers from a later cell calling the same functions.

import { AsyncLocalStorage } from 'node:async_hooks';
import { promisify } from 'node:util';
import { Interrupted } from './interrupted.ts';

export interface ExecutionContext {
  /** The execution's id (the RUNNING slot's value while it runs). */
  readonly id: number;
  /** Set once the execution was interrupted and ended: nothing it started may run cell code again. */
  abandoned: boolean;
}

const contexts = new AsyncLocalStorage<ExecutionContext>();
/** False until the first abandonment: until then the checks cost one global read. */
let anyAbandoned = false;

/**
 * Called with no argument: throws in an abandoned execution; called with a value (`f(await x)`): also returns it.
 * A plain global name, not globalThis[Symbol.for(...)]: V8 caches a global lookup but not Symbol.for (a loop
 * calling a one-line cell function 1e7 times, no-op checks: 316 ms behind Symbol.for, 25 ms as global names).
 */
export const LIVE_CHECK_FUNCTION = '__orz_live_check';

/** A global the compiled cells call: not enumerable (hidden from completions and Object.keys) and read-only. */
export function defineHidden(name: string, value: unknown): void {
  Object.defineProperty(globalThis, name, { value, enumerable: false, writable: false, configurable: true });
}

export function runInExecution<T>(context: ExecutionContext, fn: () => T): T {
  return contexts.run(context, fn);
}

export function currentExecution(): ExecutionContext | undefined {
  return contexts.getStore();
}

export function abandon(context: ExecutionContext): void {
  context.abandoned = true;
  anyAbandoned = true;
}

export function inAbandonedExecution(): boolean {
  return anyAbandoned && contexts.getStore()?.abandoned === true;
}

/** The compiled cell's live check (see LIVE_CHECK_FUNCTION). */
function liveCheck<T>(value?: T): T | undefined {
  if (anyAbandoned && contexts.getStore()?.abandoned === true) throw new Interrupted({ abandoned: true });
  return value;
}

/** An error that only says an abandoned cell was stopped: not worth reporting as uncaught. */
export function isAbandonedInterrupt(e: unknown): boolean {
  return e instanceof Interrupted && e.abandoned;
}

type AnyFunction = (...args: unknown[]) => unknown;
type Clear = (handle: unknown) => void;

/**
 * A timer function for cells: when a callback scheduled from a cell throws Interrupted because that cell was
 * abandoned (its live check at function entry), the timer clears itself (an interval stops) and nothing is
 * reported. The callback itself is still called: library code the cell started (a rollout yielding with
 * setImmediate) must reach its own AbortSignal check rather than freeze mid-step. Timers scheduled outside
 * any cell (the kernel's own) are left as they are.
 */
function guardedTimer<F extends AnyFunction>(original: F, clear: Clear): F {
  const guarded = function (this: unknown, callback: unknown, ...rest: unknown[]): unknown {
    const context = contexts.getStore();
    if (context === undefined || typeof callback !== 'function') return original.call(this, callback, ...rest);
    let handle: unknown;
    const body = function (this: unknown, ...args: unknown[]): unknown {
      try {
        return (callback as AnyFunction).apply(this, args);
      } catch (e) {
        if (!(context.abandoned && e instanceof Interrupted)) throw e;
        clear(handle);
        return undefined;
      }
    };
    handle = original.call(this, body, ...rest);
    return handle;
  };
  // util.promisify(setTimeout) and friends keep working through node's own promise versions.
  const custom = (original as { [promisify.custom]?: unknown })[promisify.custom];
  if (custom !== undefined) Object.defineProperty(guarded, promisify.custom, { value: custom });
  return guarded as unknown as F;
}

let installed = false;

/** Installs the live check and the guarded global timers; idempotent. */
export function installCellContext(): void {
  if (installed) return;
  installed = true;
  const g = globalThis as unknown as Record<PropertyKey, unknown>;
  defineHidden(LIVE_CHECK_FUNCTION, liveCheck);
  g['setTimeout'] = guardedTimer(globalThis.setTimeout as unknown as AnyFunction, (h) => clearTimeout(h as NodeJS.Timeout));
  g['setInterval'] = guardedTimer(globalThis.setInterval as unknown as AnyFunction, (h) => clearInterval(h as NodeJS.Timeout));
  g['setImmediate'] = guardedTimer(globalThis.setImmediate as unknown as AnyFunction, (h) => clearImmediate(h as NodeJS.Immediate));
}
