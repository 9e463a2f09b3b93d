// The error an interrupt raises inside cell code (its own module: interrupt.ts and cell-context.ts both throw it).

/** Thrown inside cell code when the user interrupts; surfaces as the KeyboardInterrupt error. */
export class Interrupted extends Error {
  /** Thrown by the live check in leftovers of an interrupted cell (nobody waits for it: never reported). */
  readonly abandoned: boolean;
  constructor(opts: { abandoned?: boolean } = {}) {
    super('execution interrupted');
    this.name = 'KeyboardInterrupt';
    this.abandoned = opts.abandoned ?? false;
  }
}
