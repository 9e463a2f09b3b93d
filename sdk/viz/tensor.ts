// Mime bundle for a tfjs tensor: shape, dtype, statistics (min/max/mean/std over the finite values, NaN and
// Inf counts) and the first values laid out like numpy prints arrays. Tensors are recognised by shape, not
// by class, so a tensor from any copy of tfjs works and nothing here imports tfjs. The tensor is only read
// (dataSync), never disposed or changed.
import { escapeHtml, type MimeBundle } from './html.ts';
import { formatNumber } from './table.ts';

/** The part of a tfjs Tensor this formatter reads. */
export interface TensorLike {
  shape: number[];
  dtype: string;
  rank: number;
  size?: number;
  isDisposed?: boolean;
  dataSync(): ArrayLike<unknown>;
}

export function isTensorLike(v: unknown): v is TensorLike {
  if (typeof v !== 'object' || v === null) return false;
  const t = v as Partial<TensorLike>;
  return Array.isArray(t.shape) && typeof t.dtype === 'string' && typeof t.rank === 'number' && typeof t.dataSync === 'function';
}

const EDGE = 5;          // values shown at each end of an axis longer than 2 * EDGE
const SMALL_EDGE = 3;    // ... when the shown values would still exceed MAX_SHOWN
const MAX_SHOWN = 1000;
const MAX_STRING = 40;   // characters per shown string element

export interface TensorStats {
  min: number | null;
  max: number | null;
  mean: number | null;
  std: number | null;  // population standard deviation (numpy's default)
  nan: number;
  posInf: number;
  negInf: number;
}

/** Statistics over the finite values; null when there are none. */
export function numericStats(values: ArrayLike<number>): TensorStats {
  let nan = 0, posInf = 0, negInf = 0, n = 0, sum = 0, min = Infinity, max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isNaN(v)) nan++;
    else if (v === Infinity) posInf++;
    else if (v === -Infinity) negInf++;
    else {
      n++;
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  if (n === 0) return { min: null, max: null, mean: null, std: null, nan, posInf, negInf };
  const mean = sum / n;
  let sq = 0; // second pass: the textbook one-pass formula loses precision when mean >> std
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) sq += (v - mean) ** 2;
  }
  return { min, max, mean, std: Math.sqrt(sq / n), nan, posInf, negInf };
}

/** Indices shown along an axis of length n: all, or the first and last `edge` with null for the gap. */
function axisIndices(n: number, edge: number): (number | null)[] {
  if (n <= 2 * edge) return Array.from({ length: n }, (_, i) => i);
  return [...Array.from({ length: edge }, (_, i) => i), null, ...Array.from({ length: edge }, (_, i) => n - edge + i)];
}

function elementText(dtype: string, data: ArrayLike<unknown>, flat: number): string {
  if (dtype === 'bool') return data[flat] ? 'true' : 'false';
  if (dtype === 'string') {
    const s = String(data[flat]);
    return JSON.stringify(Array.from(s).length > MAX_STRING ? Array.from(s).slice(0, MAX_STRING - 1).join('') + '…' : s);
  }
  if (dtype === 'complex64') {
    const re = data[2 * flat] as number;
    const im = data[2 * flat + 1] as number;
    return `${formatNumber(re)}${im < 0 || Object.is(im, -0) ? '-' : '+'}${formatNumber(Math.abs(im))}j`;
  }
  return formatNumber(data[flat] as number);
}

/** The shown values as nested brackets, numpy style; '…' marks skipped values. */
export function tensorValuesText(shape: number[], dtype: string, data: ArrayLike<unknown>): string {
  if (shape.length === 0) return elementText(dtype, data, 0);
  const shownAt = (edge: number) => shape.reduce((acc, n) => acc * Math.min(n, 2 * edge + 1), 1);
  const edge = shownAt(EDGE) <= MAX_SHOWN ? EDGE : SMALL_EDGE;
  const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  // Format every shown element first, so one column width fits all.
  const cells = new Map<number, string>();
  const collect = (d: number, base: number) => {
    for (const i of axisIndices(shape[d]!, edge)) {
      if (i === null) continue;
      if (d === shape.length - 1) cells.set(base + i, elementText(dtype, data, base + i));
      else collect(d + 1, base + i * strides[d]!);
    }
  };
  collect(0, 0);
  const width = Math.max(0, ...[...cells.values()].map((c) => c.length));
  const render = (d: number, base: number, indent: string): string => {
    const idx = axisIndices(shape[d]!, edge);
    if (d === shape.length - 1) {
      return `[${idx.map((i) => (i === null ? '…' : cells.get(base + i)!.padStart(width))).join(', ')}]`;
    }
    const sep = `,${'\n'.repeat(shape.length - 1 - d)}${indent} `;
    return `[${idx.map((i) => (i === null ? '…' : render(d + 1, base + i * strides[d]!, indent + ' '))).join(sep)}]`;
  };
  return render(0, 0, '');
}

function statRows(t: TensorLike, data: ArrayLike<unknown>): [string, string][] {
  const size = t.shape.reduce((a, b) => a * b, 1);
  if (t.dtype === 'bool') {
    let trues = 0;
    for (let i = 0; i < size; i++) if (data[i]) trues++;
    return [['true', String(trues)], ['false', String(size - trues)]];
  }
  if (t.dtype === 'string') {
    const distinct = new Set(Array.from({ length: Math.min(size, 100_000) }, (_, i) => data[i])).size;
    return [['distinct', size > 100_000 ? `${distinct}+ (first 100000 values)` : String(distinct)]];
  }
  if (t.dtype === 'complex64' || size === 0) return [];
  const s = numericStats(data as ArrayLike<number>);
  const f = (v: number | null) => (v === null ? '–' : formatNumber(v));
  return [['min', f(s.min)], ['max', f(s.max)], ['mean', f(s.mean)], ['std', f(s.std)], ['NaN', String(s.nan)], ['+Inf', String(s.posInf)], ['-Inf', String(s.negInf)]];
}

/** Mime bundle (text/plain and text/html) for a tensor. */
export function tensorBundle(t: TensorLike): MimeBundle {
  const shape = `[${t.shape.join(', ')}]`;
  const size = t.shape.reduce((a, b) => a * b, 1);
  const head = `Tensor ${t.dtype} ${shape} (${size} value${size === 1 ? '' : 's'})`;
  let stats: [string, string][] = [];
  let values: string;
  if (t.isDisposed) {
    values = '(disposed: its data is gone)';
  } else {
    try {
      const data = t.dataSync();
      stats = statRows(t, data);
      values = tensorValuesText(t.shape, t.dtype, data);
    } catch (err) {
      values = `(cannot read the values: ${(err as Error).message})`;
    }
  }
  const statText = stats.map(([k, v]) => `${k} ${v}`).join('  ');
  const text = [head, ...(statText ? [statText] : []), values].join('\n');
  const statHtml = stats.length
    ? `<table><tr>${stats.map(([k]) => `<th>${escapeHtml(k)}</th>`).join('')}</tr><tr>${stats.map(([, v]) => `<td>${escapeHtml(v)}</td>`).join('')}</tr></table>`
    : '';
  const html = `<div class="orz-tensor"><div><b>Tensor</b> <code>${escapeHtml(t.dtype)}</code> shape <code>${escapeHtml(shape)}</code> (${size} value${size === 1 ? '' : 's'})</div>`
    + `${statHtml}<pre>${escapeHtml(values)}</pre></div>`;
  return { 'text/plain': text, 'text/html': html };
}
