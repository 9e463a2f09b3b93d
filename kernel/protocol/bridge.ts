// What the protocol worker and the main thread say to each other, and the shared memory they use for the
// two things that must work while the main thread is blocked: interrupt flags and input() replies.

import type { JupyterMessage, MessageHeader } from './wire.ts';
import type { MessagePort } from 'node:worker_threads';
import type { ConnectionInfo } from './connection.ts';

/** A message the worker should sign and send; `parent` is the request's header. */
export interface Outgoing {
  channel: 'shell' | 'iopub' | 'stdin';
  msgType: string;
  content: unknown;
  parent: Partial<MessageHeader> | null;
  identities?: Uint8Array[];
  metadata?: Record<string, unknown>;
  buffers?: Uint8Array[];
}

export type ToMain =
  | { kind: 'ready' }
  | { kind: 'request'; msg: JupyterMessage }          // shell channel, in arrival order
  | { kind: 'interrupt' }
  | { kind: 'shutdown'; restart: boolean };

export type ToWorker =
  | { kind: 'send'; out: Outgoing }
  /** stdout/stderr text of a cell; the worker coalesces consecutive chunks into few stream messages. */
  | { kind: 'stream'; name: 'stdout' | 'stderr'; text: string; parent: Partial<MessageHeader> | null }
  /** The kernel_info_reply content (the banner changes once a tensor backend is chosen). */
  | { kind: 'kernelInfo'; content: Record<string, unknown> }
  /** One shell request the worker handed over is finished (answered, aborted or handled without a reply). */
  | { kind: 'shellDone' };

export interface WorkerData {
  /** The worker's end of the channel to the main thread (a MessagePort, so the main thread can drain it synchronously). */
  port: MessagePort;
  connection: ConnectionInfo;
  control: SharedArrayBuffer;
  stdin: SharedArrayBuffer;
  kernelInfo: Record<string, unknown>;
}

// Slots of the Int32Array over `control`.
export const Slot = {
  /** Id of the execution the main thread is running, 0 when none. */
  RUNNING: 0,
  /** Id of the execution an interrupt was requested for (0 = none); compared with RUNNING so a late interrupt never hits the next cell. */
  INTERRUPT: 1,
  /** 1 once the main thread noticed the interrupt (loop check or event loop); otherwise the worker terminates execution. */
  ACK: 2,
  /** input() handshake, see StdinState. */
  STDIN_STATE: 3,
  /** Byte length of the reply in the stdin buffer. */
  STDIN_LENGTH: 4,
  /** 1 while the running execution is in user code (evaluating the cell); 0 in the kernel's own code around it,
   *  which must never be terminated from outside (it would leave the kernel without a reply to send). */
  IN_USER_CODE: 5,
  /** 1 once the running cell's code read its AbortSignal: it stops by itself at its next check (trainer.run()
   *  at a step boundary), so it gets COOPERATIVE_GRACE_MS before anything is forced. */
  COOPERATIVE: 6,
  /** 1 once the worker bound its sockets (the main thread holds back its heavy imports until then). */
  SOCKETS_BOUND: 7,
} as const;

/** Longest the main thread waits for SOCKETS_BOUND before loading the cell runner anyway. */
export const SOCKETS_BOUND_WAIT_MS = 3000;

/** How long an interrupted cell that watches its AbortSignal may take to stop by itself (finish a PPO step). */
export const COOPERATIVE_GRACE_MS = 30_000;
export const CONTROL_SLOTS = 8;

export const StdinState = { IDLE: 0, WAITING: 1, REPLIED: 2, CANCELLED: 3 } as const;

/** Bytes available for one input() reply; longer replies are cut (and the cut is reported). */
export const STDIN_CAPACITY = 1 << 20;

export function createSharedState(): { control: SharedArrayBuffer; stdin: SharedArrayBuffer } {
  return {
    control: new SharedArrayBuffer(CONTROL_SLOTS * Int32Array.BYTES_PER_ELEMENT),
    stdin: new SharedArrayBuffer(STDIN_CAPACITY),
  };
}

/** Worker side: hand an input_reply value to the main thread waiting in input(). Returns false if nobody waits. */
export function deliverInput(control: Int32Array, stdin: Uint8Array, value: string): boolean {
  if (Atomics.load(control, Slot.STDIN_STATE) !== StdinState.WAITING) return false;
  const bytes = Buffer.from(value, 'utf8');
  const n = Math.min(bytes.length, stdin.length);
  stdin.set(bytes.subarray(0, n));
  Atomics.store(control, Slot.STDIN_LENGTH, n);
  Atomics.store(control, Slot.STDIN_STATE, StdinState.REPLIED);
  Atomics.notify(control, Slot.STDIN_STATE);
  return true;
}

/** Worker side: wake a waiting input() because of an interrupt. */
export function cancelInput(control: Int32Array): void {
  if (Atomics.compareExchange(control, Slot.STDIN_STATE, StdinState.WAITING, StdinState.CANCELLED) === StdinState.WAITING) {
    Atomics.notify(control, Slot.STDIN_STATE);
  }
}
