// Tables for humans (aligned text, HTML) and for tools (Table Schema data resource), from columns + rows.
import { escapeHtml, type MimeBundle } from './html.ts';

export interface TextTableOptions {
  maxRows?: number;      // rows shown; the rest are counted in a footer line (default 20)
  maxCellWidth?: number; // characters per cell before truncation with '…' (default 40)
  totalRows?: number;    // rows in the whole table when `rows` is only its head (for the footer)
}

export interface TableBundleOptions {
  maxRows?: number;      // rows shown in every representation, including the data resource (default 20)
  title?: string;
  maxCellChars?: number; // HTML cells are cut after this many characters (default 300)
  totalRows?: number;    // rows in the whole table when `rows` is only its head (for the footer notes)
}

const DEFAULT_MAX_ROWS = 20;
const DEFAULT_CELL_WIDTH = 40;
const DEFAULT_HTML_CELL_CHARS = 300;
const MAX_LIST_ITEMS = 64; // a cell never formats more list items than this

/** Short human form of a number: integers exactly, others to 4 significant digits. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v) || Number.isInteger(v)) return String(v);
  const abs = Math.abs(v);
  if (abs >= 1e6 || abs < 1e-3) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
}

function isListLike(v: unknown): v is ArrayLike<unknown> {
  return Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView));
}

/** One cell as text: null/undefined are blank, lists are bracketed, objects are JSON. */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (isListLike(v)) {
    const shown = Array.from({ length: Math.min(v.length, MAX_LIST_ITEMS) }, (_, i) => formatValue(v[i]));
    return `[${shown.join(', ')}${v.length > MAX_LIST_ITEMS ? ', …' : ''}]`;
  }
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function truncate(text: string, width: number): string {
  const chars = Array.from(text); // by code point, so surrogate pairs are never split
  return chars.length <= width ? text : chars.slice(0, Math.max(0, width - 1)).join('') + '…';
}

function checkRows(columns: string[], rows: unknown[][], fn: string): void {
  rows.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== columns.length) {
      throw new Error(`${fn}: row ${i} has ${Array.isArray(row) ? row.length : 'no'} cells, expected ${columns.length} (one per column)`);
    }
  });
}

function footer(shown: number, total: number): string {
  return shown < total ? `… ${total - shown} more rows (${total} total)` : '';
}

/** Aligned plain-text table; numbers right-aligned, newlines shown as ⏎, long cells cut with '…'. */
export function textTable(columns: string[], rows: unknown[][], opts: TextTableOptions = {}): string {
  checkRows(columns, rows, 'textTable');
  const maxRows = opts.maxRows ?? DEFAULT_MAX_ROWS;
  const width = opts.maxCellWidth ?? DEFAULT_CELL_WIDTH;
  const shown = rows.slice(0, maxRows);
  const oneLine = (s: string) => truncate(s.replace(/\r?\n/g, '⏎').replace(/\t/g, ' '), width);
  const header = columns.map(oneLine);
  const cells = shown.map((row) => row.map((v) => oneLine(formatValue(v))));
  const numeric = columns.map((_, c) => shown.some((r) => typeof r[c] === 'number') && shown.every((r) => typeof r[c] === 'number' || r[c] == null));
  const widths = header.map((h, c) => Math.max(Array.from(h).length, ...cells.map((r) => Array.from(r[c]!).length)));
  const pad = (s: string, c: number) => {
    const gap = ' '.repeat(widths[c]! - Array.from(s).length);
    return numeric[c] ? gap + s : s + gap;
  };
  const lines = [
    header.map(pad).join('  '),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...cells.map((r) => r.map(pad).join('  ')),
  ].map((line) => line.trimEnd());
  const more = footer(shown.length, Math.max(rows.length, opts.totalRows ?? 0));
  if (more) lines.push(more);
  return lines.join('\n');
}

type TableSchemaType = 'integer' | 'number' | 'string' | 'boolean' | 'array' | 'object' | 'any';

/** Table Schema (frictionless) type of a column, from its non-null values. */
function schemaType(values: unknown[]): TableSchemaType {
  const present = values.filter((v) => v !== null && v !== undefined);
  if (present.length === 0) return 'any';
  const all = (test: (v: unknown) => boolean) => present.every(test);
  if (all((v) => typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v)))) return 'integer';
  if (all((v) => typeof v === 'number' || typeof v === 'bigint')) return 'number';
  if (all((v) => typeof v === 'string')) return 'string';
  if (all((v) => typeof v === 'boolean')) return 'boolean';
  if (all(isListLike)) return 'array';
  if (all((v) => typeof v === 'object')) return 'object';
  return 'any';
}

/** A value as plain JSON: typed arrays become arrays, bigints numbers, non-finite numbers null. */
function jsonValue(v: unknown): unknown {
  if (v === undefined) return null;
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'bigint') return Number(v);
  if (isListLike(v)) return Array.from(v, jsonValue);
  return v;
}

// Scoped styles: notebook themes right-align every cell, which is wrong for text.
const TABLE_STYLE = '<style>.orz-table table td, .orz-table table th { text-align: left; vertical-align: top; white-space: pre-wrap; }'
  + ' .orz-table table td.num { text-align: right; } .orz-table caption { text-align: left; font-weight: bold; }</style>';

function htmlTable(columns: string[], rows: unknown[][], total: number, title: string | undefined, maxChars: number): string {
  const head = columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const body = rows.map((row) => {
    const tds = row.map((v) => {
      const cls = typeof v === 'number' || typeof v === 'bigint' ? ' class="num"' : '';
      return `<td${cls}>${escapeHtml(truncate(formatValue(v), maxChars))}</td>`;
    });
    return `<tr>${tds.join('')}</tr>`;
  });
  const caption = title ? `<caption>${escapeHtml(title)}</caption>` : '';
  const more = footer(rows.length, total);
  return [
    `<div class="orz-table">${TABLE_STYLE}`,
    `<table>${caption}<thead><tr>${head}</tr></thead><tbody>${body.join('')}</tbody></table>`,
    more ? `<p><i>${escapeHtml(more)}</i></p>` : '',
    '</div>',
  ].join('');
}

/** Mime bundle for a table: escaped HTML, aligned text and a Table Schema data resource. */
export function tableBundle(columns: string[], rows: unknown[][], opts: TableBundleOptions = {}): MimeBundle {
  checkRows(columns, rows, 'tableBundle');
  const maxRows = opts.maxRows ?? DEFAULT_MAX_ROWS;
  const shown = rows.slice(0, maxRows);
  const fields = columns.map((name, c) => ({ name, type: schemaType(shown.map((r) => r[c])) }));
  const data = shown.map((row) => Object.fromEntries(columns.map((name, c) => [name, jsonValue(row[c])])));
  const total = Math.max(rows.length, opts.totalRows ?? 0);
  const text = textTable(columns, rows, { maxRows, totalRows: total });
  return {
    'text/plain': opts.title ? `${opts.title}\n${text}` : text,
    'text/html': htmlTable(columns, shown, total, opts.title, opts.maxCellChars ?? DEFAULT_HTML_CELL_CHARS),
    'application/vnd.dataresource+json': { schema: { fields }, data },
  };
}
