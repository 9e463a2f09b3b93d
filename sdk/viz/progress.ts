// One-line progress text, tqdm-like: "iter 3/20 [#.........] 15% 00:42<03:58 reward=0.41".

export interface ProgressOptions {
  label: string;
  done: number;
  total: number;
  elapsedSec: number;
  /** The count when the clock started (default 0): a resumed job shows done/total but paces on done - start. */
  start?: number;
  extra?: string; // appended as is, e.g. "reward=0.41"
}

const BAR_WIDTH = 10;

/** mm:ss, or h:mm:ss from an hour on; unknown durations are "--:--". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const two = (n: number) => String(n).padStart(2, '0');
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}:${two(m)}:${two(s % 60)}` : `${two(m)}:${two(s % 60)}`;
}

export function progressLine(opts: ProgressOptions): string {
  const { label, done, total, elapsedSec } = opts;
  const start = opts.start ?? 0;
  for (const [name, v] of [['done', done], ['total', total], ['elapsedSec', elapsedSec], ['start', start]] as const) {
    if (!Number.isFinite(v) || v < 0) throw new Error(`progressLine: ${name} must be a finite number >= 0, got ${v}`);
  }
  // done * k / total rather than (done / total) * k: 29 * 100 / 100 is exactly 29, 0.29 * 100 is not.
  const share = (k: number) => (total > 0 ? Math.min(k, Math.floor((done * k) / total)) : k);
  const filled = share(BAR_WIDTH);
  const bar = '#'.repeat(filled) + '.'.repeat(BAR_WIDTH - filled);
  // Remaining time assumes the average pace so far holds: elapsed / (done - start) per step.
  const remaining = done > start ? (elapsedSec / (done - start)) * Math.max(0, total - done) : NaN;
  const percent = share(100);
  const line = `${label} ${done}/${total} [${bar}] ${percent}% ${formatDuration(elapsedSec)}<${formatDuration(remaining)}`;
  return opts.extra ? `${line} ${opts.extra}` : line;
}
