// Which records of an eval fit the model's context, and the report on those that do not: checked
// by tokenizing the templated prompts before any generation, so no work is spent on a batch that
// cannot run and one long record does not stop the evaluation of the others.

import { applyTemplate, MINI_TEMPLATE, type ProblemRecord, type PromptTemplate } from '../data/index.ts';
import type { Tokenizer } from '../tokenizer/index.ts';

export interface TooLong {
  record: ProblemRecord;
  promptTokens: number;
}

export interface ContextSplit {
  /** Records whose prompt leaves room for at least one new token, with that prompt. */
  fits: { record: ProblemRecord; prompt: string; promptTokens: number }[];
  tooLong: TooLong[];
  /** The most prompt tokens a record may have: max_position_embeddings minus one new token. */
  maxPromptTokens: number;
}

export function splitByContext(records: ProblemRecord[], template: PromptTemplate, tokenizer: Tokenizer, maxPositions: number): ContextSplit {
  const maxPromptTokens = maxPositions - 1;
  const split: ContextSplit = { fits: [], tooLong: [], maxPromptTokens };
  for (const record of records) {
    const prompt = applyTemplate(template, record.prompt);
    const promptTokens = tokenizer.encode(prompt).length;
    if (promptTokens <= maxPromptTokens) split.fits.push({ record, prompt, promptTokens });
    else split.tooLong.push({ record, promptTokens });
  }
  return split;
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
    const fitWithMini = tooLong.filter((t) => tokenizer.encode(applyTemplate(MINI_TEMPLATE, t.record.prompt)).length <= maxPromptTokens).length;
    const howMany = fitWithMini === tooLong.length ? `all ${fitWithMini}` : `${fitWithMini}`;
    if (fitWithMini > 0) out.push(`--template mini, a shorter template, fits ${howMany} of them`);
  }
  const questionTooLong = tooLong.filter((t) => tokenizer.encode(t.record.prompt).length > maxPromptTokens).length;
  if (questionTooLong > 0) out.push(`no template helps the ${questionTooLong} whose question alone is longer than ${maxPromptTokens} tokens`);
  return out;
}

/** The stderr report: count, the first records by file and index with their token counts, the rest as index ranges, the fixes. */
export function skipReport(split: ContextSplit, total: number, template: PromptTemplate, tokenizer: Tokenizer, maxPositions: number): string {
  const { tooLong, maxPromptTokens } = split;
  const lines = [
    `orz eval: skipping ${tooLong.length} of ${total} records: with template ${template.name} their prompt leaves no room for a response ` +
      `under the model's context (max_position_embeddings=${maxPositions}, so at most ${maxPromptTokens} prompt tokens):`,
  ];
  for (const t of tooLong.slice(0, LISTED)) lines.push(`  ${t.record.source.file} record ${t.record.source.index}: ${t.promptTokens} prompt tokens, limit ${maxPromptTokens}`);
  const rest = tooLong.slice(LISTED);
  if (rest.length > 0) lines.push(`  and ${rest.length} more: records ${indexRanges(rest.map((t) => t.record.source.index))}`);
  lines.push(`  to evaluate them: ${fixes(tooLong, template, tokenizer, maxPromptTokens).join('; ')}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The records in groups that share a response budget, min(maxNewTokens, context - prompt tokens).
 * The engine gives a whole batch the room its longest prompt leaves, so a prompt near the context
 * limit is generated apart from short ones instead of cutting their responses short. Records with
 * the full budget form one group; groups are in ascending budget, records keep their order.
 */
export function budgetGroups(fits: ContextSplit['fits'], maxNewTokens: number, maxPositions: number): { budget: number; members: number[] }[] {
  const groups = new Map<number, number[]>();
  fits.forEach((f, i) => {
    const budget = Math.min(maxNewTokens, maxPositions - f.promptTokens);
    groups.set(budget, [...(groups.get(budget) ?? []), i]);
  });
  return [...groups].sort(([a], [b]) => a - b).map(([budget, members]) => ({ budget, members }));
}
