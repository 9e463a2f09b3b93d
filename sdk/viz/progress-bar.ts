// A progress bar that notebooks redraw in place: show it once with display(bar, {id}), then after each
// change display(bar, {id, update: true}). Its bundle is an HTML <progress> bar with the tqdm-like text
// line of progressLine(), and that text alone for plain-text front ends.
import { escapeHtml, JUPYTER_DISPLAY, type MimeBundle } from './html.ts';
import { progressLine } from './progress.ts';

export interface ProgressBarOptions {
  total: number;
  label?: string;  // default 'progress'
  done?: number;   // default 0
  /** The count when the clock starts (default: done); the remaining time is paced on the steps since. */
  start?: number;
  /** Clock in milliseconds, for the elapsed and remaining times (default performance.now). */
  now?: () => number;
}

function checkCount(name: string, v: number): number {
  if (!Number.isFinite(v) || v < 0) throw new Error(`ProgressBar: ${name} must be a finite number >= 0, got ${v}`);
  return v;
}

export class ProgressBar {
  readonly total: number;
  readonly label: string;
  /** A second line under the bar (latest metrics, "stopping...", ...). */
  status = '';
  private doneCount: number;
  private readonly now: () => number;
  private readonly start: number;
  private readonly startCount: number;

  constructor(opts: ProgressBarOptions) {
    this.total = checkCount('total', opts.total);
    this.label = opts.label ?? 'progress';
    this.doneCount = checkCount('done', opts.done ?? 0);
    this.startCount = checkCount('start', opts.start ?? this.doneCount);
    this.now = opts.now ?? (() => performance.now());
    this.start = this.now();
  }

  get done(): number {
    return this.doneCount;
  }

  /** Set the count (and optionally the status line). */
  update(done: number, status?: string): this {
    this.doneCount = checkCount('done', done);
    if (status !== undefined) this.status = status;
    return this;
  }

  tick(n = 1): this {
    return this.update(this.doneCount + n);
  }

  elapsedSec(): number {
    return Math.max(0, (this.now() - this.start) / 1000);
  }

  /** The progress line, plus the status line when there is one. */
  toString(): string {
    const line = progressLine({ label: this.label, done: this.doneCount, total: this.total, start: this.startCount, elapsedSec: this.elapsedSec() });
    return this.status ? `${line}\n${this.status}` : line;
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    const line = progressLine({ label: this.label, done: this.doneCount, total: this.total, start: this.startCount, elapsedSec: this.elapsedSec() });
    // <progress> needs max > 0; an empty job (total 0) is complete.
    const max = this.total > 0 ? this.total : 1;
    const value = this.total > 0 ? Math.min(this.doneCount, this.total) : 1;
    const status = this.status ? `<div class="orz-progress-status">${escapeHtml(this.status)}</div>` : '';
    const html = `<div class="orz-progress" style="font-family:monospace;white-space:pre-wrap">`
      + `<progress value="${value}" max="${max}" style="width:16em;vertical-align:middle"></progress> `
      + `<span>${escapeHtml(line)}</span>${status}</div>`;
    return { 'text/plain': this.toString(), 'text/html': html };
  }
}
