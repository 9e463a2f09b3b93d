// Starting the protocol worker. The kernel runs TypeScript through tsx, whose loader hooks (registered on the
// main thread by bin/orz.js) do not reach worker threads, so the worker's entry is a two-line JavaScript
// bootstrap that registers tsx there too and then imports worker.ts.

import { Worker } from 'node:worker_threads';
import type { WorkerData } from './bridge.ts';

export function startProtocolWorker(data: WorkerData): Worker {
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./worker.ts', import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
  // stdout/stderr: the worker logs with writeSync(2); its process.stdout must not pass through the main
  // thread's (patched, notebook-bound) streams.
  return new Worker(bootstrap, { eval: true, workerData: data, transferList: [data.port], stdout: true, stderr: true, name: 'orz-kernel-protocol' });
}
