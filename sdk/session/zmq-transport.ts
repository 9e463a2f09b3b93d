// The client end of the session protocol over zeromq: a DEALER for calls (replies, progress and score requests
// come back on it) and a SUB for the event stream. Messages from the session are checked with the same key; an
// unsigned message is accepted only as the session's "unauthenticated" answer to one of ours (the session
// cannot sign for a client it does not trust), and only fails the call it names.

import { Dealer, Subscriber } from 'zeromq';
import type { RolloutBatch } from '../rollout/rollout-batch.ts';
import { decodeValue, encodeValue } from './codec.ts';
import type { SessionConnection } from './connection-file.ts';
import { errorFromWire, errorToWire, SessionError } from './errors.ts';
import { SendQueue } from './send-queue.ts';
import { newCallId, type CallOptions, type EventListener, type Scorer, type Transport } from './transport.ts';
import { decodeMessage, encodeMessage, Signer, type DecodedMessage, type MessageType } from './wire.ts';

interface Pending { resolve: (v: unknown) => void; reject: (e: unknown) => void; opts: CallOptions }

export class ZmqTransport implements Transport {
  readonly #signer: Signer;
  readonly #dealer = new Dealer({ linger: 500 });
  readonly #sub = new Subscriber();
  readonly #out: SendQueue;
  readonly #pending = new Map<string, Pending>();
  readonly #listeners: EventListener[] = [];
  #scorer: Scorer | null = null;
  #closed = false;

  /** The connection file this came from (null: connection info passed in), named in errors. */
  readonly #file: string | null;
  /** " (connection file PATH)" or nothing. */
  readonly #from: string;

