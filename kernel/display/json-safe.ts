// Mime bundle values travel as JSON in Jupyter messages and .ipynb files. JSON.stringify would turn a
// typed array into {"0": ..., "1": ...} (a plotly trace with Float32Array y would draw nothing), throw on a
// bigint, and recurse forever on a cycle; this makes the value plain JSON first, or says what is wrong.

export class DisplayDataError extends Error {
  override name = 'DisplayDataError';
}

const MAX_DEPTH = 200;

/** A JSON-ready deep copy: typed arrays become arrays, bigints numbers, Maps objects, Sets arrays. */
export function jsonSafe(value: unknown, where: string): unknown {
  const seen = new Set<object>();
  const walk = (v: unknown, path: string, depth: number): unknown => {
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
    if (typeof v === 'number') return Number.isFinite(v) ? v : null;
    if (typeof v === 'bigint') return Number(v);
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') return undefined;
    if (depth > MAX_DEPTH) throw new DisplayDataError(`${where}: ${path} is nested more than ${MAX_DEPTH} levels deep`);
    const obj = v as object;
    if (seen.has(obj)) throw new DisplayDataError(`${where}: ${path} refers back to itself (a cycle), which JSON cannot hold`);
    seen.add(obj);
    try {
      if (ArrayBuffer.isView(obj) && !(obj instanceof DataView)) {
        return Array.from(obj as unknown as ArrayLike<number | bigint>, (x) => (typeof x === 'bigint' ? Number(x) : Number.isFinite(x) ? x : null));
      }
      if (Array.isArray(obj)) return obj.map((x, i) => walk(x, `${path}[${i}]`, depth + 1) ?? null);
      if (obj instanceof Map) return walk(Object.fromEntries(obj), path, depth + 1);
      if (obj instanceof Set) return walk([...obj], path, depth + 1);
      // toJSON: Dates (ISO text) and classes that choose their own JSON form
      if (typeof (obj as { toJSON?: unknown }).toJSON === 'function') return walk((obj as { toJSON(): unknown }).toJSON(), path, depth + 1);
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(obj)) {
        const j = walk(x, `${path}.${k}`, depth + 1);
        if (j !== undefined) out[k] = j;
      }
      return out;
    } finally {
      seen.delete(obj);
    }
  };
  return walk(value, 'value', 0);
}
