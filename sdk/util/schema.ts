// A small typed schema for JSON configs. Each field is declared once with its type and range, and a schema
// for an interface `T` must list every field of `T` with a schema of that field's type (checked at compile
// time), so the documented interface and the check cannot drift apart.
//
// Checking never converts: "2e-4" is a string, not a number, and "false" is not a boolean. Unknown keys
// are errors naming the closest valid key, and every message names the field's full path
// (`trainer.generation.maxNewTokens`).
//
// Why not zod or valibot: that is a new dependency for about 150 lines, and we would still rewrite its
// messages to read like these ("must be a positive integer, got the string \"16\"", "did you mean coef?").

/** Checks one value; T ties the schema to the TypeScript type it describes (compile time only). */
export interface Schema<T> {
  /** What a valid value is, as the error message says it: "a positive integer", "an array of strings". */
  readonly expected: string;
  /** Pushes one message per problem of `value` (found at `path`) onto `issues`. */
  check(value: unknown, path: string, issues: string[]): void;
  /** Phantom: makes Schema<T> invariant in T, so a field's schema must match its type exactly. */
  readonly _type?: (t: T) => T;
}

/** Every field of T, each with a schema of its own type (optional fields included). */
export type Fields<T> = { [K in keyof T]-?: Schema<Exclude<T[K], undefined>> };

export interface ObjectSchema<T> extends Schema<T> {
  readonly fields: Fields<T>;
}

/** T with every field optional, nested objects too (arrays are whole values). */
export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] };

