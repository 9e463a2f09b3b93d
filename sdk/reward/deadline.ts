// Synchronous code cannot be interrupted from outside, so the equality checker carries a deadline
// and polls it inside its loops and recursions; running out unwinds with DeadlineExceeded.

export class DeadlineExceeded extends Error {
  constructor() {
    super('math equality check ran out of time');
    this.name = 'DeadlineExceeded';
  }
}

export class Deadline {
  private readonly end: number;

  constructor(timeoutMs: number) {
    this.end = performance.now() + timeoutMs;
  }

  /** Throws DeadlineExceeded once the time is up. */
  check(): void {
    if (performance.now() >= this.end) throw new DeadlineExceeded();
  }
}