  constructor(
    readonly connection: SessionConnection,
    opts: { file?: string | null; log?: (line: string) => void } = {},
    readonly log: (line: string) => void = opts.log ?? ((l) => process.stderr.write(`orz session client: ${l}\n`)),
  ) {
    this.#file = opts.file ?? null;
    this.#from = this.#file ? ` (connection file ${this.#file})` : '';
    try {
      this.#signer = new Signer(connection.key);
    } catch (e) {
      throw new SessionError(`session "${connection.name}"${this.#from}: ${(e as Error).message}`, 'bad_connection');
    }
    this.#out = new SendQueue(this.#dealer, (e) => this.log(`send failed: ${e.message}`));
    this.#dealer.connect(connection.address);
    this.#sub.connect(connection.events);
    this.#sub.subscribe();
    // The session's process ending closes the TCP connection: its replies will never come, so fail the calls
    // now instead of leaving a notebook cell waiting forever.
    this.#dealer.events.on('disconnect', () => {
      if (this.#closed || this.#pending.size === 0) return;
      this.#failAll(new SessionError(
        `lost the connection to session "${connection.name}" (${connection.address}${this.#file ? `, connection file ${this.#file}` : ''}); its process may have died: orz session status ${connection.name}`,
        'disconnected'));
    });
    void this.#replies();
    void this.#events();
  }

  #failAll(e: Error): void {
    for (const [id, p] of this.#pending) {
      this.#pending.delete(id);
      p.reject(e);
    }
  }

  #send(type: MessageType, payload: object, buffers: Uint8Array[] = []): Promise<void> {
    return this.#out.push(encodeMessage(this.#signer, type, payload, buffers));
  }

  call(op: string, handle: string | null, args: object, opts: CallOptions = {}): Promise<unknown> {
    if (this.#closed) return Promise.reject(new SessionError(`the connection to session "${this.connection.name}" is closed`, 'closed'));
    const callId = newCallId();
    let frames: Buffer[];
    try {
      const { json, buffers } = encodeValue(args);
      frames = this.#checkedSize(op, encodeMessage(this.#signer, 'request', { callId, op, handle, args: json }, buffers));
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => void this.#send('cancel', { callId });
      const done = <T>(f: (x: T) => void) => (x: T) => {
        opts.signal?.removeEventListener('abort', onAbort);
        f(x);
      };
      this.#pending.set(callId, { resolve: done(resolve), reject: done(reject), opts });
      void this.#out.push(frames);
      if (opts.signal?.aborted) onAbort();
      else opts.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The session would drop a message over its limit (and zeromq a frame over twice that, with the connection). */
  #checkedSize(op: string, frames: Buffer[]): Buffer[] {
    const limit = this.connection.maxMessageSize;
    const total = frames.reduce((a, f) => a + f.length, 0);
    if (limit !== undefined && total > limit) {
      throw new SessionError(`${op}: the request is ${total} bytes, over session "${this.connection.name}"'s limit of ${limit} bytes${this.#from}; nothing was sent (start the session with a larger --max-message-size, or send less at once)`, 'too_large');
    }
    return frames;
  }

  onEvent(fn: EventListener): void {
    this.#listeners.push(fn);
  }

  setScorer(fn: Scorer): void {
    this.#scorer = fn;
  }

  async #replies(): Promise<void> {
    try {
      for await (const frames of this.#dealer) {
        let msg: DecodedMessage;
        try {
          msg = decodeMessage(frames as Buffer[], this.#signer, { allowUnsigned: true });
        } catch (e) {
          this.log(`ignored a message that failed its checks: ${(e as Error).message}`);
          continue;
        }
        try {
          this.#dispatch(msg);
        } catch (e) {
          this.log(`could not handle a ${msg.header.type} message: ${(e as Error).message}`);
        }
      }
    } catch (e) {
      if (!this.#closed) this.log(`reply loop ended: ${(e as Error).message}`);
    }
  }

  #dispatch(msg: DecodedMessage): void {
    const p = msg.payload;
    const callId = typeof p['callId'] === 'string' ? p['callId'] : null;
    const pending = callId ? this.#pending.get(callId) : undefined;
    if (!msg.signed) {
      const err = p['error'] as { code?: string } | undefined;
      if (msg.header.type !== 'reply' || err?.code !== 'unauthenticated') return this.log('ignored an unsigned message');
      const e = new SessionError(`session "${this.connection.name}" rejected our signature: this client's key is not the session's (stale connection file${this.#file ? ` ${this.#file}` : ''}?)`, 'unauthenticated');
      if (pending) {
        this.#pending.delete(callId!);
        pending.reject(e);
      } else if (callId === null) this.#failAll(e);
      return;
    }
    switch (msg.header.type) {
      case 'reply': {
        if (!pending) return;
        this.#pending.delete(callId!);
        if (p['ok'] === true) {
          try {
            pending.resolve(decodeValue(p['value'], msg.buffers, 'reply'));
          } catch (e) {
            pending.reject(e);
          }
        } else pending.reject(errorFromWire(p['error']));
        return;
      }
      case 'progress':
        if (pending?.opts.onProgress && typeof p['kind'] === 'string') pending.opts.onProgress(p['kind'], decodeValue(p['data'], msg.buffers, 'progress'));
        return;
      case 'score_request':
        void this.#score(msg);
        return;
      default:
        this.log(`ignored a ${msg.header.type} message on the request socket`);
    }
  }

  async #score(msg: DecodedMessage): Promise<void> {
    const { requestId, handle, batch } = decodeValue(msg.payload, msg.buffers, 'score_request') as { requestId: string; handle: string; batch: RolloutBatch };
    try {
      if (!this.#scorer) throw new Error('this client has no reward functions');
      const rewards = await this.#scorer(handle, batch);
      await this.#send('score_reply', { requestId, rewards });
    } catch (e) {
      await this.#send('score_reply', { requestId, error: errorToWire(e) });
    }
  }

  async #events(): Promise<void> {
    try {
      for await (const frames of this.#sub) {
        const [topic, ...rest] = frames as Buffer[];
        try {
          const msg = decodeMessage(rest, this.#signer);
          const event = msg.payload['event'];
          if (msg.header.type !== 'event' || typeof event !== 'string' || topic?.toString() !== event) throw new Error('not an event message');
          const data = decodeValue(msg.payload['data'], msg.buffers, `event ${event}`);
          for (const fn of this.#listeners) {
            try {
              fn(event, data);
            } catch (e) {
              this.log(`an event listener threw: ${(e as Error).message}`);
            }
          }
        } catch (e) {
          this.log(`ignored an event that failed its checks: ${(e as Error).message}`);
        }
      }
    } catch (e) {
      if (!this.#closed) this.log(`event loop ended: ${(e as Error).message}`);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#failAll(new SessionError(`detached from session "${this.connection.name}" before the reply (the call goes on in the session)`, 'closed'));
    await this.#out.drained();
    this.#dealer.close();
    this.#sub.close();
  }
}
