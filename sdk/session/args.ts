// Checking the arguments of a request against the operation's declared shape. Arguments are data only;
// every error names the operation and the argument, e.g. `trainer.run: argument "iterations" must be ...`.

import type { PromptInput } from '../rollout/engine.ts';
import { RolloutBatch } from '../rollout/rollout-batch.ts';

export class ArgumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArgumentError';
  }
}

/** Checks one value; `at` is the argument's name (with a path inside it) for error messages. */
export type Check<T> = (value: unknown, at: string) => T;
export type Spec = Record<string, Check<unknown>>;
export type ArgsOf<S extends Spec> = { [K in keyof S]: ReturnType<S[K]> };

const fail = (at: string, why: string, v: unknown): never => {
  const shown = v === undefined ? 'nothing' : typeof v === 'string' ? JSON.stringify(v.length > 40 ? v.slice(0, 37) + '...' : v) : Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v === 'object' ? 'an object' : String(v);
  throw new ArgumentError(`argument "${at}" ${why}, got ${shown}`);
};

export const str = (opts: { maxLength?: number } = {}): Check<string> => (v, at) =>
  typeof v === 'string' && v.length > 0 && v.length <= (opts.maxLength ?? 4096) ? v : fail(at, `must be a non-empty string${opts.maxLength ? ` of at most ${opts.maxLength} characters` : ''}`, v);

export const anyString = (): Check<string> => (v, at) => (typeof v === 'string' ? v : fail(at, 'must be a string', v));

export const int = (opts: { min?: number; max?: number } = {}): Check<number> => (v, at) => {
  const min = opts.min ?? -Infinity, max = opts.max ?? Infinity;
  return Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? (v as number) : fail(at, `must be an integer${min > -Infinity ? ` >= ${min}` : ''}${min > -Infinity && max < Infinity ? ' and' : ''}${max < Infinity ? ` <= ${max}` : ''}`, v);
};

export const bool = (): Check<boolean> => (v, at) => (typeof v === 'boolean' ? v : fail(at, 'must be true or false', v));

export const oneOf = <T extends string>(...values: T[]): Check<T> => (v, at) =>
  (values as unknown[]).includes(v) ? (v as T) : fail(at, `must be one of ${values.map((x) => JSON.stringify(x)).join(', ')}`, v);

export const optional = <T>(check: Check<T>): Check<T | undefined> => (v, at) => (v === undefined || v === null ? undefined : check(v, at));

export const arrayOf = <T>(check: Check<T>, opts: { max?: number } = {}): Check<T[]> => (v, at) => {
  if (!Array.isArray(v)) return fail(at, 'must be an array', v);
  if (opts.max !== undefined && v.length > opts.max) return fail(at, `must have at most ${opts.max} items`, `${v.length} items`);
  return v.map((x, i) => check(x, `${at}[${i}]`));
};

/** A JSON object passed through as data (e.g. a trainer config; the Trainer validates its fields). */
export const plainObject = (): Check<Record<string, unknown>> => (v, at) =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype ? (v as Record<string, unknown>) : fail(at, 'must be a JSON object', v);

export const numbers = (): Check<number[]> => (v, at) => {
  if (!Array.isArray(v)) return fail(at, 'must be an array of numbers', v);
  const bad = v.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x));
  return bad >= 0 ? fail(`${at}[${bad}]`, 'must be a finite number', v[bad]) : (v as number[]);
};

export const rollouts = (): Check<RolloutBatch> => (v, at) => (v instanceof RolloutBatch ? v : fail(at, 'must be a RolloutBatch (Arrow rollouts)', v));

/** Most prompts one request may carry. */
export const MAX_PROMPTS = 1 << 16;

/** A prompt: a string, or {prompt, groundTruth?, ...fields} with string or number fields (they become columns). */
export const promptInput = (): Check<string | PromptInput> => (v, at) => {
  if (typeof v === 'string') return v;
  const o = plainObject()(v, at);
  if (typeof o['prompt'] !== 'string') throw new ArgumentError(`argument "${at}.prompt" must be a string`);
  for (const [k, x] of Object.entries(o)) {
    if (typeof x !== 'string' && typeof x !== 'number') throw new ArgumentError(`argument "${at}.${k}" must be a string or a number`);
  }
  return o as PromptInput;
};

/** A handle reference: the id or name of a handle (the client sends `handle.id`). */
export const handleRef = (): Check<string> => str({ maxLength: 128 });

/** Validates `raw` against `spec`; unknown arguments are errors too (a typo must not be silently ignored). */
export function parseArgs<S extends Spec>(op: string, raw: unknown, spec: S): ArgsOf<S> {
  try {
    if (raw === undefined || raw === null) raw = {};
    if (typeof raw !== 'object' || Array.isArray(raw)) throw new ArgumentError('arguments must be a JSON object');
    const given = raw as Record<string, unknown>;
    for (const k of Object.keys(given)) {
      if (!(k in spec)) throw new ArgumentError(`unknown argument "${k}" (expected ${Object.keys(spec).map((x) => `"${x}"`).join(', ') || 'none'})`);
    }
    const out: Record<string, unknown> = {};
    for (const [k, check] of Object.entries(spec)) out[k] = check(given[k], k);
    return out as ArgsOf<S>;
  } catch (e) {
    if (e instanceof ArgumentError) throw new ArgumentError(`${op}: ${e.message}`);
    throw e;
  }
}
