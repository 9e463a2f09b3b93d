// The session daemon: SessionService behind zeromq sockets.
//
//   ROUTER (address)  requests from clients, replies, per-call progress, score requests to the driving client
//   PUB    (events)   the event stream for every attached client: iterations, logs, handles, checkpoints
//
// Every incoming message is size-checked, signature-checked and replay-checked before anything reads it; a bad
// one is answered with an error when a reply is possible, logged, and never reaches an operation. Handlers are
// wrapped so that no message, however malformed, can crash the daemon.

import { Publisher, Router } from 'zeromq';
import type { ClientLink } from './call-context.ts';
import { decodeValue, encodeValue } from './codec.ts';
import { errorFromWire, errorToWire } from './errors.ts';
import { SessionService, type ServiceSettings } from './service.ts';
import { decodeMessage, encodeMessage, ReplayGuard, Signer, WireError, type MessageType, type WireMessage } from './wire.ts';
import { SendQueue } from './send-queue.ts';

export const DEFAULT_MAX_MESSAGE_SIZE = 256 * 1024 * 1024;

export interface DaemonOptions extends ServiceSettings {
  /** zeromq endpoint for requests (default tcp://127.0.0.1:*, a free loopback port). */
  listen?: string;
  /** zeromq endpoint for events (default: a free port on the request address's host). */
  events?: string;
  key: string;
  /**
   * Largest accepted message in bytes: a bigger one is dropped, logged with its size and the limit, and answered
   * with a too_large error. zeromq itself cuts off a single frame over twice the limit (disconnecting its sender
   * before anything can read it), so no peer makes the session hold more than that per frame.
   */
  maxMessageSize?: number;
  resume: boolean;
  replayWindowMs?: number;
  /** If an address cannot be bound (a resumed session's old port is taken), bind a free port on its host instead. */
  fallbackToFreePort?: boolean;
}

async function bindEither(socket: Router | Publisher, address: string, fallback: boolean): Promise<string> {
  try {
    await socket.bind(address);
  } catch (e) {
    const host = /^tcp:\/\/(.*):[^:]+$/.exec(address)?.[1];
    if (!fallback || !host) throw new Error(`cannot bind ${address}: ${(e as Error).message}`);
    await socket.bind(`tcp://${host}:*`);
  }
  return socket.lastEndpoint ?? address;
}

interface PendingScore { client: string; n: number; resolve: (r: number[]) => void; reject: (e: unknown) => void }

const str = (v: unknown, max = 256): string | null => (typeof v === 'string' && v.length > 0 && v.length <= max ? v : null);

export class SessionDaemon {
  readonly service: SessionService;
  readonly #signer: Signer;
  readonly #guard: ReplayGuard;
  readonly #router: Router;
  readonly #publisher: Publisher;
  readonly #routerOut: SendQueue;
  readonly #pubOut: SendQueue;
  readonly #scores = new Map<string, PendingScore>();
  readonly #maxBytes: number;
  #scoreCounter = 0;
  #stopping: Promise<void> | null = null;
  #rejections = { windowStart: 0, count: 0 };
  address = '';
  eventsAddress = '';
  readonly closed: Promise<void>;
  #markClosed!: () => void;

