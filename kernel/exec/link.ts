// The main thread's side of the bridge: everything it sends to the client goes through here as plain
// objects (the protocol worker signs and sends them).

import type { MessagePort, Worker } from 'node:worker_threads';
import type { Outgoing, ToWorker } from '../protocol/bridge.ts';
import { replyType } from '../protocol/message.ts';
import type { JupyterMessage, MessageHeader } from '../protocol/wire.ts';
import { jsonSafe } from '../json-safe.ts';

export class KernelLink {
  constructor(readonly port: Worker | MessagePort) {}

  #post(m: ToWorker): void {
    this.port.postMessage(m);
  }

  send(out: Outgoing): void {
    this.#post({ kind: 'send', out: { ...out, content: jsonSafe(out.content) } });
  }

  publish(msgType: string, content: unknown, parent: Partial<MessageHeader> | null, metadata?: Record<string, unknown>): void {
    this.send({ channel: 'iopub', msgType, content, parent, ...(metadata ? { metadata: jsonSafe(metadata) as Record<string, unknown> } : {}) });
  }

  status(state: 'busy' | 'idle', parent: Partial<MessageHeader>): void {
    this.publish('status', { execution_state: state }, parent);
  }

  reply(request: JupyterMessage, content: Record<string, unknown>, metadata?: Record<string, unknown>): void {
    this.send({
      channel: 'shell', msgType: replyType(request.header.msg_type), content, parent: request.header,
      identities: request.identities, ...(metadata ? { metadata } : {}),
    });
  }

  stream(name: 'stdout' | 'stderr', text: string, parent: Partial<MessageHeader> | null): void {
    this.#post({ kind: 'stream', name, text, parent });
  }

  kernelInfo(content: Record<string, unknown>): void {
    this.#post({ kind: 'kernelInfo', content });
  }

  /** Tells the worker a shell request is done, so it may answer kernel_info itself while none is pending here. */
  shellDone(): void {
    this.#post({ kind: 'shellDone' });
  }
}
