// What an evaluation returns: per benchmark the accuracy metrics, lengths, truncation, levels and samples to
// inspect, as plain data (JSON as it is); plus its metrics-row form (eval/<benchmark>/...) and a table.

import { JUPYTER_DISPLAY, tableBundle, textTable, type MimeBundle } from '../viz/index.ts';
import type { LengthMetrics, LevelMetrics } from './metrics.ts';

/** One sample, for reading. */
export interface EvalSampleView {
  /** Index of the record in the benchmark's records. */
  recordIndex: number;
  sampleIndex: number;
  question: string;
  response: string;
  /** The final answer as extracted (last \boxed{} inside <answer>); null if there is none. */
  answer: string | null;
  groundTruth: string;
  reward: number;
  finishReason: 'stop' | 'length';
  responseTokens: number;
}

/** A record left out because its prompt and the token budget do not fit the model's context. */
export interface SkippedRecord { recordIndex: number; promptTokens: number }

/** A record evaluated with fewer response tokens than maxNewTokens (overlong 'shorten'): the room its prompt leaves. */
export interface ShortenedRecord { recordIndex: number; promptTokens: number; budget: number }

export interface BenchmarkReport {
  name: string;
  /** 'math', 'gpqa', ... or the RewardFn's name. */
  reward: string;
  template: string;
  /** Questions evaluated (records after `limit`, less the skipped ones). */
  questions: number;
  samplesPerQuestion: number;
  skipped: SkippedRecord[];
  /** Records evaluated with a budget below maxNewTokens ([] unless overlong is 'shorten'). */
  shortened: ShortenedRecord[];
  /** mean@n: mean over questions of the fraction of their n samples that are correct. */
  meanAtN: number;
  /** Unbiased pass@k by k (1, powers of two below n, n). */
  passAtK: Record<number, number>;
  /** mean@1 when sampling is greedy (n = 1, temperature 0); else null. */
  greedyAccuracy: number | null;
  lengths: LengthMetrics;
  /** The same accuracy figures per record level ([] when records have no `level`). */
  byLevel: LevelMetrics[];
  /** Correct samples of each question, to recompute or compare metrics. */
  perQuestion: { recordIndex: number; correct: number; level?: string }[];
  firstCorrect: EvalSampleView | null;
  firstWrong: EvalSampleView | null;
}

export interface EvalTiming {
  seconds: number;
  byBenchmark: Record<string, { generateSec: number; scoreSec: number; tokens: number }>;
}

export interface EvalReport {
  sampling: { n: number; temperature: number; topP: number; maxNewTokens: number; seed: number };
  /** Records per benchmark evaluated at most (null: all). */
  limit: number | null;
  benchmarks: BenchmarkReport[];
  /** Benchmarks none of whose records fits the model's context (with overlong: 'skip'): no metrics. */
  unevaluated: { name: string; skipped: SkippedRecord[] }[];
  /** Wall-clock figures: the only part of a report that differs between two runs with the same seed. */
  timing: EvalTiming;
}

/** Flat metrics as a training run logs them: eval/<benchmark>/<metric>, by level as eval/<benchmark>/level/<l>/<metric>. */
export type EvalMetricsRow = Record<string, number>;

export function evalMetricsRow(report: EvalReport): EvalMetricsRow {
  const row: EvalMetricsRow = {};
  const n = report.sampling.n;
  for (const b of report.benchmarks) {
    const p = `eval/${b.name}`;
    row[`${p}/mean@${n}`] = b.meanAtN;
    for (const [k, v] of Object.entries(b.passAtK)) row[`${p}/pass@${k}`] = v;
    if (b.greedyAccuracy !== null) row[`${p}/greedy_accuracy`] = b.greedyAccuracy;
    row[`${p}/mean_reward`] = b.lengths.meanReward;
    row[`${p}/response_length`] = b.lengths.meanTokens;
    row[`${p}/response_length_max`] = b.lengths.maxTokens;
    row[`${p}/response_chars`] = b.lengths.meanChars;
    row[`${p}/truncated_fraction`] = b.lengths.truncatedFraction;
    row[`${p}/questions`] = b.questions;
    row[`${p}/skipped`] = b.skipped.length;
    row[`${p}/shortened`] = b.shortened.length;
    for (const l of b.byLevel) {
      row[`${p}/level/${l.level}/mean@${n}`] = l.meanAtN;
      row[`${p}/level/${l.level}/pass@${n}`] = l.passAtK[n]!;
    }
  }
  for (const u of report.unevaluated) {
    row[`eval/${u.name}/questions`] = 0;
    row[`eval/${u.name}/skipped`] = u.skipped.length;
  }
  return row;
}

/** One row per benchmark, then one per level: questions, mean@n, pass@k..., lengths, truncation. */
export function evalReportTable(report: EvalReport): { columns: string[]; rows: unknown[][] } {
  const n = report.sampling.n;
  const ks = report.benchmarks[0] ? Object.keys(report.benchmarks[0].passAtK).map(Number) : [];
  const columns = ['benchmark', 'level', 'questions', `mean@${n}`, ...ks.map((k) => `pass@${k}`), 'tokens', 'chars', 'truncated', 'skipped', 'shortened'];
  const rows: unknown[][] = [];
  for (const b of report.benchmarks) {
    const L = b.lengths;
    rows.push([b.name, 'all', b.questions, b.meanAtN, ...ks.map((k) => b.passAtK[k]), L.meanTokens, L.meanChars, L.truncatedFraction, b.skipped.length, b.shortened.length]);
    for (const l of b.byLevel) rows.push([b.name, l.level, l.questions, l.meanAtN, ...ks.map((k) => l.passAtK[k]), null, null, null, null, null]);
  }
  return { columns, rows };
}

function title(report: EvalReport): string {
  const s = report.sampling;
  const how = s.temperature === 0 && s.n === 1 ? 'greedy' : `n=${s.n} at temperature ${s.temperature}`;
  return `Evaluation: ${report.benchmarks.length} benchmark(s), ${how}, max ${s.maxNewTokens} new tokens, seed ${s.seed}`;
}

/** "not evaluated: aime2024 (30 records do not fit the context)" lines, or ''. */
function unevaluatedNote(report: EvalReport): string {
  return report.unevaluated.map((u) => `\nnot evaluated: ${u.name} (${u.skipped.length} records do not fit the model's context)`).join('');
}

export function formatEvalReport(report: EvalReport): string {
  const { columns, rows } = evalReportTable(report);
  return `${title(report)}\n${textTable(columns, rows, { maxRows: rows.length })}${unevaluatedNote(report)}`;
}

export function evalReportBundle(report: EvalReport): MimeBundle {
  const { columns, rows } = evalReportTable(report);
  return { ...tableBundle(columns, rows, { maxRows: rows.length, title: title(report) + unevaluatedNote(report) }), 'text/plain': formatEvalReport(report) };
}

/** Gives a report its notebook display (a table) without adding anything JSON.stringify or deepEqual would see. */
export function withDisplay(report: EvalReport): EvalReport {
  Object.defineProperty(report, JUPYTER_DISPLAY, { value: () => evalReportBundle(report), enumerable: false });
  return report;
}
