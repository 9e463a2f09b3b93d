// The result of generation: one row per sample in an apache-arrow Table, so a batch prints as a table in a
// notebook, travels as Arrow IPC on the wire and is saved as an Arrow IPC file (runs/<name>/rollouts/iter-N.arrow).
import { writeFileAtomic } from '../util/atomic-write.ts';
import * as arrow from 'apache-arrow';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { inspect } from 'node:util';
import { JUPYTER_DISPLAY, tableBundle, textTable, type MimeBundle } from '../viz/index.ts';

export interface RolloutSample {
  promptIndex: number;   // which prompt of the batch
  sampleIndex: number;   // which of the n samples of that prompt
  prompt: string;        // the full templated prompt
  response: string;
  promptIds: number[];
  responseIds: number[];
  logprobs: number[];    // one per response token, under the sampling policy (stored as float32)
  finishReason: 'stop' | 'length';
  groundTruth: string;   // may be empty
  reward?: number;       // stored as float32
  [extra: string]: unknown; // extra per-sample record fields: strings or numbers (e.g. level)
}

/**
 * A prompt the engine did not generate for: its `promptTokens` leave no room for a new token under the
 * model's context of `limit` positions. It has no rows in the batch.
 */
export interface SkippedPrompt { promptIndex: number; promptTokens: number; limit: number }

// The skipped prompts travel in the table's schema metadata (JSON under this key), so an Arrow IPC stream on the
// wire and a saved iter-N.arrow file carry them with the rows, and a batch read back lists them again.
const SKIPPED_KEY = 'orz.skipped';

