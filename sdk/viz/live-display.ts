// Outputs that update in place, throttled. Each part is shown once under its own fresh display id; later
// changes are pushed as updates of those ids at most once per interval (a change inside the interval is
// sent when it ends, by a timer), plus one final update. Every update re-sends whole bundles over the
// kernel's iopub socket and the notebook keeps each one, so redrawing a chart per step of a fast loop
// would flood both.
import { randomUUID } from 'node:crypto';
import type { MimeBundle } from './html.ts';

export type DisplayFn = (bundle: MimeBundle, opts?: { id?: string; update?: boolean }) => void;

export interface LiveDisplayOptions {
  /** Minimum time between two updates (default 1000 ms). */
  intervalMs?: number;
  /** Called once if the display function throws; the live display then stops sending. */
  onError?: (err: Error) => void;
}

export class LiveDisplay {
  /** One fresh display id per part, in the order of the parts. */
  readonly ids: readonly string[];
  private readonly intervalMs: number;
  private lastSent = -Infinity;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private state: 'new' | 'live' | 'finished' | 'failed' = 'new';

  constructor(private readonly display: DisplayFn, private readonly parts: readonly (() => MimeBundle)[], private readonly opts: LiveDisplayOptions = {}) {
    this.intervalMs = opts.intervalMs ?? 1000;
    if (!Number.isFinite(this.intervalMs) || this.intervalMs < 0) throw new Error(`LiveDisplay: intervalMs must be a finite number >= 0, got ${opts.intervalMs}`);
    const run = randomUUID();
    this.ids = parts.map((_, i) => `orz-live-${run}-${i}`);
  }

  /** Show every part (display_data with its id). */
  show(): void {
    if (this.state !== 'new') return;
    this.state = 'live';
    this.send(false);
  }

  /** The parts changed: update now if the interval has passed since the last send, else when it has. */
  request(): void {
    if (this.state !== 'live' || this.timer !== null) return;
    const wait = this.lastSent + this.intervalMs - performance.now();
    if (wait <= 0) {
      this.send(true);
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      // Timers measure from the event loop's cached clock, which lags after long synchronous work (a
      // training step), so they can fire early by the real clock: check again.
      this.request();
    }, Math.ceil(wait));
    this.timer.unref?.(); // a pending redraw must not keep a script alive
  }

  /** The last update, sent now whatever the interval; later requests are ignored. */
  finish(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.state === 'new' || this.state === 'live') {
      // never shown: a first display shows the final content
      if (this.send(this.state === 'live')) this.state = 'finished';
    }
  }

  /** False when rendering or displaying threw (the live display is then off). */
  private send(update: boolean): boolean {
    try {
      this.parts.forEach((render, i) => this.display(render(), update ? { id: this.ids[i], update: true } : { id: this.ids[i] }));
      // Measured after sending, so consecutive updates of every part are an interval apart wherever they
      // are observed, whatever rendering the parts in between took.
      this.lastSent = performance.now();
      return true;
    } catch (err) {
      this.state = 'failed';
      this.opts.onError?.(err instanceof Error ? err : new Error(String(err)));
      return false;
    }
  }
}
