// The embedded default's task: short arithmetic word problems that need 1-4 steps.
//
// Why this task: a tiny model cannot do several operations "in its head", but it can do one
// operation per written step. So a base model that mostly answers at once is often wrong on
// multi-step problems, while the rarer step-by-step habit is usually right. PPO with a binary
// reward should then shift probability towards writing the steps, and accuracy and response
// length rise together: Open-Reasoner-Zero's effect, small enough for a CPU.

import { Rng } from '../engine/rng.ts';

export type ArithOp = '+' | '-' | '*';
export interface ArithStep { a: number; op: ArithOp; b: number; result: number }
export interface ArithProblem { question: string; answer: number; level: number; steps: ArithStep[] }
export type SolutionStyle = 'answer-only' | 'steps' | 'flawed';

/** Largest value any intermediate result may take: keeps every step a 1-2 digit operation. */
export const ARITH_MAX_VALUE = 30;
/** Largest operand added or taken away. With ARITH_MAX_VALUE it bounds the set of arithmetic facts (about 500),
 * small enough that a tiny model learns each one from the pre-training corpus, so written steps are reliable. */
export const ARITH_MAX_OPERAND = 9;

const PEOPLE: readonly [string, string][] = [
  ['Ann', 'She'], ['Ben', 'He'], ['Cal', 'He'], ['Dee', 'She'], ['Eve', 'She'],
  ['Finn', 'He'], ['Gus', 'He'], ['Ivy', 'She'], ['Jo', 'She'], ['Max', 'He'],
];
const ITEMS = ['apples', 'pens', 'coins', 'cards', 'books', 'eggs', 'shells', 'stamps'] as const;
const ADD_VERBS = ['gets', 'finds', 'buys', 'wins'] as const;
const SUB_VERBS = ['gives away', 'loses', 'sells', 'eats'] as const;

function applyOp(a: number, op: ArithOp, b: number): number {
  return op === '+' ? a + b : op === '-' ? a - b : a * b;
}

/** One problem with `level` operations (1-4). Every intermediate value is in [0, ARITH_MAX_VALUE]. */
export function generateArithProblem(rng: Rng, level: number): ArithProblem {
  if (!Number.isInteger(level) || level < 1 || level > 4) throw new RangeError(`arith level must be 1-4, got ${level}`);
  const [name, pronoun] = rng.pick(PEOPLE);
  const items = rng.pick(ITEMS);
  let x = rng.int(2, 12);
  const sentences = [`${name} has ${x} ${items}.`];
  const steps: ArithStep[] = [];
  for (let i = 0; i < level; i++) {
    const choices: ArithOp[] = [];
    if (x + 2 <= ARITH_MAX_VALUE) choices.push('+');
    if (x >= 2) choices.push('-');
    if (x * 2 <= ARITH_MAX_VALUE && x >= 2) choices.push('*');
    const op = rng.pick(choices);
    let b: number;
    if (op === '+') {
      b = rng.int(2, Math.min(ARITH_MAX_OPERAND, ARITH_MAX_VALUE - x));
      sentences.push(`${pronoun} ${rng.pick(ADD_VERBS)} ${b} more.`);
    } else if (op === '-') {
      b = rng.int(1, Math.min(ARITH_MAX_OPERAND, x - 1));
      sentences.push(`${pronoun} ${rng.pick(SUB_VERBS)} ${b}.`);
    } else {
      b = rng.int(2, Math.min(3, Math.floor(ARITH_MAX_VALUE / x)));
      sentences.push(`Then ${pronoun.toLowerCase()} has ${b} times as many.`);
    }
    const result = applyOp(x, op, b);
    steps.push({ a: x, op, b, result });
    x = result;
  }
  sentences.push('How many now?');
  return { question: sentences.join(' '), answer: x, level, steps };
}

