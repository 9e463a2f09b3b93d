// Sending on zeromq sockets from the worker: zeromq.js allows one pending send per socket, so sends are
// chained; stream text is coalesced (a cell printing in a tight loop makes a few messages, not thousands),
// and flushed before any other iopub message so output order is kept.

import type { Socket } from 'zeromq';
import { writeSync } from 'node:fs';
import type { Outgoing } from './bridge.ts';
import { iopubTopic, type MessageFactory } from './message.ts';
import { serializeMessage, type JupyterMessage, type MessageHeader, type Signer } from './wire.ts';

interface Sendable { send(frames: Buffer[]): Promise<void> }

export function logToStderr(text: string): void {
  // Straight to fd 2 (the Jupyter server's log): process.stderr in a kernel carries cell output to the notebook.
  try {
    writeSync(2, `orz kernel: ${text}\n`);
  } catch {
    // nowhere left to report
  }
}

class SocketQueue {
  #chain: Promise<void> = Promise.resolve();
  closed = false;
  constructor(readonly name: string, readonly socket: Sendable) {}

  push(frames: Buffer[]): Promise<void> {
    if (this.closed) return this.#chain; // shutting down: late messages (a cell's last output) have nowhere to go
    this.#chain = this.#chain
      .then(() => this.socket.send(frames))
      .catch((e: unknown) => logToStderr(`send on ${this.name} failed: ${(e as Error).message}`));
    return this.#chain;
  }

  drained(): Promise<void> {
    return this.#chain;
  }
}

const STREAM_FLUSH_MS = 20;

export class Outbox {
  readonly #queues: Record<'shell' | 'control' | 'stdin' | 'iopub', SocketQueue>;
  #pending: { name: 'stdout' | 'stderr'; text: string; parent: Partial<MessageHeader> | null } | null = null;
  #timer: NodeJS.Timeout | null = null;

  constructor(
    readonly factory: MessageFactory,
    readonly signer: Signer,
    readonly kernelId: string,
    sockets: { shell: Socket; control: Socket; stdin: Socket; iopub: Socket },
  ) {
    const q = (name: string, s: Socket) => new SocketQueue(name, s as unknown as Sendable);
    this.#queues = { shell: q('shell', sockets.shell), control: q('control', sockets.control), stdin: q('stdin', sockets.stdin), iopub: q('iopub', sockets.iopub) };
  }

  /** Sends a complete message on a ROUTER channel (replies carry their identities). */
  sendOn(channel: 'shell' | 'control' | 'stdin', msg: JupyterMessage<unknown>): Promise<void> {
    if (channel === 'stdin') this.flushStream();
    return this.#queues[channel].push(serializeMessage(msg, this.signer));
  }

  publish(msgType: string, content: unknown, parent: Partial<MessageHeader> | null, metadata?: Record<string, unknown>, buffers?: Uint8Array[]): Promise<void> {
    this.flushStream();
    return this.#publishNow(msgType, content, parent, metadata, buffers);
  }

  #publishNow(msgType: string, content: unknown, parent: Partial<MessageHeader> | null, metadata?: Record<string, unknown>, buffers?: Uint8Array[]): Promise<void> {
    const msg = this.factory.make(msgType, content, { parent, ...(metadata ? { metadata } : {}), ...(buffers ? { buffers } : {}) });
    return this.#queues.iopub.push([iopubTopic(this.kernelId, msgType), ...serializeMessage(msg, this.signer)]);
  }

  status(state: 'busy' | 'idle' | 'starting', parent: Partial<MessageHeader> | null): Promise<void> {
    return this.publish('status', { execution_state: state }, parent);
  }

  /** A message the main thread built. */
  deliver(out: Outgoing): Promise<void> {
    if (out.channel === 'iopub') return this.publish(out.msgType, out.content, out.parent, out.metadata, out.buffers);
    const msg = this.factory.make(out.msgType, out.content, {
      parent: out.parent, identities: out.identities ?? [],
      ...(out.metadata ? { metadata: out.metadata } : {}), ...(out.buffers ? { buffers: out.buffers } : {}),
    });
    // Shell replies may only leave after the outputs they follow: iopub first is guaranteed by the chain order
    // within iopub only, so flush coalesced stream text before the reply too.
    this.flushStream();
    return this.sendOn(out.channel, msg);
  }

  stream(name: 'stdout' | 'stderr', text: string, parent: Partial<MessageHeader> | null): void {
    const p = this.#pending;
    if (p && (p.name !== name || p.parent?.msg_id !== parent?.msg_id)) this.flushStream();
    if (this.#pending) this.#pending.text += text;
    else this.#pending = { name, text, parent };
    this.#timer ??= setTimeout(() => this.flushStream(), STREAM_FLUSH_MS);
  }

  flushStream(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    const p = this.#pending;
    this.#pending = null;
    if (p && p.text) void this.#publishNow('stream', { name: p.name, text: p.text }, p.parent);
  }

  async drained(): Promise<void> {
    this.flushStream();
    await Promise.all(Object.values(this.#queues).map((q) => q.drained()));
  }

  /** After this, sends are dropped silently (the sockets are about to close). */
  close(): void {
    for (const q of Object.values(this.#queues)) q.closed = true;
  }
}
