// Comms: a message channel between kernel-side objects and front-end code (widgets and the like).
// Cells use the global `Jupyter.comm`:
//   Jupyter.comm.register('target', (comm, data, msg) => { comm.onMsg((d) => comm.send({ echo: d })) })
//   const c = new Jupyter.comm.Comm('target', { hello: 1 }); c.send({ x: 1 }); c.close();

import { randomUUID } from 'node:crypto';
import type { JupyterMessage, MessageHeader } from '../protocol/wire.ts';
import type { KernelLink } from './link.ts';

export type CommMsgHandler = (data: unknown, msg: JupyterMessage) => void | Promise<void>;
export type CommOpenHandler = (comm: Comm, data: unknown, msg: JupyterMessage) => void | Promise<void>;

export interface Comm {
  readonly id: string;
  readonly target: string;
  readonly closed: boolean;
  send(data?: unknown, metadata?: Record<string, unknown>): void;
  close(data?: unknown): void;
  onMsg(handler: CommMsgHandler): void;
  onClose(handler: CommMsgHandler): void;
}

export interface CommApi {
  register(target: string, handler: CommOpenHandler): void;
  unregister(target: string): void;
  /** `new Jupyter.comm.Comm(target, data?)` opens a comm from the kernel side (comm_open on iopub). */
  Comm: new (target: string, data?: unknown, metadata?: Record<string, unknown>) => Comm;
  /** Open comms by id. */
  readonly comms: ReadonlyMap<string, Comm>;
}

export class CommManager {
  readonly #targets = new Map<string, CommOpenHandler>();
  readonly #comms = new Map<string, CommImpl>();
  readonly api: CommApi;

  constructor(readonly link: KernelLink, readonly currentParent: () => Partial<MessageHeader> | null) {
    const manager = this;
    class KernelComm extends CommImpl {
      constructor(target: string, data: unknown = {}, metadata: Record<string, unknown> = {}) {
        if (typeof target !== 'string' || target === '') throw new TypeError('Jupyter.comm.Comm: target must be a non-empty string');
        super(manager, randomUUID(), target);
        manager.#comms.set(this.id, this);
        manager.link.publish('comm_open', { comm_id: this.id, target_name: target, data }, manager.currentParent(), metadata);
      }
    }
    this.api = {
      register: (target, handler) => {
        if (typeof target !== 'string' || target === '') throw new TypeError('Jupyter.comm.register: target must be a non-empty string');
        if (typeof handler !== 'function') throw new TypeError(`Jupyter.comm.register(${JSON.stringify(target)}): handler must be a function`);
        this.#targets.set(target, handler);
      },
      unregister: (target) => void this.#targets.delete(target),
      Comm: KernelComm,
      comms: this.#comms,
    };
  }

  forget(id: string): void {
    this.#comms.delete(id);
  }

  /** comm_open, comm_msg, comm_close and comm_info_request from the client. Returns false for other types. */
  async handle(msg: JupyterMessage): Promise<boolean> {
    const c = msg.content;
    const id = typeof c['comm_id'] === 'string' ? c['comm_id'] : '';
    switch (msg.header.msg_type) {
      case 'comm_open': {
        const target = String(c['target_name'] ?? '');
        const handler = this.#targets.get(target);
        if (!handler) {
          // ipykernel does the same: tell the front end this comm is dead.
          process.stderr.write(`comm_open: no handler registered for target "${target}" (Jupyter.comm.register)\n`);
          this.link.publish('comm_close', { comm_id: id, data: {} }, msg.header);
          return true;
        }
        const comm = new CommImpl(this, id, target);
        this.#comms.set(id, comm);
        await handler(comm, c['data'], msg);
        return true;
      }
      case 'comm_msg': {
        const comm = this.#comms.get(id);
        if (!comm) process.stderr.write(`comm_msg for unknown comm ${id}\n`);
        else await comm.dispatch('msg', c['data'], msg);
        return true;
      }
      case 'comm_close': {
        const comm = this.#comms.get(id);
        if (comm) {
          comm.markClosed();
          this.forget(id);
          await comm.dispatch('close', c['data'], msg);
        }
        return true;
      }
      case 'comm_info_request': {
        const wanted = typeof c['target_name'] === 'string' ? c['target_name'] : null;
        const comms: Record<string, { target_name: string }> = {};
        for (const comm of this.#comms.values()) {
          if (wanted === null || comm.target === wanted) comms[comm.id] = { target_name: comm.target };
        }
        this.link.reply(msg, { status: 'ok', comms });
        return true;
      }
      default:
        return false;
    }
  }
}

class CommImpl implements Comm {
  #closed = false;
  readonly #handlers = { msg: [] as CommMsgHandler[], close: [] as CommMsgHandler[] };

  constructor(readonly manager: CommManager, readonly id: string, readonly target: string) {}

  get closed(): boolean {
    return this.#closed;
  }

  send(data: unknown = {}, metadata: Record<string, unknown> = {}): void {
    if (this.#closed) throw new Error(`comm ${this.id} (${this.target}) is closed`);
    this.manager.link.publish('comm_msg', { comm_id: this.id, data }, this.manager.currentParent(), metadata);
  }

  close(data: unknown = {}): void {
    if (this.#closed) return;
    this.#closed = true;
    this.manager.forget(this.id);
    this.manager.link.publish('comm_close', { comm_id: this.id, data }, this.manager.currentParent());
  }

  onMsg(handler: CommMsgHandler): void {
    this.#handlers.msg.push(handler);
  }

  onClose(handler: CommMsgHandler): void {
    this.#handlers.close.push(handler);
  }

  markClosed(): void {
    this.#closed = true;
  }

  async dispatch(kind: 'msg' | 'close', data: unknown, msg: JupyterMessage): Promise<void> {
    for (const h of this.#handlers[kind]) await h(data, msg);
  }
}
