// input(): synchronous like Python's. The main thread sends input_request on the stdin channel and sleeps in
// Atomics.wait until the protocol worker writes the input_reply into shared memory (or an interrupt
// cancels the wait).

import { Slot, StdinState, STDIN_CAPACITY } from '../protocol/bridge.ts';
import type { JupyterMessage } from '../protocol/wire.ts';
import { Interrupted } from './interrupt.ts';
import type { KernelLink } from './link.ts';

export class StdinNotAllowed extends Error {
  constructor() {
    super('input() is not available: this execute_request did not allow stdin (the front end cannot answer input requests)');
    this.name = 'StdinNotAllowedError';
  }
}

export class StdinChannel {
  readonly #control: Int32Array;
  readonly #bytes: Uint8Array;
  /** The execute_request that may ask for input (allow_stdin true), or null. */
  request: JupyterMessage | null = null;

  constructor(readonly link: KernelLink, control: SharedArrayBuffer, stdin: SharedArrayBuffer) {
    this.#control = new Int32Array(control);
    this.#bytes = new Uint8Array(stdin);
  }

  input(prompt = '', opts: { password?: boolean } = {}): string {
    const request = this.request;
    if (!request) throw new StdinNotAllowed();
    Atomics.store(this.#control, Slot.STDIN_STATE, StdinState.WAITING);
    this.link.send({
      channel: 'stdin', msgType: 'input_request', content: { prompt: String(prompt), password: opts.password === true },
      parent: request.header, identities: request.identities,
    });
    while (Atomics.load(this.#control, Slot.STDIN_STATE) === StdinState.WAITING) {
      Atomics.wait(this.#control, Slot.STDIN_STATE, StdinState.WAITING);
    }
    const state = Atomics.exchange(this.#control, Slot.STDIN_STATE, StdinState.IDLE);
    if (state === StdinState.CANCELLED) throw new Interrupted();
    const n = Atomics.load(this.#control, Slot.STDIN_LENGTH);
    if (n >= STDIN_CAPACITY) process.stderr.write(`input(): reply cut to ${STDIN_CAPACITY} bytes\n`);
    return Buffer.from(this.#bytes.subarray(0, n)).toString('utf8');
  }
}
