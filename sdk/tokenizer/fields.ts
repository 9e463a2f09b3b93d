// Typed access to fields of parsed tokenizer.json objects; errors say where (file and component).

export type JsonObject = Record<string, unknown>;

export function fail(where: string, message: string): never {
  throw new Error(`${where}: ${message}`);
}

export function asObject(value: unknown, where: string): JsonObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(where, 'expected a JSON object');
  return value as JsonObject;
}

export function asArray(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) fail(where, 'expected a JSON array');
  return value;
}

export function stringField(o: JsonObject, key: string, where: string): string {
  const v = o[key];
  if (typeof v !== 'string') fail(where, `field "${key}" must be a string`);
  return v;
}

/** A boolean field; a missing or null field gives `fallback` (HF's serde defaults). */
export function boolField(o: JsonObject, key: string, where: string, fallback: boolean): boolean {
  const v = o[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') fail(where, `field "${key}" must be true or false`);
  return v;
}

export function typeOf(o: JsonObject, where: string): string {
  return stringField(o, 'type', where);
}
