// The protocol worker thread: owns every zeromq socket, so heartbeat, interrupt and shutdown are answered
// even while the main thread is blocked in a cell. Shell requests go to the main thread in arrival order;
// what the main thread wants sent comes back as plain objects which this thread signs and sends.

import { workerData } from 'node:worker_threads';
import { randomUUID } from 'node:crypto';
import { Session } from 'node:inspector';
import { Publisher, Reply, Router } from 'zeromq';
import { cancelInput, COOPERATIVE_GRACE_MS, deliverInput, Slot, type ToMain, type ToWorker, type WorkerData } from './bridge.ts';
import { endpoint } from './connection.ts';
import { MessageFactory } from './message.ts';
import { logToStderr, Outbox } from './outbox.ts';
import { parseMessage, Signer, WireError, type JupyterMessage } from './wire.ts';

/** How long the main thread has to notice an interrupt before its execution is terminated from here
 *  (COOPERATIVE_GRACE_MS instead for a cell that watches its AbortSignal). */
const INTERRUPT_GRACE_MS = 500;
const INTERRUPT_POLL_MS = 100;
/** After shutdown_request: terminate a blocked main thread after this long, kill the process after twice that. */
const SHUTDOWN_GRACE_MS = 1500;
/** Keep unsent replies this long when sockets close (the shutdown_reply must reach the client). */
const LINGER_MS = 1000;

const data = workerData as WorkerData;
const port = data.port;
const control = new Int32Array(data.control);
const stdinBytes = new Uint8Array(data.stdin);
let kernelInfo = data.kernelInfo;

const signer = new Signer(data.connection.key, data.connection.signature_scheme);
const factory = new MessageFactory();
const kernelId = data.connection.kernel_name ? `${data.connection.kernel_name}-${randomUUID()}` : randomUUID();

const shell = new Router({ linger: LINGER_MS });
const controlSocket = new Router({ linger: LINGER_MS });
const stdin = new Router({ linger: LINGER_MS });
const iopub = new Publisher({ linger: LINGER_MS });
const heartbeat = new Reply({ linger: 0 });
const outbox = new Outbox(factory, signer, kernelId, { shell, control: controlSocket, stdin, iopub });

// Connected once, used only to stop a main thread stuck in code that never checks the interrupt flag.
const mainInspector = new Session();
mainInspector.connectToMainThread();

function toMain(m: ToMain): void {
  port.postMessage(m);
}

function terminateMainExecution(why: string): void {
  logToStderr(`${why}: terminating the main thread's current execution`);
  mainInspector.post('Runtime.terminateExecution', (err) => {
    if (err) logToStderr(`Runtime.terminateExecution failed: ${err.message}`);
  });
}

let lastInterrupted = 0;
function interrupt(): void {
  const running = Atomics.load(control, Slot.RUNNING);
  if (running === 0) return; // nothing runs: an interrupt of an idle kernel does nothing
  // A cell that watches its AbortSignal (trainer.run()) may be inside a long synchronous step: give it time to
  // reach its next check, unless this is the second interrupt of the same execution (the user insists).
  const repeated = lastInterrupted === running;
  lastInterrupted = running;
  const grace = !repeated && Atomics.load(control, Slot.COOPERATIVE) === 1 ? COOPERATIVE_GRACE_MS : INTERRUPT_GRACE_MS;
  Atomics.store(control, Slot.ACK, 0);
  Atomics.store(control, Slot.INTERRUPT, running);
  cancelInput(control);
  toMain({ kind: 'interrupt' });
  const fallback = (): void => {
    if (Atomics.load(control, Slot.RUNNING) !== running || Atomics.load(control, Slot.ACK) !== 0) return;
    // Still compiling or type-checking the cell: the main thread checks the flag before running it.
    if (Atomics.load(control, Slot.IN_USER_CODE) === 0) setTimeout(fallback, INTERRUPT_POLL_MS);
    else terminateMainExecution(`execution ${running} did not notice the interrupt within ${grace} ms`);
  };
  setTimeout(fallback, grace);
}

let shuttingDown = false;
async function shutdown(restart: boolean): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  await outbox.drained();
  outbox.close();
  for (const s of [shell, controlSocket, stdin, iopub, heartbeat]) s.close();
  cancelInput(control); // a cell waiting in input() wakes up and the main thread can read the shutdown
  toMain({ kind: 'shutdown', restart });
  // The main thread exits the process when it reads that; if it is blocked, unblock it, then insist.
  setTimeout(() => {
    terminateMainExecution('shutdown: main thread busy');
  }, SHUTDOWN_GRACE_MS).unref();
  setTimeout(() => mainInspector.disconnect(), SHUTDOWN_GRACE_MS + 200).unref();
  setTimeout(() => process.kill(process.pid, 'SIGKILL'), 2 * SHUTDOWN_GRACE_MS).unref();
}

