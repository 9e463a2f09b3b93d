// The kernel process: the protocol worker owns the sockets, this (main) thread runs the cells.
// Started by Jupyter through kernel.json: orz kernel run --connection-file <file>.

import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { inspect } from 'node:util';
import { createSharedState, type ToMain } from './protocol/bridge.ts';
import { readConnectionFile } from './protocol/connection.ts';
import { logToStderr } from './protocol/outbox.ts';
import { startProtocolWorker } from './protocol/start-worker.ts';
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

/** Runs the kernel until a shutdown_request (or the worker dies); never returns normally. */
export async function runKernel(connectionFile: string): Promise<void> {
  const connection = readConnectionFile(connectionFile);
  // Jupyter starts kernels in the notebook's directory: imports and require resolve from there.
  const baseDir = process.cwd();
  const shared = createSharedState();
  const channel = new MessageChannel();
  let backend = currentBackend();
  const worker = startProtocolWorker({ port: channel.port2, connection, ...shared, kernelInfo: kernelInfoContent(backend) });

  const link = new KernelLink(channel.port1);
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
      for (let m = receiveMessageOnPort(channel.port1); m; m = receiveMessageOnPort(channel.port1)) onMessage(m.message as ToMain);
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
  channel.port1.on('message', onMessage);
  await new Promise<never>(() => {}); // the port keeps the process alive; process.exit ends it
}
