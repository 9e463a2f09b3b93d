// Message contents built from user values (display bundles, comm data) must survive JSON.stringify in the
// worker: BigInt becomes a number (or a string when it would lose precision), cycles become "[Circular]",
// functions and symbols disappear like JSON.stringify drops them, typed arrays become plain arrays.

export function jsonSafe(value: unknown, ancestors: object[] = []): unknown {
  switch (typeof value) {
    case 'bigint':
      return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'function': case 'symbol': case 'undefined':
      return undefined;
    case 'object': {
      if (value === null) return null;
      if (ancestors.includes(value)) return '[Circular]';
      const toJSON = (value as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') return jsonSafe(toJSON.call(value), ancestors);
      const inner = [...ancestors, value];
      if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
        return Array.from(value as unknown as ArrayLike<number | bigint>, (x) => jsonSafe(x, inner));
      }
      if (Array.isArray(value)) return value.map((x) => jsonSafe(x, inner) ?? null);
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        const safe = jsonSafe(v, inner);
        if (safe !== undefined) out[k] = safe;
      }
      return out;
    }
    default:
      return value;
  }
}
