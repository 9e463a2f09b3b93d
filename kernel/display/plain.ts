// The fallback formatters: util.inspect text for any value, the full story of an Error, and HTML tables
// for Maps and Sets.
import { inspect, types } from 'node:util';
import { recordsBundle, tableBundle } from '../../sdk/viz/index.ts';

const TABLE_ROWS = 20;
const MAX_CAUSES = 5;

/** What the Node REPL would print, without colour codes (front ends show them as garbage). */
export function inspectText(value: unknown): string {
  return inspect(value, { depth: 4, colors: false, breakLength: 100, maxArrayLength: 100, maxStringLength: 10_000 });
}

export function isError(value: unknown): value is Error {
  return types.isNativeError(value) || value instanceof Error;
}

/** "Name: message", the stack, own extra properties (code, errno, ...) and the chain of causes. */
export function errorText(err: Error, depth = 0): string {
  const name = typeof err.name === 'string' ? err.name : 'Error';
  const message = typeof err.message === 'string' ? err.message : String(err.message);
  const header = message ? `${name}: ${message}` : name;
  const stack = typeof err.stack === 'string' ? err.stack : '';
  // V8 stacks start with "Name: message"; a replaced or missing stack gets the header added.
  const lines = [stack.startsWith(header) ? stack : stack ? `${header}\n${stack}` : header];
  const extra = Object.fromEntries(Object.entries(err).filter(([k]) => !['name', 'message', 'stack', 'cause'].includes(k)));
  if (Object.keys(extra).length) lines.push(inspectText(extra));
  if (err instanceof AggregateError && Array.isArray(err.errors)) {
    err.errors.forEach((e, i) => lines.push(`[errors[${i}]] ${isError(e) && depth < MAX_CAUSES ? errorText(e, depth + 1) : inspectText(e)}`));
  }
  if ('cause' in err && err.cause !== undefined) {
    const cause = err.cause;
    lines.push(`Caused by: ${isError(cause) && depth < MAX_CAUSES ? errorText(cause, depth + 1) : inspectText(cause)}`);
  }
  return lines.join('\n');
}

/** First `n` items of an iterable, and whether there were more. */
function head<T>(items: Iterable<T>, n: number): { items: T[]; more: boolean } {
  const out: T[] = [];
  for (const item of items) {
    if (out.length === n) return { items: out, more: true };
    out.push(item);
  }
  return { items: out, more: false };
}

/** An HTML table for a Map (key, value) or a Set (its records as columns, else one value column); null otherwise. */
export function collectionHtml(value: unknown): string | null {
  if (value instanceof Map) {
    if (value.size === 0) return null;
    const { items } = head(value.entries(), TABLE_ROWS);
    const bundle = tableBundle(['key', 'value'], items.map(([k, v]) => [k, v]), { maxRows: TABLE_ROWS, totalRows: value.size, title: `Map (${value.size} entries)` });
    return bundle['text/html'] as string;
  }
  if (value instanceof Set) {
    if (value.size === 0) return null;
    const { items } = head(value.values(), TABLE_ROWS);
    const title = `Set (${value.size} values)`;
    const records = value.size <= TABLE_ROWS ? recordsBundle(items, { title }) : null;
    if (records) return records['text/html'] as string;
    return tableBundle(['value'], items.map((v) => [v]), { maxRows: TABLE_ROWS, totalRows: value.size, title })['text/html'] as string;
  }
  return null;
}
