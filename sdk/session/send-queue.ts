// zeromq.js allows one send in flight per socket, so every send on a socket goes through a chain. A failed send
// is logged, never thrown into the caller: a client that went away must not break the session.

interface Sendable { send(frames: Buffer[]): Promise<void> }

export class SendQueue {
  #chain: Promise<void> = Promise.resolve();

  constructor(readonly socket: Sendable, readonly onError: (e: Error) => void) {}

  push(frames: Buffer[]): Promise<void> {
    this.#chain = this.#chain.then(() => this.socket.send(frames)).catch((e: unknown) => this.onError(e as Error));
    return this.#chain;
  }

  drained(): Promise<void> {
    return this.#chain;
  }
}
