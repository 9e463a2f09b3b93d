// Which records of an eval fit the model's context, and the report on those that do not: checked
// by tokenizing the templated prompts before any generation, so no work is spent on a batch that
// cannot run and one long record does not stop the evaluation of the others.

import { applyTemplate, MINI_TEMPLATE, type ProblemRecord, type PromptTemplate } from '../data/index.ts';
import { recordPrompt } from '../eval/benchmark.ts';
import type { Tokenizer } from '../tokenizer/index.ts';

export interface TooLong {
  record: ProblemRecord;
  /** The question as the model sees it (with the choices listed for a multiple-choice record). */
  question: string;
  promptTokens: number;
}

export interface ContextSplit {
  /** Records whose prompt leaves room for at least one new token, with that prompt. */
  fits: { record: ProblemRecord; prompt: string; promptTokens: number }[];
  tooLong: TooLong[];
  /** The most prompt tokens a record may have: max_position_embeddings minus one new token. */
  maxPromptTokens: number;
}

/** The prompts are built as the eval harness builds them (recordPrompt), so both count the same tokens. */
export function splitByContext(records: ProblemRecord[], template: PromptTemplate, tokenizer: Tokenizer, maxPositions: number): ContextSplit {
  const maxPromptTokens = maxPositions - 1;
  const split: ContextSplit = { fits: [], tooLong: [], maxPromptTokens };
  records.forEach((record, i) => {
    const input = recordPrompt(record, template, i);
    const promptTokens = tokenizer.encode(input.prompt).length;
    if (promptTokens <= maxPromptTokens) split.fits.push({ record, prompt: input.prompt, promptTokens });
    else split.tooLong.push({ record, question: String(input['question']), promptTokens });
  });
  return split;
}

/** The records that fit but get fewer than maxNewTokens response tokens: the room their prompt leaves. */
export function shortenedCount(split: ContextSplit, maxNewTokens: number, maxPositions: number): number {
  return split.fits.filter((f) => f.promptTokens + maxNewTokens > maxPositions).length;
}

const LISTED = 10;

/** "3-5, 9, 12-14": the indices in ascending runs. */
export function indexRanges(indices: number[]): string {
  const sorted = [...indices].sort((a, b) => a - b);
  const runs: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    runs.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return runs.join(', ');
}

/**
 * The fixes that apply to these records: a longer context always does; the shorter `mini` template
 * only if it makes some of them fit; --max-new-tokens never does (the prompt alone is too long).
 */
function fixes(tooLong: TooLong[], template: PromptTemplate, tokenizer: Tokenizer, maxPromptTokens: number): string[] {
  const longest = Math.max(...tooLong.map((t) => t.promptTokens));
  const out = [`a model with a longer context (max_position_embeddings >= ${longest + 1} fits all of them)`];
  if (template.name !== MINI_TEMPLATE.name) {
    const fitWithMini = tooLong.filter((t) => tokenizer.encode(applyTemplate(MINI_TEMPLATE, t.question)).length <= maxPromptTokens).length;
    const howMany = fitWithMini === tooLong.length ? `all ${fitWithMini}` : `${fitWithMini}`;
    if (fitWithMini > 0) out.push(`--template mini, a shorter template, fits ${howMany} of them`);
  }
  const questionTooLong = tooLong.filter((t) => tokenizer.encode(t.question).length > maxPromptTokens).length;
  if (questionTooLong > 0) out.push(`no template helps the ${questionTooLong} whose question alone is longer than ${maxPromptTokens} tokens`);
  return out;
}

/**
 * The stderr report: count, the first records by file and index with their token counts, the rest as index ranges, the fixes.
 * `file` heads the count when several files are evaluated.
 */
export function skipReport(split: ContextSplit, total: number, template: PromptTemplate, tokenizer: Tokenizer, maxPositions: number, file?: string): string {
  const { tooLong, maxPromptTokens } = split;
  const lines = [
    `orz eval: ${file === undefined ? '' : `${file}: `}skipping ${tooLong.length} of ${total} records: with template ${template.name} their prompt leaves no room for a response ` +
      `under the model's context (max_position_embeddings=${maxPositions}, so at most ${maxPromptTokens} prompt tokens):`,
  ];
  for (const t of tooLong.slice(0, LISTED)) lines.push(`  ${t.record.source.file} record ${t.record.source.index}: ${t.promptTokens} prompt tokens, limit ${maxPromptTokens}`);
  const rest = tooLong.slice(LISTED);
  if (rest.length > 0) lines.push(`  and ${rest.length} more: records ${indexRanges(rest.map((t) => t.record.source.index))}`);
  lines.push(`  to evaluate them: ${fixes(tooLong, template, tokenizer, maxPromptTokens).join('; ')}`);
  return `${lines.join('\n')}\n`;
}
