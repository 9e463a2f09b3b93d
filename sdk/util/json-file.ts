// Reading a JSON file so that every error names the file: a missing file, an unreadable one, invalid JSON,
// and (readJsonObject) a value that is not an object.

import { readFile } from 'node:fs/promises';

/** The reason a read or parse failed, in the words errors use: "no such file", "invalid JSON: ...". */
function reason(e: unknown, parsing: boolean): string {
  if (parsing) return `invalid JSON: ${(e as Error).message}`;
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'no such file' : `cannot read: ${(e as Error).message}`;
}

/**
 * The parsed content of `path`. Errors read "<path>: no such file", "<path>: invalid JSON: <why>" or
 * "<path>: cannot read: <why>"; with `what` (e.g. "checkpoint metadata"), "<path>: cannot read <what>: <why>".
 */
export async function readJsonFile(path: string, what?: string): Promise<unknown> {
  const fail = (e: unknown, parsing: boolean) => new Error(`${path}: ${what ? `cannot read ${what}: ` : ''}${reason(e, parsing)}`, { cause: e });
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw fail(e, false);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw fail(e, true);
  }
}

/** readJsonFile() of a file that must hold a JSON object ("<path>: expected a JSON object" otherwise). */
export async function readJsonObject(path: string, what?: string): Promise<Record<string, unknown>> {
  const value = await readJsonFile(path, what);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${path}: ${what ? `${what}: ` : ''}expected a JSON object`);
  return value as Record<string, unknown>;
}
