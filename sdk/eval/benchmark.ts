// A benchmark: named records, the reward that scores them and the template that turns them into prompts.
// benchmarkFromFile reads ORZ's eval files (MATH500, AIME24, GPQA-Diamond) or any dataset readDataset reads.

import { basename, extname } from 'node:path';
import { applyTemplate, ORZ_TEMPLATE, resolveTemplate, type PromptTemplate } from '../data/template.ts';
import { DataError, readDataset, type ProblemRecord } from '../data/readers.ts';
import type { PromptInput } from '../rollout/engine.ts';
import { choiceReward, sampleChoices, type Choices } from '../reward/choice-reward.ts';
import { mathReward, mathRewardFixed } from '../reward/math-reward.ts';
import type { RewardFn, Sample } from '../reward/types.ts';

/** 'math': ORZ's math reward; 'math-fixed': its quirks fixed; 'gpqa': multiple choice (choiceReward). */
export type RewardName = 'math' | 'math-fixed' | 'gpqa';

export interface EvalBenchmark {
  /** Used in metric names (eval/<name>/...): letters, digits, '_', '-' and '.'. */
  name: string;
  records: ProblemRecord[];
  /** Default 'math'. */
  reward?: RewardName | RewardFn;
  /** A template, or "orz", "mini" or a text containing {question}. Default ORZ's. */
  template?: PromptTemplate | string;
}

const REWARDS: Record<RewardName, RewardFn> = { math: mathReward, 'math-fixed': mathRewardFixed, gpqa: choiceReward };

export function resolveReward(reward: RewardName | RewardFn | undefined, benchmark: string): { fn: RewardFn; name: string } {
  if (reward === undefined) return { fn: mathReward, name: 'math' };
  if (typeof reward === 'string') {
    const fn = Object.hasOwn(REWARDS, reward) ? REWARDS[reward as RewardName] : undefined;
    if (!fn) throw new RangeError(`benchmark ${benchmark}: unknown reward ${JSON.stringify(reward)} (use ${Object.keys(REWARDS).join(', ')} or a RewardFn)`);
    return { fn, name: reward };
  }
  const name = typeof reward === 'function' ? reward.name || 'custom' : reward.name ?? 'custom';
  return { fn: reward, name };
}

export function resolveBenchmarkTemplate(t: PromptTemplate | string | undefined): PromptTemplate {
  if (t === undefined) return ORZ_TEMPLATE;
  return typeof t === 'string' ? resolveTemplate(t) : t;
}

const NAME = /^[A-Za-z0-9_.-]+$/;

export function checkBenchmarkName(name: string): void {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new RangeError(`benchmark name ${JSON.stringify(name)} must be letters, digits, '_', '-' or '.' (it names metrics eval/<name>/...)`);
  }
}

/** Without whitespace at line ends (ORZ's GPQA questions have trailing spaces and U+2028 there). */
const trimLineEnds = (s: string) => s.replace(/[^\S\n]+$/gm, '');

/**
 * The question as the model sees it: with the choices listed ("A. text" lines) unless the question already
 * lists every one of them (ORZ's GPQA file does), so they are never shown twice.
 */
export function questionWithChoices(question: string, choices: Choices): string {
  const lines = Object.entries(choices).map(([letter, text]) => `${letter}. ${text.trim()}`);
  const padded = `\n${trimLineEnds(question)}\n`;
  const listed = lines.every((line) => padded.includes(`\n${trimLineEnds(line)}\n`)); // whole lines: "A. 42" does not list "A. 4"
  return listed ? question : `${question.trimEnd()}\n\n${lines.join('\n')}`;
}

/** The record's level as a label ("3"), when it has a string or number `level`. */
export function recordLevel(r: ProblemRecord): string | undefined {
  const l = r['level'];
  return typeof l === 'number' || (typeof l === 'string' && l !== '') ? String(l) : undefined;
}

/** Record fields that do not ride along: the harness's own, and the columns a rollout batch fills itself. */
const NOT_RIDING = new Set([
  'prompt', 'groundTruth', 'source', 'recordIndex', 'question', 'choices',
  'reward', 'promptIndex', 'sampleIndex', 'response', 'promptIds', 'responseIds', 'logprobs', 'finishReason',
]);

/**
 * The engine input of one record: the templated prompt, the truth, and the record's string and number fields
 * riding along for the reward (`choices` as JSON: rollout batches keep only strings and numbers), its index and
 * the question text as the model sees it (`recordIndex`, `question`).
 */
export function recordPrompt(r: ProblemRecord, template: PromptTemplate, recordIndex: number): PromptInput {
  const input: PromptInput = { prompt: '', groundTruth: r.groundTruth, recordIndex };
  for (const [k, v] of Object.entries(r)) {
    if (NOT_RIDING.has(k)) continue;
    if (typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))) input[k] = v;
  }
  let question = r.prompt;
  if (r['choices'] !== undefined) {
    const choices = sampleChoices({ choices: r['choices'] } as unknown as Sample, `record ${recordIndex} of ${r.source.file}`);
    input['choices'] = JSON.stringify(choices);
    question = questionWithChoices(question, choices);
  }
  input['question'] = question;
  input.prompt = applyTemplate(template, question);
  return input;
}

/**
 * A benchmark from a data file: named after the file ("gpqa_diamond" for gpqa_diamond.json), scored as multiple
 * choice when its records carry `choices`, else with the math reward.
 */
export async function benchmarkFromFile(path: string, opts: { name?: string; template?: PromptTemplate | string } = {}): Promise<EvalBenchmark> {
  const records = await readDataset(path);
  if (records.length === 0) throw new DataError(path, 'no records');
  const withChoices = records.map((r) => r['choices'] !== undefined);
  const mixed = withChoices.findIndex((c) => c !== withChoices[0]);
  if (mixed >= 0) {
    throw new DataError(path, `record ${mixed} ${withChoices[mixed] ? 'has' : 'has no'} "choices" but record 0 ${withChoices[0] ? 'has' : 'has none'}: a benchmark is all multiple choice or none`);
  }
  const name = opts.name ?? basename(path, extname(path));
  checkBenchmarkName(name);
  return {
    name, records, reward: withChoices[0] ? 'gpqa' : 'math', ...(opts.template === undefined ? {} : { template: opts.template }),
  };
}
