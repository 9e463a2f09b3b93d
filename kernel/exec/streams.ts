// process.stdout / process.stderr (and so console.*) of a kernel belong to the notebook: their writes become
// stream messages on iopub, attributed to the execute_request that is running (or ran last, for output
// of timers and promises that outlive their cell, as ipykernel does).

import { StringDecoder } from 'node:string_decoder';
import type { MessageHeader } from '../protocol/wire.ts';
import type { KernelLink } from './link.ts';

type WriteCallback = (err?: Error | null) => void;

export class StreamCapture {
  parent: Partial<MessageHeader> | null = null;
  readonly #decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };

  constructor(readonly link: KernelLink) {}

  install(): void {
    for (const name of ['stdout', 'stderr'] as const) {
      const stream = process[name];
      const decoder = this.#decoders[name];
      stream.write = ((chunk: unknown, encodingOrCb?: BufferEncoding | WriteCallback, cb?: WriteCallback): boolean => {
        const callback = typeof encodingOrCb === 'function' ? encodingOrCb : cb;
        const encoding = typeof encodingOrCb === 'string' ? encodingOrCb : 'utf8';
        const text = typeof chunk === 'string'
          ? (encoding === 'utf8' || encoding === 'utf-8' ? chunk : Buffer.from(chunk, encoding).toString('utf8'))
          : decoder.write(Buffer.from(chunk as Uint8Array));
        if (text) this.link.stream(name, text, this.parent);
        if (callback) queueMicrotask(() => callback(null));
        return true;
      }) as typeof stream.write;
    }
  }

  /** Writes to the notebook's stderr stream on behalf of the kernel (type warnings). */
  warn(text: string): void {
    this.link.stream('stderr', text, this.parent);
  }
}
