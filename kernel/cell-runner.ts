// The main thread's cell runner: everything that executes, completes and inspects cells, wired to the
// protocol worker's port. Loaded by main.ts after the worker started (it imports TypeScript and the SDK).

import { receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import { inspect } from 'node:util';
import type { ToMain } from './protocol/bridge.ts';
import { logToStderr } from './protocol/outbox.ts';
import { isAbandonedInterrupt } from './exec/cell-context.ts';
import { CommManager } from './exec/comms.ts';
import { ShellDispatcher } from './exec/dispatcher.ts';
import { Displayer } from './exec/display.ts';
import { ReplEvaluator } from './exec/evaluate.ts';
import { Executor } from './exec/execute.ts';
import { installGlobals } from './exec/globals.ts';
import { History } from './exec/history.ts';
import { InterruptState } from './exec/interrupt.ts';
import { currentBackend, kernelInfoContent } from './exec/kernel-info.ts';
import { KernelLink } from './exec/link.ts';
import { CellLanguageService } from './exec/parts.ts';
import { StdinChannel } from './exec/stdin.ts';
import { StreamCapture } from './exec/streams.ts';
import { CellRegistry } from './exec/traceback.ts';

export interface CellRunnerStart {
  worker: Worker;
  /** The main thread's end of the channel to the worker. */
  port: MessagePort;
  shared: { control: SharedArrayBuffer; stdin: SharedArrayBuffer };
  /** The tensor backend the worker's kernel_info names. */
  backend: string | null;
}

/** Serves the worker's requests until shutdown; never returns normally (process.exit ends it). */
export async function runCells(start: CellRunnerStart): Promise<never> {
  const { worker, shared, port } = start;
  let backend = start.backend;
  // Jupyter starts kernels in the notebook's directory: imports and require resolve from there.
  const baseDir = process.cwd();

  const link = new KernelLink(port);
  const streams = new StreamCapture(link);
  const currentParent = () => streams.parent;
  const interrupt = new InterruptState(shared.control);
  const stdin = new StdinChannel(link, shared.control, shared.stdin);
  const displayer = new Displayer(link, currentParent);
  const comms = new CommManager(link, currentParent);
  const history = new History();
  const language = new CellLanguageService({ baseDir });
  const evaluator = new ReplEvaluator();
  const executor = new Executor({
    link, streams, evaluator, interrupt, stdin, displayer, history, cells: new CellRegistry(), language, baseDir,
  });
  installGlobals({ baseDir, displayer, stdin, comm: comms.api });

  const kernelInfo = (): Record<string, unknown> => {
    const now = currentBackend();
    if (now !== backend) {
      backend = now;
      link.kernelInfo(kernelInfoContent(backend)); // the worker answers kernel_info on control with it
    }
    return kernelInfoContent(backend);
  };

  let shuttingDown = false;
  const onMessage = (m: ToMain): void => {
    switch (m.kind) {
      case 'ready': break;
      case 'request': dispatcher.enqueue(m.msg); break;
      case 'interrupt': interrupt.deliver(); break;
      case 'shutdown':
        shuttingDown = true;
        evaluator.disconnect();
        // Restart too ends this process: the client's KernelManager starts a fresh one.
        setTimeout(() => process.exit(0), 500);
        void worker.terminate().finally(() => process.exit(0));
    }
  };
  const dispatcher = new ShellDispatcher({
    link, streams, executor, history, comms, language, kernelInfo,
    afterExecute: () => void kernelInfo(),
    drainPending: () => {
      for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) onMessage(m.message as ToMain);
    },
  });

  streams.install();
  process.on('SIGINT', () => interrupt.deliver(true));
  // Errors thrown later by work a cell started (timers, unawaited promises) must not kill the kernel.
  // An interrupted cell's leftovers stop by throwing Interrupted where nobody catches it: that is not news.
  process.on('uncaughtException', (e) => {
    if (!isAbandonedInterrupt(e)) process.stderr.write(`Uncaught exception (from earlier cell work): ${inspect(e)}\n`);
  });
  process.on('unhandledRejection', (e) => {
    if (!isAbandonedInterrupt(e)) process.stderr.write(`Unhandled promise rejection (from earlier cell work): ${inspect(e)}\n`);
  });
  worker.on('error', (e) => {
    logToStderr(`protocol worker failed: ${e.stack ?? e.message}`);
    process.exit(1);
  });
  worker.on('exit', (code) => {
    if (shuttingDown) return;
    logToStderr(`protocol worker exited (code ${code})`);
    process.exit(1);
  });
  port.on('message', onMessage);
  return new Promise<never>(() => {}); // the port keeps the process alive; process.exit ends it
}
