// What Trainer.run() shows in a notebook: a progress bar and the live training chart, each under its own
// fresh display id and redrawn in place, throttled (see LiveDisplay).
import type { MetricsRow } from '../ppo/metrics-log.ts';
import { JUPYTER_DISPLAY } from '../viz/html.ts';
import { LiveDisplay, type DisplayFn } from '../viz/live-display.ts';
import { plotlyBundle } from '../viz/plotly.ts';
import { ProgressBar } from '../viz/progress-bar.ts';
import { trainingChart } from './training-chart.ts';

export interface RunDisplayOptions {
  /** The iteration the run ends at (the bar's total). */
  total: number;
  /** The iteration it starts from (a resumed run's checkpoint; default 0): the bar shows start/total at first. */
  start?: number;
  /** Metrics rows to chart, read at every redraw. */
  rows: () => readonly MetricsRow[];
  title?: string;
  /** Minimum time between redraws (default 1000 ms). */
  intervalMs?: number;
  onError?: (err: Error) => void;
}

export class RunDisplay {
  readonly bar: ProgressBar;
  private readonly live: LiveDisplay;

  constructor(display: DisplayFn, opts: RunDisplayOptions) {
    this.bar = new ProgressBar({ total: opts.total, done: opts.start ?? 0, start: opts.start ?? 0, label: 'iter' });
    const chart = () => plotlyBundle(trainingChart(opts.rows(), opts.title));
    this.live = new LiveDisplay(display, [() => this.bar[JUPYTER_DISPLAY](), chart], { intervalMs: opts.intervalMs, onError: opts.onError });
  }

  /** [progress bar id, chart id]. */
  get ids(): readonly string[] {
    return this.live.ids;
  }

  show(): void {
    this.live.show();
  }

  /** New progress (the iteration reached) and/or status line; the chart is redrawn from the rows at the same time. */
  update(done?: number, status?: string): void {
    this.bar.update(done ?? this.bar.done, status);
    this.live.request();
  }

  /** The final redraw, sent at once. */
  finish(status?: string): void {
    if (status !== undefined) this.bar.status = status;
    this.live.finish();
  }
}