/** The response text that follows the prompt's closing "<think>". */
export function writeSolution(p: ArithProblem, style: SolutionStyle, rng: Rng): string {
  if (style === 'answer-only') return ` </think> <answer> \\boxed{${p.answer}} </answer>`;
  // 'flawed': one step's result is off by 1-3, and later steps carry the error forward.
  const wrongAt = style === 'flawed' ? rng.int(0, p.steps.length - 1) : -1;
  let x = p.steps[0]!.a;
  const parts: string[] = [];
  p.steps.forEach((s, i) => {
    let r = applyOp(x, s.op, s.b);
    if (i === wrongAt) {
      const delta = rng.int(1, 3) * (rng.next() < 0.5 ? -1 : 1);
      r = r + delta >= 0 ? r + delta : r - delta;
    }
    parts.push(`${x}${s.op}${s.b}=${r}.`);
    x = r;
  });
  return ` ${parts.join(' ')} </think> <answer> \\boxed{${x}} </answer>`;
}

export interface ArithRecord { question: string; answer: string; level: number }

/** `count` distinct problems, levels drawn uniformly from `levels`; `exclude` holds questions to skip (e.g. the eval split). */
export function arithProblems(opts: { seed: number; count: number; levels?: number[]; exclude?: ReadonlySet<string> }): ArithProblem[] {
  const rng = new Rng(opts.seed);
  const levels = opts.levels ?? [1, 2, 3, 4];
  const seen = new Set<string>();
  const out: ArithProblem[] = [];
  let attempts = 0;
  while (out.length < opts.count) {
    if (++attempts > opts.count * 50) throw new Error(`arithProblems: could not find ${opts.count} distinct problems`);
    const p = generateArithProblem(rng, rng.pick(levels));
    if (seen.has(p.question) || opts.exclude?.has(p.question)) continue;
    seen.add(p.question);
    out.push(p);
  }
  return out;
}

export interface CorpusMix { answerOnly: number; steps: number; flawed: number }

/** Pre-training documents (prompt text + solution) with the given mix of solution styles. */
export function arithCorpus(problems: ArithProblem[], mix: CorpusMix, seed: number, render: (question: string) => string): string[] {
  const rng = new Rng(seed);
  const total = mix.answerOnly + mix.steps + mix.flawed;
  return problems.map((p) => {
    const u = rng.next() * total;
    const style: SolutionStyle = u < mix.answerOnly ? 'answer-only' : u < mix.answerOnly + mix.steps ? 'steps' : 'flawed';
    return render(p.question) + writeSolution(p, style, rng);
  });
}

/** Every one-operation fact the generator can ask for: a+b, a-b (b <= ARITH_MAX_OPERAND) and a*2, a*3, all within [0, ARITH_MAX_VALUE]. */
export function arithFacts(): ArithStep[] {
  const facts: ArithStep[] = [];
  for (let a = 1; a <= ARITH_MAX_VALUE; a++) {
    for (let b = 2; b <= ARITH_MAX_OPERAND && a + b <= ARITH_MAX_VALUE; b++) facts.push({ a, op: '+', b, result: a + b });
    for (let b = 1; b <= ARITH_MAX_OPERAND && b < a; b++) facts.push({ a, op: '-', b, result: a - b });
    for (const b of [2, 3]) if (a >= 2 && a * b <= ARITH_MAX_VALUE) facts.push({ a, op: '*', b, result: a * b });
  }
  return facts;
}

/**
 * Arithmetic drill documents ("7+5=12. 20-3=17. ..."), the kind of text a real base model sees on the web.
 * They carry no question and no habit; they only teach the one-step facts that written steps rely on.
 */
export function arithDrills(count: number, factsPerDoc: number, seed: number): string[] {
  const rng = new Rng(seed);
  const facts = arithFacts();
  return Array.from({ length: count }, () =>
    Array.from({ length: factsPerDoc }, () => { const f = rng.pick(facts); return `${f.a}${f.op}${f.b}=${f.result}.`; }).join(' '));
}
