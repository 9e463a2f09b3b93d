// Readers for math problem datasets: ORZ training JSON, ORZ eval JSON, and JSONL.
// Every reader returns ProblemRecords: the question text, the ground-truth answer as a string, where
// the record came from, and any other fields of the record (e.g. "choices" in GPQA).

import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { lineColumn, scanJson } from './json-scan.ts';

export interface ProblemRecord {
  prompt: string;
  groundTruth: string;
  /** `index` is the record's position in the file's records (0-based; blank JSONL lines not counted). */
  source: { file: string; index: number };
  [field: string]: unknown;
}

/** Where in a data file a problem is: the record index, and a line (JSONL: the record's line; JSON: where the record or the syntax error is). */
export interface DataLocation { index?: number; line?: number; column?: number; field?: string }

/**
 * A problem with a data file. The message names the file, the record index (and line:column when
 * known), and the field that is wrong, e.g.
 * `train.json: record 3 (line 1, column 245): [1].ground_truth.value is missing`.
 */
export class DataError extends Error {
  readonly file: string;
  readonly index?: number;
  readonly line?: number;
  readonly column?: number;
  /** The field of the record that is wrong, as a path inside the record: "final_answer", "[1].ground_truth.value". */
  readonly field?: string;

  constructor(file: string, message: string, where: DataLocation = {}) {
    super(`${file}: ${locationText(where)}${message}`);
    this.name = 'DataError';
    this.file = file;
    this.index = where.index;
    this.line = where.line;
    this.column = where.column;
    this.field = where.field;
  }
}

function locationText({ index, line, column }: DataLocation): string {
  const lineText = line === undefined ? '' : `line ${line}${column === undefined ? '' : `, column ${column}`}`;
  if (index === undefined) return lineText ? `${lineText}: ` : '';
  return lineText ? `record ${index} (${lineText}): ` : `record ${index}: `;
}

/** A record-level problem; readers turn it into a DataError with the file and position. `field`: the path of the bad field. */
class ShapeError extends Error {
  constructor(message: string, readonly field?: string) {
    super(field === undefined ? message : `${field} ${message}`);
  }
}

