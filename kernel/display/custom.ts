// Objects that format themselves: `value[Symbol.for('Jupyter.display')]()` returns a mime bundle, or a
// promise of one. The same convention as Deno's kernel, so a library can target both. The bundle is
// checked and made JSON-ready here, with errors that name the class and the mime type.
import type { MimeBundle } from '../../sdk/viz/index.ts';
import { DisplayDataError, jsonSafe } from '../json-safe.ts';

export const JUPYTER_DISPLAY = Symbol.for('Jupyter.display');

export function hasCustomDisplay(value: unknown): boolean {
  return (typeof value === 'object' || typeof value === 'function') && value !== null
    && typeof (value as { [JUPYTER_DISPLAY]?: unknown })[JUPYTER_DISPLAY] === 'function';
}

/** "RolloutBatch[Symbol.for('Jupyter.display')]()", for error messages. */
export function methodName(value: unknown): string {
  const ctor = typeof value === 'function' ? value.name : (value as { constructor?: { name?: unknown } }).constructor?.name;
  return `${typeof ctor === 'string' && ctor ? ctor : 'object'}[Symbol.for('Jupyter.display')]()`;
}

/** Calls the method; a throw becomes an error that names it (with the original as cause). */
export function callCustomDisplay(value: unknown): unknown {
  try {
    return (value as { [JUPYTER_DISPLAY](): unknown })[JUPYTER_DISPLAY]();
  } catch (err) {
    throw new DisplayDataError(`${methodName(value)} threw: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
}

export function isPromiseLike(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/** JSON-valued mime types (application/json, application/vnd.plotly.v1+json, ...) keep structured data. */
function isJsonMime(mime: string): boolean {
  return mime === 'application/json' || mime.endsWith('+json');
}

/**
 * A bundle as the wire needs it, or null when the method returned null/undefined (meaning: format me the
 * default way). Text types must be strings; bytes (Uint8Array, ArrayBuffer) for binary types such as
 * image/png become base64, as Jupyter expects; JSON types are made plain JSON.
 */
export function normalizeBundle(raw: unknown, where: string): MimeBundle | null {
  if (raw === null || raw === undefined) return null;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new DisplayDataError(`${where} must return a mime bundle object like { 'text/html': '<b>hi</b>' }, got ${Array.isArray(raw) ? 'an array' : typeof raw}`);
  }
  const out: MimeBundle = {};
  for (const [mime, v] of Object.entries(raw)) {
    if (!/^[a-z]+\/[^\s/]+$/i.test(mime)) throw new DisplayDataError(`${where}: "${mime}" is not a mime type (expected type/subtype, e.g. text/html)`);
    if (v === undefined || v === null) continue;
    if (isJsonMime(mime)) {
      out[mime] = jsonSafe(v, { onCycle: 'throw', where: `${where} "${mime}"` });
    } else if (typeof v === 'string') {
      out[mime] = v;
    } else if (v instanceof Uint8Array || v instanceof ArrayBuffer) {
      out[mime] = Buffer.from(v instanceof ArrayBuffer ? new Uint8Array(v) : v).toString('base64');
    } else {
      throw new DisplayDataError(`${where}: the "${mime}" value must be a string${mime.startsWith('text/') ? '' : ' (or bytes, sent as base64)'}, got ${typeof v}`);
    }
  }
  return out;
}