function skippedOf(table: arrow.Table, where: string): SkippedPrompt[] {
  const text = table.schema.metadata.get(SKIPPED_KEY);
  if (text === undefined) return [];
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch (err) {
    throw new Error(`${where}: schema metadata "${SKIPPED_KEY}" is not JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(list)) throw new Error(`${where}: schema metadata "${SKIPPED_KEY}" must be a JSON array`);
  return list.map((x: unknown, i) => {
    const o = x as Record<string, unknown>;
    for (const k of ['promptIndex', 'promptTokens', 'limit'] as const) {
      if (typeof o?.[k] !== 'number' || !Number.isInteger(o[k]) || (o[k] as number) < 0) {
        throw new Error(`${where}: schema metadata "${SKIPPED_KEY}" entry ${i}: "${k}" must be a non-negative integer, got ${JSON.stringify(o?.[k])}`);
      }
    }
    return { promptIndex: o.promptIndex as number, promptTokens: o.promptTokens as number, limit: o.limit as number };
  });
}

const int32List = () => new arrow.List(new arrow.Field('item', new arrow.Int32(), true));
const float32List = () => new arrow.List(new arrow.Field('item', new arrow.Float32(), true));

// Fixed columns and their Arrow types, in table order; `reward` and the extras follow.
const COLUMNS = {
  promptIndex: () => new arrow.Int32(),
  sampleIndex: () => new arrow.Int32(),
  prompt: () => new arrow.Utf8(),
  response: () => new arrow.Utf8(),
  promptIds: int32List,
  responseIds: int32List,
  logprobs: float32List,
  finishReason: () => new arrow.Utf8(),
  groundTruth: () => new arrow.Utf8(),
} as const;
type FixedColumn = keyof typeof COLUMNS;
const FIXED = Object.keys(COLUMNS) as FixedColumn[];
const KNOWN = new Set<string>([...FIXED, 'reward']);
const REWARD_TYPE = 'Float32';

const DISPLAY_ROWS = 20;
const INT32_MAX = 2 ** 31 - 1;

function isInt32(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= -INT32_MAX - 1 && v <= INT32_MAX;
}

function checkSample(s: RolloutSample, i: number): void {
  const where = `RolloutBatch.fromSamples: sample ${i}`;
  if (typeof s !== 'object' || s === null) throw new Error(`${where} is not an object`);
  for (const k of ['promptIndex', 'sampleIndex'] as const) {
    if (!isInt32(s[k])) throw new Error(`${where}: ${k} must be an int32, got ${String(s[k])}`);
  }
  for (const k of ['prompt', 'response', 'groundTruth'] as const) {
    if (typeof s[k] !== 'string') throw new Error(`${where}: ${k} must be a string, got ${typeof s[k]}`);
  }
  for (const k of ['promptIds', 'responseIds'] as const) {
    const ids: unknown = s[k];
    if (!Array.isArray(ids)) throw new Error(`${where}: ${k} must be an array of token ids`);
    const bad = ids.findIndex((id) => !isInt32(id));
    if (bad >= 0) throw new Error(`${where}: ${k}[${bad}] is not an int32 token id: ${String(ids[bad])}`);
  }
  if (!Array.isArray(s.logprobs) || s.logprobs.some((v) => typeof v !== 'number')) {
    throw new Error(`${where}: logprobs must be an array of numbers`);
  }
  if (s.logprobs.length !== s.responseIds.length) {
    throw new Error(`${where}: ${s.logprobs.length} logprobs for ${s.responseIds.length} response tokens (need one per token)`);
  }
  if (s.finishReason !== 'stop' && s.finishReason !== 'length') {
    throw new Error(`${where}: finishReason must be "stop" or "length", got ${JSON.stringify(s.finishReason)}`);
  }
  if (s.reward !== undefined && s.reward !== null && typeof s.reward !== 'number') {
    throw new Error(`${where}: reward must be a number, got ${typeof s.reward}`);
  }
}

/** Extra fields (name -> 'number' | 'string') in first-seen order; one kind per field across samples. */
function extraKinds(samples: RolloutSample[]): Map<string, 'number' | 'string'> {
  const kinds = new Map<string, 'number' | 'string'>();
  const firstSeen = new Map<string, number>();
  samples.forEach((s, i) => {
    for (const [k, v] of Object.entries(s)) {
      if (KNOWN.has(k) || v === undefined || v === null) continue;
      if (typeof v !== 'number' && typeof v !== 'string') {
        throw new Error(`RolloutBatch.fromSamples: sample ${i}: extra field "${k}" must be a string or number, got ${typeof v}`);
      }
      const kind = kinds.get(k);
      if (kind === undefined) {
        kinds.set(k, typeof v as 'number' | 'string');
        firstSeen.set(k, i);
      } else if (kind !== typeof v) {
        throw new Error(`RolloutBatch.fromSamples: extra field "${k}" is a ${kind} in sample ${firstSeen.get(k)} but a ${typeof v} in sample ${i}`);
      }
    }
  });
  return kinds;
}

/** Checks a table has the RolloutBatch columns with the right types; returns the extra column names. */
function checkTable(table: arrow.Table): string[] {
  const where = 'RolloutBatch.fromTable';
  for (const name of FIXED) {
    const field = table.schema.fields.find((f) => f.name === name);
    const expected = String(COLUMNS[name]());
    if (!field) throw new Error(`${where}: missing column "${name}" (${expected})`);
    if (String(field.type) !== expected) throw new Error(`${where}: column "${name}" must be ${expected}, got ${String(field.type)}`);
    const nulls = table.getChild(name)!.nullCount;
    if (nulls > 0) throw new Error(`${where}: column "${name}" has ${nulls} null values`);
  }
  const extras: string[] = [];
  for (const field of table.schema.fields) {
    if (field.name === 'reward' && String(field.type) !== REWARD_TYPE) {
      throw new Error(`${where}: column "reward" must be ${REWARD_TYPE}, got ${String(field.type)}`);
    }
    if (KNOWN.has(field.name)) continue;
    const t = field.type;
    if (!arrow.DataType.isInt(t) && !arrow.DataType.isFloat(t) && !arrow.DataType.isUtf8(t)) {
      throw new Error(`${where}: extra column "${field.name}" must be numeric or Utf8, got ${String(t)}`);
    }
    extras.push(field.name);
  }
  return extras;
}


const toNumber = (v: unknown) => (typeof v === 'bigint' ? Number(v) : (v as number));

export class RolloutBatch {
  readonly table: arrow.Table;
  private readonly extras: string[];
  /** Prompts that had no room for a response under the context: not generated, no rows here. */
  readonly skipped: readonly SkippedPrompt[];

  private constructor(table: arrow.Table, extras: string[], skipped: readonly SkippedPrompt[] = []) {
    this.table = table;
    this.extras = extras;
    this.skipped = skipped;
    if (skipped.length > 0) table.schema.metadata.set(SKIPPED_KEY, JSON.stringify(skipped));
  }

  static fromSamples(samples: RolloutSample[], skipped: readonly SkippedPrompt[] = []): RolloutBatch {
    if (!Array.isArray(samples)) throw new Error('RolloutBatch.fromSamples: samples must be an array');
    samples.forEach(checkSample);
    const kinds = extraKinds(samples);
    const columns: Record<string, arrow.Vector> = {};
    for (const name of FIXED) {
      columns[name] = arrow.vectorFromArray(samples.map((s) => s[name]), COLUMNS[name]() as arrow.DataType);
    }
    if (samples.some((s) => typeof s.reward === 'number')) {
      columns.reward = arrow.vectorFromArray(samples.map((s) => s.reward ?? null), new arrow.Float32());
    }
    for (const [name, kind] of kinds) {
      const type = kind === 'number' ? new arrow.Float64() : new arrow.Utf8();
      columns[name] = arrow.vectorFromArray(samples.map((s) => (s[name] ?? null) as number | string | null), type as arrow.DataType);
    }
    return new RolloutBatch(new arrow.Table(columns), [...kinds.keys()], skipped);
  }

  /** A table of RolloutBatch columns (e.g. read from Arrow IPC); its skipped prompts come from the schema metadata. */
  static fromTable(table: arrow.Table): RolloutBatch {
    return new RolloutBatch(table, checkTable(table), skippedOf(table, 'RolloutBatch.fromTable'));
  }

  /**
   * One batch of several batches' rows in order, and their skipped prompts (by prompt index): what the slices of
   * one generate call, e.g. on several rollout workers, add up to.
   */
  static concat(batches: readonly RolloutBatch[]): RolloutBatch {
    const skipped = batches.flatMap((b) => b.skipped).sort((a, b) => a.promptIndex - b.promptIndex);
    return RolloutBatch.fromSamples(batches.flatMap((b) => b.samples()), skipped);
  }

  /** Read an Arrow IPC file written by save(). */
  static async load(path: string): Promise<RolloutBatch> {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch (err) {
      throw new Error(`RolloutBatch.load: cannot read ${path}: ${(err as Error).message}`);
    }
    let table: arrow.Table;
    try {
      table = arrow.tableFromIPC(bytes);
    } catch (err) {
      throw new Error(`RolloutBatch.load: ${path} is not an Arrow IPC file: ${(err as Error).message}`);
    }
    try {
      return RolloutBatch.fromTable(table);
    } catch (err) {
      throw new Error(`RolloutBatch.load: ${path}: ${(err as Error).message}`);
    }
  }

  get length(): number {
    return this.table.numRows;
  }

  private column(name: string): arrow.Vector {
    return this.table.getChild(name)!;
  }

  /** Row i as a plain JS object (lists as number[]; null reward/extras are left out). */
  sample(i: number): RolloutSample {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) {
      throw new RangeError(`RolloutBatch.sample: index ${i} is out of range for ${this.length} samples`);
    }
    const list = (name: string) => Array.from(this.column(name).get(i)!.toArray() as ArrayLike<number>);
    const s: RolloutSample = {
      promptIndex: this.column('promptIndex').get(i),
      sampleIndex: this.column('sampleIndex').get(i),
      prompt: this.column('prompt').get(i),
      response: this.column('response').get(i),
      promptIds: list('promptIds'),
      responseIds: list('responseIds'),
      logprobs: list('logprobs'),
      finishReason: this.column('finishReason').get(i),
      groundTruth: this.column('groundTruth').get(i),
    };
    const reward = this.table.getChild('reward')?.get(i);
    if (reward !== null && reward !== undefined) s.reward = reward;
    for (const name of this.extras) {
      const v = this.column(name).get(i);
      if (v !== null && v !== undefined) s[name] = typeof v === 'string' ? v : toNumber(v);
    }
    return s;
  }

  /**
   * Visits every row of a token-list column (promptIds, responseIds, logprobs) straight over its Arrow
   * buffers: row i's values are values[start .. end). Nothing is copied.
   */
  forEachList(name: 'promptIds' | 'responseIds' | 'logprobs', visit: (row: number, values: Int32Array | Float32Array, start: number, end: number) => void): void {
    let row = 0;
    for (const chunk of this.column(name).data) {
      const offsets = chunk.valueOffsets; // already starts at the chunk's first row
      const child = chunk.children[0]!;
      const values = child.values as Int32Array | Float32Array;
      for (let k = 0; k < chunk.length; k++, row++) visit(row, values, child.offset + offsets[k]!, child.offset + offsets[k + 1]!);
    }
  }

  samples(): RolloutSample[] {
    return Array.from({ length: this.length }, (_, i) => this.sample(i));
  }

  /** A new batch with the `reward` column set (replaced if present). */
  withRewards(rewards: number[]): RolloutBatch {
    if (!Array.isArray(rewards) || rewards.length !== this.length) {
      const got = Array.isArray(rewards) ? `${rewards.length} rewards` : 'no array';
      throw new Error(`RolloutBatch.withRewards: got ${got} for ${this.length} samples`);
    }
    const bad = rewards.findIndex((r) => typeof r !== 'number' || !Number.isFinite(r));
    if (bad >= 0) throw new Error(`RolloutBatch.withRewards: reward ${bad} is not a finite number: ${String(rewards[bad])}`);
    const columns: Record<string, arrow.Vector> = {};
    for (const name of FIXED) columns[name] = this.column(name);
    columns.reward = arrow.vectorFromArray(rewards, new arrow.Float32());
    for (const name of this.extras) columns[name] = this.column(name);
    return new RolloutBatch(new arrow.Table(columns), this.extras, this.skipped);
  }

  /** Save as an Arrow IPC file (atomic: temp file + rename). */
  async save(path: string): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, [arrow.tableToIPC(this.table, 'file')]);
  }

  private summary(): string {
    const prompts = new Set(this.column('promptIndex').toArray()).size;
    const names = this.table.schema.fields.map((f) => f.name).join(', ');
    return `RolloutBatch: ${this.length} samples from ${prompts} prompts; columns: ${names}`;
  }

  /** First rows in display form: token lists become a count, the rest stay as is. */
  private displayRows(withPrompt: boolean): { columns: string[]; rows: unknown[][] } {
    const hasReward = this.table.getChild('reward') !== null;
    const columns = ['promptIndex', 'sampleIndex', ...(withPrompt ? ['prompt'] : []), 'response', 'responseLength', 'finishReason', 'groundTruth',
      ...(hasReward ? ['reward'] : []), ...this.extras];
    const rows: unknown[][] = [];
    for (let i = 0; i < Math.min(DISPLAY_ROWS, this.length); i++) {
      const s = this.sample(i);
      rows.push(columns.map((c) => (c === 'responseLength' ? s.responseIds.length : (s[c] ?? null))));
    }
    return { columns, rows };
  }

  toString(): string {
    const { columns, rows } = this.displayRows(false);
    const more = this.length > rows.length ? `\n… ${this.length - rows.length} more samples` : '';
    return `${this.summary()}\n${textTable(columns, rows, { maxRows: DISPLAY_ROWS, maxCellWidth: 48 })}${more}`;
  }

  [inspect.custom](): string {
    return this.toString();
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    const { columns, rows } = this.displayRows(true);
    const shown = this.length > rows.length ? ` (first ${rows.length} shown)` : '';
    const bundle = tableBundle(columns, rows, { maxRows: DISPLAY_ROWS, title: this.summary() + shown });
    return { ...bundle, 'text/plain': this.toString() };
  }
}