/** Shell requests handed to the main thread and not finished there yet ('shellDone' counts them down). */
let shellAtMain = 0;

/** Requests the worker answers itself, on whichever channel they arrive (with busy/idle around them). */
async function answerHere(channel: 'shell' | 'control', msg: JupyterMessage): Promise<boolean> {
  const type = msg.header.msg_type;
  if (type !== 'kernel_info_request' && type !== 'interrupt_request' && type !== 'shutdown_request') return false;
  // On shell, kernel_info stays in order with the cells: answered here only when nothing is ahead of it at
  // the main thread. That is always the case for the client's first request, which so gets its reply while
  // the main thread still loads the compiler (jupyter_client re-sends kernel_info after 1 s without one).
  if (channel === 'shell' && type === 'interrupt_request') return false;
  if (channel === 'shell' && type === 'kernel_info_request' && shellAtMain > 0) return false;
  await outbox.status('busy', msg.header);
  if (type === 'kernel_info_request') {
    await outbox.sendOn(channel, factory.reply(msg, kernelInfo));
  } else if (type === 'interrupt_request') {
    interrupt();
    await outbox.sendOn(channel, factory.reply(msg, { status: 'ok' }));
  } else {
    const restart = msg.content['restart'] === true;
    await outbox.sendOn(channel, factory.reply(msg, { status: 'ok', restart }));
  }
  await outbox.status('idle', msg.header);
  if (type === 'shutdown_request') await shutdown(msg.content['restart'] === true);
  return true;
}

function parseOrLog(channel: string, frames: Buffer[]): JupyterMessage | null {
  try {
    return parseMessage(frames, signer);
  } catch (e) {
    if (e instanceof WireError) {
      logToStderr(`dropped a message on ${channel}: ${e.message}`);
      return null;
    }
    throw e;
  }
}

async function serveShell(): Promise<void> {
  for await (const frames of shell) {
    const msg = parseOrLog('shell', frames);
    if (!msg) continue;
    if (await answerHere('shell', msg)) continue;
    shellAtMain++;
    toMain({ kind: 'request', msg });
  }
}

async function serveControl(): Promise<void> {
  for await (const frames of controlSocket) {
    const msg = parseOrLog('control', frames);
    if (!msg) continue;
    if (await answerHere('control', msg)) continue;
    logToStderr(`control: unsupported request ${msg.header.msg_type}`);
    // Still answer, so a client waiting on the reply is not left hanging.
    await outbox.status('busy', msg.header);
    await outbox.sendOn('control', factory.reply(msg, { status: 'error', ename: 'UnsupportedRequest', evalue: msg.header.msg_type, traceback: [] }));
    await outbox.status('idle', msg.header);
  }
}

async function serveStdin(): Promise<void> {
  for await (const frames of stdin) {
    const msg = parseOrLog('stdin', frames);
    if (!msg) continue;
    if (msg.header.msg_type !== 'input_reply') {
      logToStderr(`stdin: unexpected ${msg.header.msg_type}`);
      continue;
    }
    const value = typeof msg.content['value'] === 'string' ? msg.content['value'] : '';
    if (!deliverInput(control, stdinBytes, value)) logToStderr('stdin: input_reply but no input() is waiting');
  }
}

async function serveHeartbeat(): Promise<void> {
  for await (const frames of heartbeat) await heartbeat.send(frames);
}

port.on('message', (m: ToWorker) => {
  switch (m.kind) {
    case 'send': void outbox.deliver(m.out); break;
    case 'stream': outbox.stream(m.name, m.text, m.parent); break;
    case 'kernelInfo': kernelInfo = m.content; break;
    case 'shellDone': shellAtMain--; break;
  }
});

function closedQuietly(e: unknown): void {
  // Sockets closed at shutdown end their receive loops with an error; anything else is worth a log line.
  if (!shuttingDown) logToStderr(`socket loop ended: ${(e as Error).message}`);
}

const info = data.connection;
await Promise.all([
  shell.bind(endpoint(info, 'shell')), controlSocket.bind(endpoint(info, 'control')), stdin.bind(endpoint(info, 'stdin')),
  iopub.bind(endpoint(info, 'iopub')), heartbeat.bind(endpoint(info, 'hb')),
]);
for (const loop of [serveShell, serveControl, serveStdin, serveHeartbeat]) loop().catch(closedQuietly);
await outbox.status("starting", null);
Atomics.store(control, Slot.SOCKETS_BOUND, 1);
Atomics.notify(control, Slot.SOCKETS_BOUND);
toMain({ kind: 'ready' });
