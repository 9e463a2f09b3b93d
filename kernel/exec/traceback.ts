// Errors as the notebook shows them: ename, evalue and a traceback whose frames in cell code point at the
// cell's own line numbers (the compiled JavaScript carries a sourceURL naming the cell; CompiledCell.sourceLine
// maps its lines back). Frames inside the kernel and node internals are left out.

import { inspect } from 'node:util';
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';

export interface CellRecord {
  /** The sourceURL given to the compiled JavaScript. */
  file: string;
  /** How the cell is named in tracebacks, e.g. "In [3]". */
  label: string;
  source: string;
  sourceLine(jsLine: number): number | null;
}

export interface ErrorContent { ename: string; evalue: string; traceback: string[] }

const RED = '\u001b[0;31m';
const GREEN = '\u001b[0;32m';
const CYAN = '\u001b[0;36m';
const RESET = '\u001b[0m';
const KERNEL_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
const KEEP_CELLS = 500;

/** Cells run so far (the newest KEEP_CELLS), so frames of functions defined in an earlier cell map too. */
export class CellRegistry {
  readonly #cells = new Map<string, CellRecord>();

  add(cell: CellRecord): void {
    this.#cells.set(cell.file, cell);
    if (this.#cells.size > KEEP_CELLS) this.#cells.delete(this.#cells.keys().next().value!);
  }

  get(file: string): CellRecord | undefined {
    return this.#cells.get(file);
  }
}

const FRAME = /^\s*at (?:(.*?) \()?(.*?):(\d+):(\d+)\)?$/;

function isInternal(file: string): boolean {
  return file.startsWith('node:') || file === 'orz-kernel-evaluate' || file.includes(KERNEL_DIR) || file === 'native';
}

function sourceExcerpt(cell: CellRecord, line: number): string {
  const text = cell.source.split('\n')[line - 1];
  return text === undefined ? '' : `\n      ${text.trim()}`;
}

/** Stack frames rewritten for the notebook; `null` when the stack has no frames worth showing. */
function frames(stack: string, cells: CellRegistry): string[] {
  const out: string[] = [];
  for (const raw of stack.split('\n')) {
    const m = FRAME.exec(raw);
    if (!m) continue;
    const [, fn, file, line] = m as unknown as [string, string | undefined, string, string];
    const cell = cells.get(file);
    if (cell) {
      const src = cell.sourceLine(Number(line));
      const where = src === null ? `${CYAN}${cell.label}${RESET}` : `${CYAN}${cell.label}${RESET}, line ${GREEN}${src}${RESET}`;
      out.push(`  ${where}${fn ? `, in ${fn}` : ''}${src === null ? '' : sourceExcerpt(cell, src)}`);
    } else if (!isInternal(file)) {
      out.push(`  ${raw.trim()}`);
    }
  }
  return out;
}

export function formatError(error: unknown, cells: CellRegistry): ErrorContent {
  if (error instanceof Error || (error !== null && typeof error === 'object' && 'stack' in error && 'message' in error)) {
    const e = error as Error;
    const ename = e.name || e.constructor?.name || 'Error';
    const evalue = String(e.message ?? '');
    const shown = frames(typeof e.stack === 'string' ? e.stack : '', cells);
    const extra = Object.keys(e).length > 0 ? [inspect(Object.fromEntries(Object.entries(e)), { depth: 2 })] : [];
    const cause = e.cause !== undefined ? [`Caused by: ${e.cause instanceof Error ? `${e.cause.name}: ${e.cause.message}` : inspect(e.cause)}`] : [];
    return { ename, evalue, traceback: [`${RED}${ename}${RESET}: ${evalue}`, ...shown, ...extra, ...cause] };
  }
  const evalue = inspect(error, { depth: 2 });
  return { ename: 'Thrown', evalue, traceback: [`${RED}Thrown${RESET}: ${evalue} (a value that is not an Error was thrown)`] };
}

/** A cell that does not parse: point at the line and column in the cell. */
export function formatSyntaxError(ename: string, message: string, line: number, column: number, cell: { label: string; source: string }): ErrorContent {
  const text = cell.source.split('\n')[line - 1] ?? '';
  const caret = `${' '.repeat(Math.max(0, column - 1))}^`;
  return {
    ename,
    evalue: message,
    traceback: [
      `${RED}${ename}${RESET}: ${message}`,
      `  ${CYAN}${cell.label}${RESET}, line ${GREEN}${line}${RESET}, column ${column}`,
      `      ${text}`,
      `      ${caret}`,
    ],
  };
}

export function interruptedError(): ErrorContent {
  return { ename: 'KeyboardInterrupt', evalue: 'execution interrupted', traceback: [`${RED}KeyboardInterrupt${RESET}: execution interrupted (variables keep their values)`] };
}
