// The kernel process: the protocol worker owns the sockets, this (main) thread runs the cells.
// Started by Jupyter through kernel.json: orz kernel run --connection-file <file>.
//
// Start-up order matters: the worker is started before anything heavy loads, so it binds the sockets and
// answers the client's first kernel_info while this thread is still importing the cell runner (TypeScript
// alone takes a second or two to import). Requests that arrive meanwhile wait on the port.

import { MessageChannel } from 'node:worker_threads';
import { createSharedState, Slot, SOCKETS_BOUND_WAIT_MS } from './protocol/bridge.ts';
import { readConnectionFile } from './protocol/connection.ts';
import { startProtocolWorker } from './protocol/start-worker.ts';
import { currentBackend, kernelInfoContent } from './exec/kernel-info.ts';

/** Atomics.waitAsync (Node 16+) is typed only from lib ES2024 on; the project compiles against ES2023. */
interface AtomicsWithWaitAsync {
  waitAsync(array: Int32Array, index: number, value: number, timeoutMs: number): { async: false; value: string } | { async: true; value: Promise<string> };
}

/** Runs the kernel until a shutdown_request (or the worker dies); never returns normally. */
export async function runKernel(connectionFile: string): Promise<void> {
  const connection = readConnectionFile(connectionFile);
  const shared = createSharedState();
  const channel = new MessageChannel();
  const backend = currentBackend();
  const worker = startProtocolWorker({ port: channel.port2, connection, ...shared, kernelInfo: kernelInfoContent(backend) });
  // On a machine with few cores, importing TypeScript here would slow the worker's own start-up (and so the
  // first kernel_info reply) a lot: let it bind its sockets first.
  const control = new Int32Array(shared.control);
  const bound = (Atomics as unknown as AtomicsWithWaitAsync).waitAsync(control, Slot.SOCKETS_BOUND, 0, SOCKETS_BOUND_WAIT_MS);
  if (bound.async) await bound.value;
  const { runCells } = await import('./cell-runner.ts');
  await runCells({ worker, port: channel.port1, shared, backend });
}
