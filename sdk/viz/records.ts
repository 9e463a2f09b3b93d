// Arrays of plain objects (metrics rows, records a cell built) as tables: one column per key.
import type { MimeBundle } from './html.ts';
import { tableBundle, type TableBundleOptions } from './table.ts';

const MAX_COLUMNS = 100; // wider records read better as util.inspect output than as a table

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

const isScalar = (v: unknown) => v === null || v === undefined || ['number', 'string', 'boolean', 'bigint'].includes(typeof v);

/**
 * Columns for rows that make a table, else null. Rows make a table when they are all plain objects and
 * either have the same keys (any values) or hold only scalars (like metrics rows, where some keys appear
 * in some rows only: missing cells are blank). Columns are keys in first-seen order.
 */
export function recordColumns(rows: readonly unknown[]): string[] | null {
  if (rows.length === 0 || !rows.every(isPlainObject)) return null;
  const records = rows as readonly Record<string, unknown>[];
  const keys = new Set<string>();
  for (const row of records) for (const k of Object.keys(row)) keys.add(k);
  if (keys.size === 0 || keys.size > MAX_COLUMNS) return null;
  const sameKeys = records.every((row) => Object.keys(row).length === keys.size);
  const scalarsOnly = records.every((row) => Object.values(row).every(isScalar));
  return sameKeys || scalarsOnly ? [...keys] : null;
}

/** A table bundle (HTML, aligned text, Table Schema data resource) for record rows, or null if they make no table. */
export function recordsBundle(rows: readonly unknown[], opts: TableBundleOptions = {}): MimeBundle | null {
  const columns = recordColumns(rows);
  if (!columns) return null;
  const maxRows = opts.maxRows ?? 20;
  // Only the shown rows are converted: a million-row array costs no more than its head.
  const shown = (rows as readonly Record<string, unknown>[]).slice(0, maxRows).map((row) => columns.map((c) => row[c] ?? null));
  return tableBundle(columns, shown, { ...opts, maxRows, totalRows: rows.length });
}