type Json = Record<string, unknown>;
const RESERVED = new Set(['prompt', 'groundTruth', 'source']);
const USER_ROLES = new Set(['human', 'user']);
const ASSISTANT_ROLES = new Set(['assistant', 'gpt']);

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A value as it appears in the file, cut short: messages quote what was found. */
function shown(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function kindOf(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${shown(v)}`;
}

/** Answers may be strings, numbers, or {"value": ...}; numbers become strings. */
function answerText(value: unknown, field: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (isObject(value) && 'value' in value) return answerText(value.value, `${field}.value`);
  if (value === undefined || value === null) throw new ShapeError(`is missing (the answer)`, field);
  throw new ShapeError(`must be a string or a number, got ${shown(value)}`, field);
}

function questionText(value: unknown, field: string): string {
  if (typeof value === 'string') return value;
  if (value === undefined) throw new ShapeError('is missing (the question)', field);
  throw new ShapeError(`must be a string, got ${shown(value)}`, field);
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

const TRAIN_SHAPE = '[{"from":"human","value":...},{"from":"assistant","ground_truth":{"value":...}}]';

/** [{"from":"human","value":q},{"from":"assistant","ground_truth":{"value":a}}] */
function fromTrainShape(value: unknown, file: string, index: number): ProblemRecord {
  if (!Array.isArray(value)) throw new ShapeError(`expected ${TRAIN_SHAPE}, got ${kindOf(value)}`);
  const h = value.findIndex((t) => isObject(t) && USER_ROLES.has(t.from as string));
  if (h < 0) throw new ShapeError(`no {"from":"human","value":...} turn (expected ${TRAIN_SHAPE})`);
  const human = value[h] as Json;
  const question = questionText(human.value, `[${h}].value`);
  // the turn with the answer; failing that, the assistant turn, to name its missing ground_truth
  const withTruth = value.findIndex((t) => isObject(t) && 'ground_truth' in t);
  const a = withTruth >= 0 ? withTruth : value.findIndex((t) => isObject(t) && ASSISTANT_ROLES.has(t.from as string));
  if (a < 0) throw new ShapeError(`no {"from":"assistant","ground_truth":...} turn (expected ${TRAIN_SHAPE})`);
  const assistant = value[a] as Json;
  const truth = assistant.ground_truth;
  if (truth === undefined) throw new ShapeError('is missing (the answer, {"value": ...})', `[${a}].ground_truth`);
  if (!isObject(truth)) throw new ShapeError(`must be an object {"value": ...}, got ${shown(truth)}`, `[${a}].ground_truth`);
  const answer = answerText(truth.value, `[${a}].ground_truth.value`);
  const extra = { ...extraFields(human, ['from', 'value']), ...extraFields(assistant, ['from', 'ground_truth']) };
  return makeRecord(question, answer, extra, file, index);
}

/** {"prompt":[{"from":"user","value":q}],"final_answer":a, ...}; the last user turn is the question. */
function fromEvalShape(value: unknown, file: string, index: number): ProblemRecord {
  if (!isObject(value)) throw new ShapeError(`expected {"prompt":[{"from":"user","value":...}],"final_answer":...}, got ${kindOf(value)}`);
  if (!Array.isArray(value.prompt)) {
    throw new ShapeError(`${value.prompt === undefined ? 'is missing' : `must be a list of turns, got ${shown(value.prompt)}`} (expected [{"from":"user","value":...}])`, 'prompt');
  }
  const turns = value.prompt;
  let last = -1;
  turns.forEach((t, j) => { if (isObject(t) && USER_ROLES.has(t.from as string)) last = j; });
  if (last < 0) throw new ShapeError('has no {"from":"user","value":...} turn', 'prompt');
  const question = questionText((turns[last] as Json).value, `prompt[${last}].value`);
  const truth = answerText(value.final_answer, 'final_answer');
  return makeRecord(question, truth, extraFields(value, ['prompt', 'final_answer']), file, index);
}

const PROMPT_KEYS = ['prompt', 'question', 'problem'];
const ANSWER_KEYS = ['answer', 'ground_truth', 'final_answer'];

/** Any of the shapes above, or a flat {prompt|question|problem, answer|ground_truth|final_answer}. */
function fromAnyShape(value: unknown, file: string, index: number): ProblemRecord {
  if (Array.isArray(value)) return fromTrainShape(value, file, index);
  if (!isObject(value)) throw new ShapeError(`expected a JSON object or array, got ${kindOf(value)}`);
  if (Array.isArray(value.prompt)) return fromEvalShape(value, file, index);
  const promptKey = PROMPT_KEYS.find((k) => value[k] !== undefined && value[k] !== null);
  if (!promptKey) throw new ShapeError(`no question: expected a string field ${PROMPT_KEYS.join(' | ')}`);
  const question = questionText(value[promptKey], promptKey);
  const answerKey = ANSWER_KEYS.find((k) => value[k] !== undefined && value[k] !== null);
  if (!answerKey) throw new ShapeError(`no answer: expected a field ${ANSWER_KEYS.join(' | ')}`);
  const truth = answerText(value[answerKey], answerKey);
  return makeRecord(question, truth, extraFields(value, [promptKey, answerKey]), file, index);
}

/** Where Open-Reasoner-Zero publishes the data files its configs name (configs/orz-*.json). */
const ORZ_REPO = 'https://github.com/Open-Reasoner-Zero/Open-Reasoner-Zero';
const ORZ_FILES: Record<string, string> = {
  'orz_math_57k_collected.json': 'data/orz_math_57k_collected.json',
  'orz_math_13k_collection_hard.json': 'data/orz_math_13k_collection_hard.json',
  'orz_math_72k_collection_extended.json': 'data/orz_math_72k_collection_extended.json',
  'math500.json': 'data/eval_data/math500.json',
  'aime2024.json': 'data/eval_data/aime2024.json',
  'gpqa_diamond.json': 'data/eval_data/gpqa_diamond.json',
};

/** " (ORZ publishes it: <url>)" for a missing file that is one of ORZ's, else "". */
function whereOrzPublishes(path: string): string {
  const inRepo = ORZ_FILES[basename(path)];
  return inRepo ? `; Open-Reasoner-Zero publishes it as ${inRepo} in ${ORZ_REPO} (${ORZ_REPO}/raw/main/${inRepo})` : '';
}

async function readText(path: string): Promise<string> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new DataError(path, `cannot read: no such file${whereOrzPublishes(path)}`);
    throw new DataError(path, `cannot read: ${err.message}`);
  });
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text; // a byte-order mark is not JSON
}

/** A JSON syntax error placed by record: the record it falls in (or follows) and its line:column. */
function syntaxError(path: string, text: string, parseError: Error): DataError {
  const { problem } = scanJson(text);
  if (!problem) return new DataError(path, `invalid JSON: ${parseError.message}`); // the scanner found none: JSON.parse's word
  const { line, column, reason } = problem;
  return new DataError(path, `invalid JSON: ${reason}`, { index: problem.element, line, column });
}

interface JsonArrayFile { path: string; text: string; values: unknown[] }

async function readJsonArray(path: string): Promise<JsonArrayFile> {
  const text = await readText(path);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw syntaxError(path, text, err as Error);
  }
  if (!Array.isArray(json)) throw new DataError(path, `expected a JSON array of records, got ${kindOf(json)}`);
  return { path, text, values: json };
}

type Convert = (value: unknown, file: string, index: number) => ProblemRecord;

/** Converts each element; a bad one is named by index, the line:column where it starts, and the field. */
function convertAll({ path, text, values }: JsonArrayFile, convert: Convert): ProblemRecord[] {
  return values.map((v, index) => {
    try {
      return convert(v, path, index);
    } catch (err) {
      if (!(err instanceof ShapeError)) throw err;
      const start = scanJson(text).elementStarts[index]; // scanned only on an error: the file is valid JSON here
      throw new DataError(path, err.message, { index, ...(start === undefined ? {} : lineColumn(text, start)), field: err.field });
    }
  });
}

/** ORZ training data: a JSON array of [human turn, assistant turn with ground_truth]. */
export async function readOrzTrainJson(path: string): Promise<ProblemRecord[]> {
  return convertAll(await readJsonArray(path), fromTrainShape);
}

/** ORZ evaluation data: a JSON array of {prompt: [{from: "user", value}], final_answer, ...extra}. */
export async function readOrzEvalJson(path: string): Promise<ProblemRecord[]> {
  return convertAll(await readJsonArray(path), fromEvalShape);
}

/** One record per line in any supported shape; blank lines are skipped; errors give the record index and its 1-based line. */
export async function readJsonl(path: string): Promise<ProblemRecord[]> {
  const text = await readText(path);
  const records: ProblemRecord[] = [];
  text.split(/\r?\n/).forEach((lineText, i) => {
    if (lineText.trim() === '') return;
    const where = { index: records.length, line: i + 1 };
    let value: unknown;
    try {
      value = JSON.parse(lineText);
    } catch (err) {
      const problem = scanJson(lineText).problem;
      if (!problem) throw new DataError(path, `invalid JSON: ${(err as Error).message}`, where);
      throw new DataError(path, `invalid JSON: ${problem.reason}`, { ...where, column: problem.column });
    }
    try {
      records.push(fromAnyShape(value, path, records.length));
    } catch (err) {
      if (err instanceof ShapeError) throw new DataError(path, err.message, { ...where, field: err.field });
      throw err;
    }
  });
  return records;
}

/** Reads .jsonl/.ndjson line by line, or a .json array whose records may be in any supported shape. */
export async function readDataset(path: string): Promise<ProblemRecord[]> {
  const ext = extname(path).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson') return readJsonl(path);
  if (ext === '.json') return convertAll(await readJsonArray(path), fromAnyShape);
  throw new DataError(path, `unsupported file type "${ext}" (expected .json, .jsonl or .ndjson)`);
}
