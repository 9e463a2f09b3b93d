// Readers for math problem datasets: ORZ training JSON, ORZ eval JSON, and JSONL.
// Every reader returns ProblemRecords: the question text, the ground-truth answer as a string, where
// the record came from, and any other fields of the record (e.g. "choices" in GPQA).

import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';

export interface ProblemRecord {
  prompt: string;
  groundTruth: string;
  /** `index` is the record's position in the file's records (0-based; blank JSONL lines not counted). */
  source: { file: string; index: number };
  [field: string]: unknown;
}

/** A problem with a data file; the message names the file and the record index or line number. */
export class DataError extends Error {
  readonly file: string;
  readonly index?: number;
  readonly line?: number;

  constructor(file: string, message: string, where: { index?: number; line?: number } = {}) {
    const at = where.line !== undefined ? `line ${where.line}: ` : where.index !== undefined ? `record ${where.index}: ` : '';
    super(`${file}: ${at}${message}`);
    this.name = 'DataError';
    this.file = file;
    this.index = where.index;
    this.line = where.line;
  }
}

/** A record-level problem; readers turn it into a DataError with the file and position. */
class ShapeError extends Error {}

type Json = Record<string, unknown>;
const RESERVED = new Set(['prompt', 'groundTruth', 'source']);
const USER_ROLES = new Set(['human', 'user']);

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Answers may be strings, numbers, or {"value": ...}; numbers become strings. */
function answerText(value: unknown, what: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (isObject(value) && 'value' in value) return answerText(value.value, `${what}.value`);
  if (value === undefined || value === null) throw new ShapeError(`missing ${what}`);
  throw new ShapeError(`${what} must be a string or a number, got ${JSON.stringify(value)}`);
}

/** Copies fields not consumed by the reader; names we use ourselves are kept as raw_<name>. */
function extraFields(o: Json, consumed: string[]): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(o)) {
    if (consumed.includes(k)) continue;
    out[RESERVED.has(k) ? `raw_${k}` : k] = v;
  }
  return out;
}

function makeRecord(prompt: string, groundTruth: string, extra: Json, file: string, index: number): ProblemRecord {
  return { ...extra, prompt, groundTruth, source: { file, index } };
}

/** [{"from":"human","value":q},{"from":"assistant","ground_truth":{"value":a}}] */
function fromTrainShape(value: unknown, file: string, index: number): ProblemRecord {
  if (!Array.isArray(value)) throw new ShapeError('expected [{"from":"human",...},{"from":"assistant",...}]');
  const human = value.find((t) => isObject(t) && USER_ROLES.has(t.from as string));
  const assistant = value.find((t) => isObject(t) && 'ground_truth' in t);
  if (!isObject(human)) throw new ShapeError('no {"from":"human","value":...} turn');
  if (typeof human.value !== 'string') throw new ShapeError('human turn has no string "value"');
  if (!isObject(assistant)) throw new ShapeError('no assistant turn with "ground_truth"');
  if (!isObject(assistant.ground_truth)) throw new ShapeError('ground_truth must be an object {"value": ...}');
  const truth = answerText(assistant.ground_truth.value, 'ground_truth.value');
  const extra = { ...extraFields(human, ['from', 'value']), ...extraFields(assistant, ['from', 'ground_truth']) };
  return makeRecord(human.value, truth, extra, file, index);
}

/** {"prompt":[{"from":"user","value":q}],"final_answer":a, ...}; the last user turn is the question. */
function fromEvalShape(value: unknown, file: string, index: number): ProblemRecord {
  if (!isObject(value) || !Array.isArray(value.prompt)) throw new ShapeError('expected {"prompt":[{"from":"user","value":...}],"final_answer":...}');
  const userTurns = value.prompt.filter((t) => isObject(t) && USER_ROLES.has(t.from as string));
  const last = userTurns[userTurns.length - 1];
  if (!isObject(last) || typeof last.value !== 'string') throw new ShapeError('prompt has no {"from":"user","value":"..."} turn');
  const truth = answerText(value.final_answer, 'final_answer');
  return makeRecord(last.value, truth, extraFields(value, ['prompt', 'final_answer']), file, index);
}

