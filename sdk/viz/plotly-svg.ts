// A static SVG drawing of a plotly line figure (scatter traces over numbers), computed here with no
// JavaScript on the page. plotlyBundle's HTML shows it until plotly.js draws the interactive plot, and it
// stays where plotly.js never loads: offline, GitHub's and nbviewer's notebook views (scripts stripped),
// nbconvert HTML opened without network. It is a few kilobytes, where inlining plotly.js is 4.8 MB per output.
import { escapeHtml } from './html.ts';
import { formatNumber } from './table.ts';
import type { PlotlyFigure } from './plotly-figure.ts';

// plotly.js's default colorway, so the preview and the interactive plot agree.
const COLORWAY = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const WIDTH = 640;
const MAX_POINTS = 1000; // per trace; longer traces are thinned by a stride, enough for a preview
const FONT = 'font-family="sans-serif" font-size="11" fill="#444"';

interface Series { name: string; color: string; points: ([number, number] | null)[]; markers: boolean; lines: boolean; y2: boolean }

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function thin<T>(points: T[]): T[] {
  if (points.length <= MAX_POINTS) return points;
  const stride = Math.ceil(points.length / MAX_POINTS);
  return points.filter((_, i) => i % stride === 0 || i === points.length - 1);
}

/** The scatter traces as numeric series, or null when some trace is not a plain numeric scatter. */
function seriesOf(fig: PlotlyFigure): Series[] | null {
  const colorway = (fig.layout as { colorway?: unknown }).colorway;
  const colors = Array.isArray(colorway) && colorway.every((c) => typeof c === 'string') && colorway.length ? colorway as string[] : COLORWAY;
  const out: Series[] = [];
  for (const [i, raw] of fig.data.entries()) {
    const t = raw as { type?: unknown; x?: unknown; y?: unknown; name?: unknown; mode?: unknown; yaxis?: unknown; line?: { color?: unknown }; marker?: { color?: unknown } };
    if (t.type !== undefined && t.type !== 'scatter' && t.type !== 'scattergl') return null;
    if (!Array.isArray(t.y) || (t.x !== undefined && (!Array.isArray(t.x) || t.x.length !== t.y.length))) return null;
    const ys = t.y as unknown[];
    const xs = (t.x as unknown[] | undefined) ?? ys.map((_, k) => k);
    if (!ys.every((v) => v === null || typeof v === 'number') || !xs.every((v) => v === null || typeof v === 'number')) return null;
    const mode = typeof t.mode === 'string' ? t.mode : ys.length < 20 ? 'lines+markers' : 'lines';
    const color = typeof t.line?.color === 'string' ? t.line.color : typeof t.marker?.color === 'string' ? t.marker.color : colors[i % colors.length]!;
    out.push({
      name: typeof t.name === 'string' ? t.name : `trace ${i}`,
      color,
      points: thin(ys.map((y, k) => { const x = xs[k]; return finite(y) && finite(x) ? [x, y] as [number, number] : null; })),
      markers: mode.includes('markers'),
      lines: mode.includes('lines'),
      y2: t.yaxis === 'y2',
    });
  }
  return out;
}

/** About `count` round tick values (1, 2 or 5 times a power of ten apart) within [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5, integers = false): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const nice = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const step = integers ? Math.max(1, nice) : nice; // iterations 1, 2, 3: no tick at 1.5
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** [lo, hi] of the values with 5% room; a single value gets a range around it. */
function extent(values: number[]): [number, number] {
  if (values.length === 0) return [0, 1];
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) { // not Math.min(...values): long arrays overflow the argument stack
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === hi) {
    const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    return [lo - d, hi + d];
  }
  const pad = (hi - lo) * 0.05;
  lo -= pad;
  hi += pad;
  return [lo, hi];
}

function titleText(v: unknown): string {
  if (typeof v === 'string') return v;
  const text = (v as { text?: unknown } | undefined)?.text;
  return typeof text === 'string' ? text : '';
}

const num = (v: number) => Number(v.toFixed(1));