  private constructor(service: SessionService, opts: DaemonOptions) {
    this.service = service;
    this.#signer = new Signer(opts.key);
    this.#guard = new ReplayGuard(opts.replayWindowMs);
    this.#maxBytes = opts.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    // linger: replies already queued (the answer to a shutdown request) still go out when the socket closes.
    this.#router = new Router({ maxMessageSize: Math.min(2 * this.#maxBytes, Number.MAX_SAFE_INTEGER), linger: 2000 });
    this.#publisher = new Publisher({ linger: 1000 });
    const onErr = (what: string) => (e: Error) => this.service.log(`send on ${what} failed: ${e.message}`);
    this.#routerOut = new SendQueue(this.#router, onErr('router'));
    this.#pubOut = new SendQueue(this.#publisher, onErr('events'));
    this.closed = new Promise((r) => (this.#markClosed = r));
  }

  static async start(opts: DaemonOptions): Promise<SessionDaemon> {
    let daemon: SessionDaemon | null = null;
    // Events during the restore have no subscribers yet (the sockets are bound after it): they are dropped.
    const service = await SessionService.open(opts, (event, data) => { if (daemon) daemon.#publish(event, data); }, { resume: opts.resume });
    daemon = new SessionDaemon(service, opts);
    service.onShutdownRequest = () => void daemon!.stop();
    try {
      const fallback = opts.fallbackToFreePort ?? false;
      daemon.address = await bindEither(daemon.#router, opts.listen ?? 'tcp://127.0.0.1:*', fallback);
      const host = /^tcp:\/\/(.*):[^:]+$/.exec(daemon.address)?.[1] ?? '127.0.0.1';
      daemon.eventsAddress = await bindEither(daemon.#publisher, opts.events ?? `tcp://${host}:*`, fallback);
    } catch (e) {
      await daemon.stop();
      throw e;
    }
    void daemon.#receiveLoop();
    return daemon;
  }

  #publish(event: string, data: unknown): void {
    try {
      const { json, buffers } = encodeValue(data);
      void this.#pubOut.push([Buffer.from(event), ...encodeMessage(this.#signer, 'event', { event, data: json }, buffers)]);
    } catch (e) {
      this.service.log(`cannot publish ${event}: ${(e as Error).message}`);
    }
  }

  #send(identity: Buffer, type: MessageType, payload: object, buffers: Uint8Array[] = [], signed = true): void {
    void this.#routerOut.push([identity, ...encodeMessage(signed ? this.#signer : null, type, payload, buffers)]);
  }

  #replyError(identity: Buffer, callId: string | null, e: unknown, code?: string, signed = true): void {
    this.#send(identity, 'reply', { callId, ok: false, error: errorToWire(e, code) }, [], signed);
  }

  /** Logs rejected messages, at most 20 per 10 s (a flood of garbage must not flood the log). */
  #logRejection(client: string, why: string, what: 'rejected' | 'dropped' = 'rejected'): void {
    const now = Date.now();
    if (now - this.#rejections.windowStart > 10_000) {
      if (this.#rejections.count > 20) this.service.log(`(${this.#rejections.count - 20} more rejected messages not shown)`);
      this.#rejections = { windowStart: now, count: 0 };
    }
    if (++this.#rejections.count <= 20) this.service.log(`${what} a message from ${client}: ${why}`);
  }

  async #receiveLoop(): Promise<void> {
    try {
      for await (const frames of this.#router) {
        // Not awaited: a long call must not hold up cancels, score replies or other clients' reads.
        this.#handle(frames as Buffer[]).catch((e: unknown) => this.service.log(`internal error handling a message: ${(e as Error).stack ?? e}`));
      }
    } catch (e) {
      if (!this.#stopping) this.service.log(`receive loop ended: ${(e as Error).message}`);
    }
  }

  async #handle(frames: Buffer[]): Promise<void> {
    const identity = frames[0]!;
    const client = identity.toString('hex');
    let msg: WireMessage;
    try {
      msg = decodeMessage(frames.slice(1), this.#signer, { maxBytes: this.#maxBytes, replay: this.#guard });
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
      this.#logRejection(client, `${e.code}: ${e.message}`, e.code === 'too_large' ? 'dropped' : 'rejected');
      // The answer to an unauthenticated message is unsigned: its sender may not hold the key to check it.
      this.#replyError(identity, e.callId, e, e.code, e.code !== 'unauthenticated');
      return;
    }
    const p = msg.payload;
    switch (msg.header.type) {
      case 'request': return this.#request(identity, client, msg);
      case 'cancel': {
        const callId = str(p['callId'], 128);
        if (callId) this.service.cancel(callId, client);
        return;
      }
      case 'score_reply': return this.#scoreReply(client, msg);
      default:
        this.#logRejection(client, `unexpected message type ${msg.header.type}`);
        this.#replyError(identity, str(p['callId'], 128), new Error(`clients may send request, cancel or score_reply, not ${msg.header.type}`), 'malformed');
    }
  }

  #link(identity: Buffer, client: string): ClientLink {
    return {
      client,
      progress: (callId, kind, data) => {
        try {
          const { json, buffers } = encodeValue(data);
          this.#send(identity, 'progress', { callId, kind, data: json }, buffers);
        } catch (e) {
          this.service.log(`cannot send progress of ${callId}: ${(e as Error).message}`);
        }
      },
      score: (callId, handle, batch, signal) => new Promise<number[]>((resolve, reject) => {
        if (signal.aborted) return reject(signal.reason);
        const requestId = `score-${++this.#scoreCounter}`;
        const onAbort = () => {
          this.#scores.delete(requestId);
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        const done = <T>(f: (x: T) => void) => (x: T) => {
          signal.removeEventListener('abort', onAbort);
          this.#scores.delete(requestId);
          f(x);
        };
        this.#scores.set(requestId, { client, n: batch.length, resolve: done(resolve), reject: done(reject) });
        const { json, buffers } = encodeValue({ requestId, callId, handle, batch });
        this.#send(identity, 'score_request', json as object, buffers);
      }),
    };
  }

  async #request(identity: Buffer, client: string, msg: WireMessage): Promise<void> {
    const p = msg.payload;
    const callId = str(p['callId'], 128);
    const op = str(p['op'], 128);
    if (!callId || !op) return this.#replyError(identity, callId, new Error('a request needs "callId" and "op" strings of 1-128 characters'), 'malformed');
    const handle = p['handle'] === undefined || p['handle'] === null ? null : str(p['handle'], 128);
    let args: unknown;
    try {
      args = decodeValue(p['args'] ?? {}, msg.buffers, 'arguments');
    } catch (e) {
      this.#logRejection(client, `${op}: ${(e as Error).message}`);
      return this.#replyError(identity, callId, e, 'malformed');
    }
    let value: unknown;
    try {
      value = await this.service.call(this.#link(identity, client), callId, op, handle, args);
    } catch (e) {
      return this.#replyError(identity, callId, e);
    }
    try {
      const { json, buffers } = encodeValue(value);
      this.#send(identity, 'reply', { callId, ok: true, value: json }, buffers);
    } catch (e) {
      this.#replyError(identity, callId, e);
    }
  }

  #scoreReply(client: string, msg: WireMessage): void {
    const p = msg.payload;
    const requestId = str(p['requestId'], 128);
    const pending = requestId ? this.#scores.get(requestId) : undefined;
    if (!pending || pending.client !== client) {
      this.#logRejection(client, `score_reply for ${JSON.stringify(requestId)}, which is not a pending score request of this client`);
      return;
    }
    if (p['error'] !== undefined) return pending.reject(errorFromWire(p['error']));
    let rewards: unknown;
    try {
      rewards = decodeValue(p['rewards'], msg.buffers, 'rewards');
    } catch (e) {
      return pending.reject(e);
    }
    const list = ArrayBuffer.isView(rewards) ? Array.from(rewards as Float64Array) : rewards;
    if (!Array.isArray(list) || list.length !== pending.n) {
      return pending.reject(new Error(`the controller answered ${Array.isArray(list) ? `${list.length} rewards` : 'no reward list'} for ${pending.n} samples`));
    }
    const bad = list.findIndex((r) => typeof r !== 'number' || !Number.isFinite(r));
    if (bad >= 0) return pending.reject(new Error(`the controller's reward ${bad} is not a finite number: ${String(list[bad])}`));
    pending.resolve(list as number[]);
  }

  /** Graceful stop: the service checkpoints every trainer, then the sockets close. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      try {
        await this.service.shutdown();
      } catch (e) {
        this.service.log(`shutdown: ${(e as Error).message}`);
      }
      for (const s of this.#scores.values()) s.reject(new Error('the session is shutting down'));
      await this.#routerOut.drained();
      await this.#pubOut.drained();
      this.#router.close();
      this.#publisher.close();
      this.#markClosed();
    })();
    return this.#stopping;
  }
}