const PROMPT_KEYS = ['prompt', 'question', 'problem'];
const ANSWER_KEYS = ['answer', 'ground_truth', 'final_answer'];

/** Any of the shapes above, or a flat {prompt|question|problem, answer|ground_truth|final_answer}. */
function fromAnyShape(value: unknown, file: string, index: number): ProblemRecord {
  if (Array.isArray(value)) return fromTrainShape(value, file, index);
  if (!isObject(value)) throw new ShapeError(`expected a JSON object or array, got ${JSON.stringify(value)}`);
  if (Array.isArray(value.prompt)) return fromEvalShape(value, file, index);
  const promptKey = PROMPT_KEYS.find((k) => typeof value[k] === 'string');
  if (!promptKey) throw new ShapeError(`no question: expected a string field ${PROMPT_KEYS.join(' | ')}`);
  const answerKey = ANSWER_KEYS.find((k) => value[k] !== undefined && value[k] !== null);
  if (!answerKey) throw new ShapeError(`no answer: expected a field ${ANSWER_KEYS.join(' | ')}`);
  const truth = answerText(value[answerKey], answerKey);
  return makeRecord(value[promptKey] as string, truth, extraFields(value, [promptKey, answerKey]), file, index);
}

async function readJsonArray(path: string): Promise<unknown[]> {
  const text = await readFile(path, 'utf8').catch((err: Error) => {
    throw new DataError(path, `cannot read: ${err.message}`);
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new DataError(path, `invalid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(json)) throw new DataError(path, 'expected a JSON array of records');
  return json;
}

type Convert = (value: unknown, file: string, index: number) => ProblemRecord;

function convertAll(values: unknown[], file: string, convert: Convert): ProblemRecord[] {
  return values.map((v, index) => {
    try {
      return convert(v, file, index);
    } catch (err) {
      if (err instanceof ShapeError) throw new DataError(file, err.message, { index });
      throw err;
    }
  });
}

/** ORZ training data: a JSON array of [human turn, assistant turn with ground_truth]. */
export async function readOrzTrainJson(path: string): Promise<ProblemRecord[]> {
  return convertAll(await readJsonArray(path), path, fromTrainShape);
}

/** ORZ evaluation data: a JSON array of {prompt: [{from: "user", value}], final_answer, ...extra}. */
export async function readOrzEvalJson(path: string): Promise<ProblemRecord[]> {
  return convertAll(await readJsonArray(path), path, fromEvalShape);
}

/** One record per line in any supported shape; blank lines are skipped; errors give 1-based line numbers. */
export async function readJsonl(path: string): Promise<ProblemRecord[]> {
  const text = await readFile(path, 'utf8').catch((err: Error) => {
    throw new DataError(path, `cannot read: ${err.message}`);
  });
  const records: ProblemRecord[] = [];
  text.split(/\r?\n/).forEach((lineText, i) => {
    if (lineText.trim() === '') return;
    const line = i + 1;
    let value: unknown;
    try {
      value = JSON.parse(lineText);
    } catch (err) {
      throw new DataError(path, `invalid JSON: ${(err as Error).message}`, { line });
    }
    try {
      records.push(fromAnyShape(value, path, records.length));
    } catch (err) {
      if (err instanceof ShapeError) throw new DataError(path, err.message, { line });
      throw err;
    }
  });
  return records;
}

/** Reads .jsonl/.ndjson line by line, or a .json array whose records may be in any supported shape. */
export async function readDataset(path: string): Promise<ProblemRecord[]> {
  const ext = extname(path).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson') return readJsonl(path);
  if (ext === '.json') return convertAll(await readJsonArray(path), path, fromAnyShape);
  throw new DataError(path, `unsupported file type "${ext}" (expected .json, .jsonl or .ndjson)`);
}