/** The SVG markup, or null when the figure has traces this preview cannot draw. */
export function figureSvg(fig: PlotlyFigure): string | null {
  const series = seriesOf(fig);
  if (series === null) return null;
  const layout = fig.layout as Record<string, { title?: unknown } | unknown>;
  const hasY2 = series.some((s) => s.y2);
  const height = finite(layout['height']) ? Math.min(1000, Math.max(150, layout['height'])) : 340;
  const m = { l: 64, r: hasY2 ? 64 : 24, t: 40, b: 72 };
  const plotW = WIDTH - m.l - m.r;
  const plotH = height - m.t - m.b;
  const pts = (pred: (s: Series) => boolean, k: 0 | 1) => series.filter(pred).flatMap((s) => s.points.filter((p) => p !== null).map((p) => p![k]));
  const [x0, x1] = extent(pts(() => true, 0));
  const [y0, y1] = extent(pts((s) => !s.y2, 1));
  const [z0, z1] = extent(pts((s) => s.y2, 1));
  const sx = (x: number) => num(m.l + ((x - x0) / (x1 - x0)) * plotW);
  const sy = (y: number, right: boolean) => {
    const [lo, hi] = right ? [z0, z1] : [y0, y1];
    return num(m.t + plotH - ((y - lo) / (hi - lo)) * plotH);
  };
  const parts: string[] = [];
  const text = (x: number, y: number, s: string, attrs = '') => `<text x="${num(x)}" y="${num(y)}" ${FONT} ${attrs}>${escapeHtml(s)}</text>`;

  // grid and tick labels
  const integerX = series.every((s) => s.points.every((p) => p === null || Number.isInteger(p[0])));
  for (const t of niceTicks(x0, x1, 5, integerX)) {
    parts.push(`<line x1="${sx(t)}" x2="${sx(t)}" y1="${m.t}" y2="${m.t + plotH}" stroke="#eee"/>`, text(sx(t), m.t + plotH + 14, formatNumber(t), 'text-anchor="middle"'));
  }
  for (const t of niceTicks(y0, y1)) {
    parts.push(`<line x1="${m.l}" x2="${m.l + plotW}" y1="${sy(t, false)}" y2="${sy(t, false)}" stroke="#eee"/>`, text(m.l - 6, sy(t, false) + 4, formatNumber(t), 'text-anchor="end"'));
  }
  if (hasY2) for (const t of niceTicks(z0, z1)) parts.push(text(m.l + plotW + 6, sy(t, true) + 4, formatNumber(t)));
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${plotW}" height="${plotH}" fill="none" stroke="#ccc"/>`);

  // axis titles and the figure title
  const axisTitle = (key: string) => titleText((layout[key] as { title?: unknown } | undefined)?.title);
  const xTitle = axisTitle('xaxis');
  if (xTitle) parts.push(text(m.l + plotW / 2, m.t + plotH + 32, xTitle, 'text-anchor="middle"'));
  const yTitle = axisTitle('yaxis');
  if (yTitle) parts.push(text(14, m.t + plotH / 2, yTitle, `text-anchor="middle" transform="rotate(-90 14 ${num(m.t + plotH / 2)})"`));
  const y2Title = axisTitle('yaxis2');
  if (hasY2 && y2Title) parts.push(text(WIDTH - 10, m.t + plotH / 2, y2Title, `text-anchor="middle" transform="rotate(90 ${WIDTH - 10} ${num(m.t + plotH / 2)})"`));
  const title = titleText(layout['title']);
  if (title) parts.push(`<text x="${m.l}" y="22" font-family="sans-serif" font-size="14" fill="#222">${escapeHtml(title)}</text>`);

  // traces: a polyline per run of points without gaps, circles for markers
  for (const s of series) {
    const runs: [number, number][][] = [[]];
    for (const p of s.points) {
      if (p === null) runs.push([]);
      else runs[runs.length - 1]!.push([sx(p[0]), sy(p[1], s.y2)]);
    }
    if (s.lines) {
      for (const run of runs.filter((r) => r.length > 1)) {
        parts.push(`<polyline fill="none" stroke="${escapeHtml(s.color)}" stroke-width="2" points="${run.map(([x, y]) => `${x},${y}`).join(' ')}"/>`);
      }
    }
    if (s.markers) for (const [x, y] of runs.flat()) parts.push(`<circle cx="${x}" cy="${y}" r="3" fill="${escapeHtml(s.color)}"/>`);
  }

  // legend below the plot, left to right
  let lx = m.l;
  const ly = height - 16;
  for (const s of series) {
    parts.push(`<line x1="${lx}" x2="${lx + 18}" y1="${ly - 4}" y2="${ly - 4}" stroke="${escapeHtml(s.color)}" stroke-width="2"/>`, text(lx + 22, ly, s.name));
    lx += 34 + s.name.length * 6.5;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" width="100%" style="max-width:${WIDTH}px" role="img" aria-label="${escapeHtml(title || 'plot')}">${parts.join('')}</svg>`;
}
