// The main thread's half of interrupts. An execution is "running" between start() and end(); the worker
// marks an interrupt for the running execution in shared memory, and four things notice it:
//  - the check call the cell compiler puts at the top of every loop body (stops sync and async loops),
//  - this thread's event loop (the 'interrupt' message: aborts the cell's AbortSignal and ends a cell that
//    awaits something that never settles),
//  - neither within 500 ms: the worker terminates the execution through the inspector,
//  - after the interrupted execution ended, its async context is abandoned (cell-context.ts): timers,
//    promise callbacks and loops it left behind stop at their next check instead of running on.
// Code that watches the cell's AbortSignal (trainer.run() checks it at step boundaries) is "cooperative": it
// gets time to stop cleanly instead of being abandoned mid-step; a second interrupt ends the cell at once.

import { getEventListeners } from 'node:events';
import { Slot } from '../protocol/bridge.ts';
import { abandon, currentExecution, defineHidden, installCellContext, inAbandonedExecution, runInExecution, type ExecutionContext } from './cell-context.ts';
import { Interrupted } from './interrupted.ts';

export { Interrupted } from './interrupted.ts';

const CHECK_NAME = '__orz_interrupt_check';
/** The expression compiled cells call at the top of every loop body (a plain global name, see cell-context.ts). */
export const INTERRUPT_CHECK_EXPRESSION = `${CHECK_NAME}()`;

export class InterruptState {
  readonly #control: Int32Array;
  #nextId = 1;
  #controller: AbortController | null = null;
  #onInterrupt: ((how: InterruptDelivery) => void) | null = null;
  #observed = false;
  #deliveries = 0;
  #context: ExecutionContext | null = null;
  /** The running execution saw an interrupt (delivered, or thrown by a check): it is abandoned when it ends. */
  #hit = false;

  constructor(control: SharedArrayBuffer) {
    this.#control = new Int32Array(control);
    defineHidden(CHECK_NAME, () => this.check());
    installCellContext();
  }

  /** Marks a new execution as running; `onInterrupt` runs each time this thread's event loop gets an interrupt. */
  start(onInterrupt: (how: InterruptDelivery) => void): AbortSignal {
    const id = this.#nextId++;
    Atomics.store(this.#control, Slot.INTERRUPT, 0);
    Atomics.store(this.#control, Slot.ACK, 0);
    Atomics.store(this.#control, Slot.IN_USER_CODE, 0);
    Atomics.store(this.#control, Slot.COOPERATIVE, 0);
    Atomics.store(this.#control, Slot.RUNNING, id);
    this.#controller = new AbortController();
    this.#onInterrupt = onInterrupt;
    this.#observed = false;
    this.#deliveries = 0;
    this.#hit = false;
    this.#context = { id, abandoned: false };
    return this.#watched(this.#controller.signal);
  }

  /** Forget reads of the signal so far (the kernel's own checks when handing it to the ambient host do not count). */
  watchFromNow(): void {
    this.#observed = false;
    Atomics.store(this.#control, Slot.COOPERATIVE, 0);
  }

  /** The signal, noting whether anyone reads `aborted` / calls throwIfAborted (polling leaves no listener to see). */
  #watched(signal: AbortSignal): AbortSignal {
    const note = (): void => {
      if (this.#observed) return;
      this.#observed = true;
      Atomics.store(this.#control, Slot.COOPERATIVE, 1); // the worker waits longer before forcing a stop
    };
    const aborted = Object.getOwnPropertyDescriptor(AbortSignal.prototype, 'aborted')!.get!;
    Object.defineProperty(signal, 'aborted', { configurable: true, get() { note(); return aborted.call(this); } });
    const throwIfAborted = AbortSignal.prototype.throwIfAborted;
    Object.defineProperty(signal, 'throwIfAborted', { configurable: true, writable: true, value() { note(); return throwIfAborted.call(this); } });
    return signal;
  }

  /** Brackets the evaluation of the cell: only then may the worker terminate a main thread that ignores interrupts. */
  userCode(inside: boolean): void {
    Atomics.store(this.#control, Slot.IN_USER_CODE, inside ? 1 : 0);
  }

  /** Runs `fn` (the synchronous start of the cell's evaluation) in the running execution's async context. */
  runInCell<T>(fn: () => T): T {
    if (!this.#context) return fn();
    return runInExecution(this.#context, fn);
  }

  /** The cell ended interrupted in a way this state did not see itself (SIGINT caught by breakOnSigint). */
  noteInterrupted(): void {
    this.#hit = true;
  }

  /** For an interrupt that arrived before the cell started running (while it compiled): acknowledges it. */
  takeEarly(): boolean {
    if (!this.requested) return false;
    Atomics.store(this.#control, Slot.ACK, 1);
    this.#hit = true;
    return true;
  }

  /** Ends the running execution; if it was interrupted, everything it left running is abandoned. */
  end(): void {
    if (this.#context && (this.#hit || this.requested)) abandon(this.#context);
    this.#context = null;
    Atomics.store(this.#control, Slot.IN_USER_CODE, 0);
    Atomics.store(this.#control, Slot.RUNNING, 0);
    Atomics.store(this.#control, Slot.INTERRUPT, 0);
    this.#controller = null;
    this.#onInterrupt = null;
  }

  get requested(): boolean {
    const i = Atomics.load(this.#control, Slot.INTERRUPT);
    return i !== 0 && i === Atomics.load(this.#control, Slot.RUNNING);
  }

  /**
   * The loop check, cheap when nothing happened: throws in leftovers of an abandoned execution, and in the
   * running execution once an interrupt is requested for it (not in code another, live cell started).
   */
  check(): void {
    if (inAbandonedExecution()) throw new Interrupted({ abandoned: true });
    if (Atomics.load(this.#control, Slot.INTERRUPT) === 0) return;
    if (!this.requested) return;
    const context = currentExecution();
    if (context !== undefined && context.id !== Atomics.load(this.#control, Slot.RUNNING)) return;
    Atomics.store(this.#control, Slot.ACK, 1);
    this.#hit = true;
    throw new Interrupted();
  }

  /** The event loop got the interrupt (from the worker, or SIGINT): abort the running execution. */
  deliver(fromSignal = false): void {
    if (fromSignal) {
      // SIGINT bypasses the worker: mark the interrupt here.
      const running = Atomics.load(this.#control, Slot.RUNNING);
      if (running === 0) return;
      Atomics.store(this.#control, Slot.INTERRUPT, running);
    }
    if (!this.requested || !this.#controller) return;
    Atomics.store(this.#control, Slot.ACK, 1);
    this.#hit = true;
    const signal = this.#controller.signal;
    const cooperative = this.#observed || getEventListeners(signal, 'abort').length > 0;
    this.#controller.abort(new Interrupted());
    this.#onInterrupt?.({ repeated: this.#deliveries++ > 0, cooperative });
  }
}

export interface InterruptDelivery {
  /** Not the first interrupt of this execution: the user insists. */
  repeated: boolean;
  /** Something in the cell watches its AbortSignal, so it will probably stop by itself. */
  cooperative: boolean;
}
