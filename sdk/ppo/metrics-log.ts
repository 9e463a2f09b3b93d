// The run's metrics, one row per PPO iteration. On disk (runs/<name>/): metrics.jsonl is the append-only
// record (one fsync'd line per iteration, so a crash loses at most the line being written) and
// metrics.arrow is the same rows as an Arrow table, rewritten atomically for readers and reports.
import { writeFileAtomic } from '../util/atomic-write.ts';
import * as arrow from 'apache-arrow';
import { mkdir, open, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { JUPYTER_DISPLAY, tableBundle, type MimeBundle } from '../viz/index.ts';

export type MetricsRow = Record<string, number | string | null>;

export const METRICS_JSONL = 'metrics.jsonl';
export const METRICS_ARROW = 'metrics.arrow';
const DISPLAY_ROWS = 20;

/** A copy of the row with values checked; NaN and ±Infinity become null, as JSON would store them. */
function cleanRow(row: MetricsRow, where: string): MetricsRow {
  if (typeof row !== 'object' || row === null || Array.isArray(row)) throw new Error(`${where}: a metrics row must be an object`);
  const out: MetricsRow = {};
  for (const [k, v] of Object.entries(row)) {
    if (typeof v === 'number') out[k] = Number.isFinite(v) ? v : null;
    else if (typeof v === 'string' || v === null) out[k] = v;
    else throw new Error(`${where}: "${k}" must be a number, string or null, got ${typeof v}`);
  }
  return out;
}

/** The rows up to `iteration` (rows without a numeric iteration are kept), as truncateAfter keeps them. */
export function rowsThrough(rows: readonly MetricsRow[], iteration: number): MetricsRow[] {
  return rows.filter((row) => !(typeof row['iteration'] === 'number' && row['iteration'] > iteration));
}

async function appendLine(path: string, line: string): Promise<void> {
  try {
    const fh = await open(path, 'a');
    try {
      await fh.writeFile(line);
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw new Error(`MetricsLog: cannot append to ${path}: ${(err as Error).message}`);
  }
}

export class MetricsLog {
  private readonly rowList: MetricsRow[];
  // Which directory's metrics.jsonl holds exactly rowList[0..count): only then may a save append to it;
  // otherwise (fresh log, rows dropped by truncateAfter, torn last line) the file is rewritten whole.
  private synced: { dir: string; count: number } | null = null;

  constructor(rows: MetricsRow[] = []) {
    this.rowList = rows.map((row, i) => cleanRow(row, `MetricsLog: row ${i}`));
  }

  /** Resume from dir/metrics.jsonl if it exists, else start empty. */
  static async open(dir: string): Promise<MetricsLog> {
    const path = join(dir, METRICS_JSONL);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new MetricsLog();
      throw new Error(`MetricsLog.open: cannot read ${path}: ${(err as Error).message}`);
    }
    const lines = text.split('\n');
    const tornTail = lines[lines.length - 1] !== ''; // the last write was cut short: not a finished line
    const rows: MetricsRow[] = [];
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      let row: unknown;
      try {
        row = JSON.parse(line);
      } catch (err) {
        if (tornTail && i === lines.length - 1) return; // drop it; the next save rewrites the file
        throw new Error(`MetricsLog.open: ${path} line ${i + 1} is not JSON: ${(err as Error).message}`);
      }
      rows.push(cleanRow(row as MetricsRow, `MetricsLog.open: ${path} line ${i + 1}`));
    });
    const log = new MetricsLog(rows);
    if (!tornTail) log.synced = { dir: resolve(dir), count: rows.length };
    return log;
  }

  get rows(): readonly MetricsRow[] {
    return this.rowList;
  }

  /** Add a row in memory only. */
  append(row: MetricsRow): void {
    this.rowList.push(cleanRow(row, `MetricsLog.append: row ${this.rowList.length}`));
  }

  /** Add a row and persist it (see save()). */
  async appendAndSave(dir: string, row: MetricsRow): Promise<void> {
    this.append(row);
    await this.save(dir);
  }

  /** Merge fields into the last row (e.g. eval results computed after the iteration's row). */
  amendLast(fields: MetricsRow): void {
    const last = this.rowList.length - 1;
    if (last < 0) throw new Error('MetricsLog.amendLast: the log is empty');
    this.rowList[last] = cleanRow({ ...this.rowList[last], ...fields }, `MetricsLog.amendLast: row ${last}`);
    if (this.synced && this.synced.count > last) this.synced = null; // that line is on disk already: rewrite
  }

  /**
   * Persist to dir: rows not yet on disk are appended to metrics.jsonl as fsync'd lines when the file
   * holds exactly the earlier rows, else the file is rewritten atomically; metrics.arrow is rewritten atomically.
   */
  async save(dir: string): Promise<void> {
    const abs = resolve(dir);
    await mkdir(abs, { recursive: true });
    const jsonl = join(abs, METRICS_JSONL);
    if (this.synced?.dir === abs && this.synced.count <= this.rowList.length) {
      const fresh = this.rowList.slice(this.synced.count);
      if (fresh.length) await appendLine(jsonl, fresh.map((r) => JSON.stringify(r) + '\n').join(''));
    } else {
      await writeFileAtomic(jsonl, this.rowList.map((r) => JSON.stringify(r) + '\n').join(''));
    }
    this.synced = { dir: abs, count: this.rowList.length };
    await writeFileAtomic(join(abs, METRICS_ARROW), [arrow.tableToIPC(this.toTable(), 'file')]);
  }

  /** Replaces every row (a restored trainer state); the next save rewrites the file whole. */
  replaceRows(rows: readonly MetricsRow[]): void {
    const clean = rows.map((row, i) => cleanRow(row, `MetricsLog: row ${i}`));
    this.rowList.splice(0, this.rowList.length, ...clean);
    this.synced = null;
  }

  /** Drop rows whose iteration is greater than n (rows without a numeric iteration are kept). */
  truncateAfter(iteration: number): void {
    const kept = rowsThrough(this.rowList, iteration);
    if (kept.length === this.rowList.length) return;
    this.rowList.splice(0, this.rowList.length, ...kept);
    this.synced = null;
  }

  /** Values of one metric, null where a row lacks it. */
  column(name: string): (number | null)[] {
    return this.rowList.map((row, i) => {
      const v = row[name];
      if (typeof v === 'string') throw new Error(`MetricsLog.column: "${name}" is a string in row ${i}, not a number`);
      return v ?? null;
    });
  }

  /** Keys in first-seen order, `iteration` first. */
  private columnNames(): string[] {
    const keys = new Set<string>();
    for (const row of this.rowList) for (const k of Object.keys(row)) keys.add(k);
    return [...keys].sort((a, b) => Number(b === 'iteration') - Number(a === 'iteration'));
  }

  /** Union of keys as columns: Float64 when every present value is a number, else Utf8; missing = null. */
  toTable(): arrow.Table {
    const columns: Record<string, arrow.Vector> = {};
    for (const name of this.columnNames()) {
      const values = this.rowList.map((row) => row[name] ?? null);
      const numeric = values.every((v) => v === null || typeof v === 'number');
      columns[name] = numeric
        ? arrow.vectorFromArray(values as (number | null)[], new arrow.Float64())
        : arrow.vectorFromArray(values.map((v) => (v === null ? null : String(v))), new arrow.Utf8());
    }
    return new arrow.Table(columns);
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    const names = this.columnNames();
    const tail = this.rowList.slice(-DISPLAY_ROWS);
    const title = tail.length < this.rowList.length ? `metrics (last ${tail.length} of ${this.rowList.length} rows)` : `metrics (${this.rowList.length} rows)`;
    return tableBundle(names, tail.map((row) => names.map((n) => row[n] ?? null)), { maxRows: DISPLAY_ROWS, title });
  }
}
