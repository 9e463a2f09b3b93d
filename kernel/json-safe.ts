// User values that travel as JSON (display bundles, comm data, message metadata, .ipynb outputs) made plain
// JSON first. JSON.stringify would turn a typed array into {"0": ..., "1": ...} (a plotly trace with a
// Float32Array y would draw nothing), throw on a bigint and recurse forever on a cycle.
//
//   typed arrays -> arrays, Map -> object, Set -> array, toJSON() honoured (Dates become ISO text),
//   bigint -> number (a string when the number would lose digits), NaN/Infinity -> null,
//   functions, symbols and undefined dropped as JSON.stringify drops them.
//
// A cycle or absurd nesting either becomes a marker ("[Circular]", for messages that must go out anyway) or
// an error naming the path (for display data, where a silently changed value would mislead).

export class DisplayDataError extends Error {
  override name = 'DisplayDataError';
}

export type JsonSafeOptions =
  /** Replace a cycle by "[Circular]" and nesting past the limit by "[Too deep]". */
  | { onCycle: 'mark' }
  /** Throw a DisplayDataError naming `where` and the path. */
  | { onCycle: 'throw'; where: string };

const MAX_DEPTH = 200;

export function jsonSafe(value: unknown, opts: JsonSafeOptions = { onCycle: 'mark' }): unknown {
  const onPath = new Set<object>(); // ancestors of the current value: a repeated, non-cyclic object is fine
  const refuse = (path: string, why: string, marker: string) => {
    if (opts.onCycle === 'mark') return marker;
    throw new DisplayDataError(`${opts.where}: ${path} ${why}`);
  };
  const walk = (v: unknown, path: string, depth: number): unknown => {
    switch (typeof v) {
      case 'string': case 'boolean': return v;
      case 'number': return Number.isFinite(v) ? v : null;
      case 'bigint': return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
      case 'function': case 'symbol': case 'undefined': return undefined;
    }
    if (v === null) return null;
    const obj = v as object;
    if (depth > MAX_DEPTH) return refuse(path, `is nested more than ${MAX_DEPTH} levels deep`, '[Too deep]');
    if (onPath.has(obj)) return refuse(path, 'refers back to itself (a cycle), which JSON cannot hold', '[Circular]');
    onPath.add(obj);
    try {
      if (ArrayBuffer.isView(obj) && !(obj instanceof DataView)) {
        return Array.from(obj as unknown as ArrayLike<number | bigint>, (x, i) => walk(x, `${path}[${i}]`, depth + 1));
      }
      if (Array.isArray(obj)) return obj.map((x, i) => walk(x, `${path}[${i}]`, depth + 1) ?? null);
      if (obj instanceof Map) return walk(Object.fromEntries(obj), path, depth + 1);
      if (obj instanceof Set) return walk([...obj], path, depth + 1);
      const toJSON = (obj as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') return walk(toJSON.call(obj), path, depth + 1);
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(obj)) {
        const j = walk(x, `${path}.${k}`, depth + 1);
        if (j !== undefined) out[k] = j;
      }
      return out;
    } finally {
      onPath.delete(obj);
    }
  };
  return walk(value, 'value', 0);
}