/** A value as an error message shows it: strings are quoted and called strings, so `"16"` never reads as 16. */
export function describeValue(v: unknown): string {
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  if (v === undefined) return 'nothing';
  if (typeof v === 'function') return 'a function';
  if (typeof v !== 'object' || v === null) return String(v);
  const json = JSON.stringify(v) ?? String(v);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

function mismatch(path: string, expected: string, value: unknown): string {
  return `${path} must be ${expected}, got ${describeValue(value)}`;
}

export interface NumberOptions {
  /** Integers only. */
  int?: boolean;
  min?: number;
  max?: number;
  /** `min` itself is not allowed (e.g. "> 0"). */
  exclusiveMin?: boolean;
}

function rangeText(o: NumberOptions): string {
  const lo = o.min === undefined ? '' : o.exclusiveMin ? `> ${o.min}` : `>= ${o.min}`;
  if (o.max === undefined) return lo;
  if (o.min === undefined) return `<= ${o.max}`;
  return `in ${o.exclusiveMin ? '(' : '['}${o.min}, ${o.max}]`;
}

function integerText(o: NumberOptions): string {
  if (o.min === 1 && !o.exclusiveMin && o.max === undefined) return 'a positive integer';
  const range = rangeText(o);
  return range ? `an integer ${range}` : 'an integer';
}

/**
 * A finite number (JSON numbers only; a numeric string is refused). Integers are described with their
 * range ("a positive integer"); other numbers say "a number" when the type is wrong and the range when
 * the value is out of it ("policyLr must be > 0").
 */
export function number(o: NumberOptions = {}): Schema<number> {
  const expected = o.int ? integerText(o) : `a number${rangeText(o) ? ` ${rangeText(o)}` : ''}`;
  return {
    expected,
    check(v, path, issues) {
      if (typeof v !== 'number' || !Number.isFinite(v)) { issues.push(mismatch(path, o.int ? expected : 'a number', v)); return; }
      const inRange = (o.min === undefined || (o.exclusiveMin ? v > o.min : v >= o.min)) && (o.max === undefined || v <= o.max);
      if (o.int && !(Number.isInteger(v) && inRange)) issues.push(mismatch(path, expected, v));
      else if (!inRange) issues.push(`${path} must be ${rangeText(o)}, got ${v}`);
    },
  };
}

export function boolean(): Schema<boolean> {
  return {
    expected: 'true or false',
    check(v, path, issues) { if (typeof v !== 'boolean') issues.push(mismatch(path, 'true or false', v)); },
  };
}

export function string(o: { nonEmpty?: boolean } = {}): Schema<string> {
  const expected = o.nonEmpty ? 'a non-empty string' : 'a string';
  return {
    expected,
    check(v, path, issues) { if (typeof v !== 'string' || (o.nonEmpty && v === '')) issues.push(mismatch(path, expected, v)); },
  };
}

/** One of a few strings; a near miss gets the closest ("did you mean \"grpo\"?"). `hint` follows the message. */
export function oneOf<const V extends readonly string[]>(values: V, o: { hint?: string } = {}): Schema<V[number]> {
  const quoted = values.map((v) => JSON.stringify(v));
  const expected = quoted.length === 1 ? quoted[0]! : `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`;
  return {
    expected,
    check(v, path, issues) {
      if (typeof v === 'string' && values.includes(v)) return;
      const near = typeof v === 'string' ? closest(v, values) : undefined;
      issues.push(`${mismatch(path, expected, v)}${near ? ` (did you mean "${near}"?)` : ''}${o.hint ? ` (${o.hint})` : ''}`);
    },
  };
}

/** An array whose items all match `item`; `expected` names it in the plural ("an array of strings"). */
export function arrayOf<T>(item: Schema<T>, expected: string): Schema<T[]> {
  return {
    expected,
    check(v, path, issues) {
      if (!Array.isArray(v)) { issues.push(mismatch(path, expected, v)); return; }
      v.forEach((x, i) => item.check(x, `${path}[${i}]`, issues));
    },
  };
}

/** An array of exactly two items matching `item`. */
export function pair<T>(item: Schema<T>, expected: string): Schema<[T, T]> {
  return {
    expected,
    check(v, path, issues) {
      if (!Array.isArray(v) || v.length !== 2) { issues.push(mismatch(path, expected, v)); return; }
      v.forEach((x, i) => item.check(x, `${path}[${i}]`, issues));
    },
  };
}

/** `base`, plus a rule of its own: values for which `ok` is false are refused as not being `expected`. */
export function refine<T>(base: Schema<T>, expected: string, ok: (v: T) => boolean): Schema<T> {
  return {
    expected,
    check(v, path, issues) {
      const before = issues.length;
      base.check(v, path, issues);
      if (issues.length === before && !ok(v as T)) issues.push(mismatch(path, expected, v));
    },
  };
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * An object with the given fields. Fields not listed in `required` may be missing (defaults fill them
 * elsewhere); a key that is not a field is an error naming the closest field. `$comment` is allowed
 * anywhere, as in JSON Schema, for notes inside config files.
 */
export function object<T>(fields: Fields<T>, o: { required?: readonly (keyof T & string)[] } = {}): ObjectSchema<T> {
  const names = Object.keys(fields);
  return {
    fields,
    expected: 'an object',
    check(v, path, issues) {
      if (!isPlainObject(v)) { issues.push(mismatch(path || 'the config', 'an object', v)); return; }
      const at = (k: string) => (path ? `${path}.${k}` : k);
      for (const [k, x] of Object.entries(v)) {
        if (k === '$comment') continue;
        if (!Object.hasOwn(fields, k)) { issues.push(`unknown field ${at(k)}${suggestion(k, names)}`); continue; }
        if (x !== undefined) (fields as Record<string, Schema<unknown>>)[k]!.check(x, at(k), issues);
      }
      for (const k of o.required ?? []) {
        if (v[k] === undefined) issues.push(`${at(k)} is missing (${(fields as Record<string, Schema<unknown>>)[k]!.expected})`);
      }
    },
  };
}

/** The same checks, typed for a partial input: an object schema already lets non-required fields be missing. */
export function deepPartial<T>(s: ObjectSchema<T>): Schema<DeepPartial<T>> {
  return s as unknown as Schema<DeepPartial<T>>;
}

/** All problems of one config value, each line prefixed with where it came from (a file name). */
export class ConfigError extends Error {
  constructor(readonly source: string, readonly issues: string[]) {
    super(issues.map((i) => `${source}: ${i}`).join('\n'));
    this.name = 'ConfigError';
  }
}

/** Throws a ConfigError listing every problem of `value`; `path` is where the value sits in its file. */
export function assertValid<T>(schema: Schema<T>, value: unknown, source: string, path = ''): void {
  const issues: string[] = [];
  schema.check(value, path, issues);
  if (issues.length) throw new ConfigError(source, issues);
}

// --- "did you mean": the closest name by edit distance (insert, delete, substitute, swap two neighbours)

function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** The candidate closest to `name` (case-insensitive), if it is within a third of the name's length (at least 1 edit). */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(name.length / 3)) + 1;
  for (const c of candidates) {
    const dist = editDistance(name.toLowerCase(), c.toLowerCase());
    if (dist < bestDistance) { best = c; bestDistance = dist; }
  }
  return best;
}

function suggestion(name: string, candidates: readonly string[]): string {
  const near = closest(name, candidates);
  return near ? ` (did you mean ${near}?)` : ` (known fields: ${candidates.join(', ')})`;
}
