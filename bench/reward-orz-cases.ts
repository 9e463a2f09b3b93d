// The case set of the reward-orz-agreement bench: for every reference answer of the ORZ eval sets,
// responses that are right, right in another spelling, wrong, or that hit one of ORZ's quirks.
// `fixed` is what mathRewardFixed should say; what ORZ says is measured, not assumed here.

import { Deadline } from '../sdk/reward/deadline.ts';
import { evaluate } from '../sdk/reward/evaluate.ts';
import { normalizeAnswer, type FinishReason } from '../sdk/reward/index.ts';
import { parseLatex, variablesOf } from '../sdk/reward/latex-expr.ts';

export interface RewardCase {
  category: string;
  set: string;
  groundTruth: string;
  response: string;
  finishReason: FinishReason;
  /** The verdict a quirk-free checker should give. */
  fixed: 0 | 1;
}

const THINK = '<think> Let me work through the problem step by step. </think>';
const UNIT_WORDS = ['ways', 'students', 'points', 'dollars', 'cm', 'degrees'];

function respond(answerBlock: string): string {
  return `${THINK} <answer> ${answerBlock} </answer>`;
}

function boxed(a: string): string {
  return respond(`The answer is \\boxed{${a}}.`);
}

/** Top-level comma items of an answer with no enclosing bracket (a solution list), else null. */
function solutionList(a: string): string[] | null {
  if (/^[([{\\]/.test(a.trim()) || /[=[]|\\!|\\cup|\\in|matrix/.test(a)) return null;
  const items = a.split(',').map((x) => x.trim());
  // `58,500` is a number with a thousands separator, not a list.
  if (items.length < 2 || items.slice(1).every((x) => /^\d{3}$/.test(x))) return null;
  return items;
}

function fraction(a: string): { sign: string; p: number; q: number } | null {
  const m = /^(-?)\\[dt]?frac\{(\d+)\}\{(\d+)\}$/.exec(a.trim());
  return m ? { sign: m[1]!, p: Number(m[2]), q: Number(m[3]) } : null;
}

function terminatingDecimal(p: number, q: number): string | null {
  let d = q;
  for (const f of [2, 5]) while (d % f === 0) d /= f;
  return d === 1 ? String(p / q) : null;
}

/** The value of a constant non-integer answer as JavaScript prints a double (`\\sqrt{2}` -> 1.4142135623730951), else null. */
function decimalValue(a: string): string | null {
  try {
    const deadline = new Deadline(200);
    const node = parseLatex(normalizeAnswer(a), deadline);
    if (variablesOf(node).size > 0) return null;
    const v = evaluate(node, new Map(), deadline);
    return v.im === 0 && Number.isFinite(v.re) && !Number.isInteger(v.re) ? String(v.re) : null;
  } catch {
    return null;
  }
}

/** `A + B` -> `B + A` for a sum of exactly two terms at the top level, else null. */
function swappedSum(a: string): string | null {
  if (/[=,<>]|\\pm|matrix|\\cup/.test(a)) return null;
  let depth = 0;
  const cuts: number[] = [];
  for (let i = 0; i < a.length; i++) {
    if ('({['.includes(a[i]!)) depth++;
    else if (')}]'.includes(a[i]!)) depth--;
    else if (a[i] === '+' && depth === 0) cuts.push(i);
  }
  if (cuts.length !== 1) return null;
  const [x, y] = [a.slice(0, cuts[0]).trim(), a.slice(cuts[0]! + 1).trim()];
  return x && y && !x.startsWith('-') ? `${y} + ${x}` : null;
}

/** Cases built from one reference answer; `other` is a different answer of the same set. */
function casesFor(set: string, a: string, other: string, index: number): RewardCase[] {
  const out: RewardCase[] = [];
  const add = (category: string, response: string, fixed: 0 | 1, finishReason: FinishReason = 'stop'): void => {
    out.push({ category, set, groundTruth: a, response, finishReason, fixed });
  };
  add('correct', boxed(a), 1);
  add('truncated (finish = length)', boxed(a), 0, 'length');
  add('wrong: another answer of the set', boxed(other), 0);
  const integer = /^-?\d+$/.test(a);
  if (integer) {
    add('wrong: integer + 1', boxed(String(BigInt(a) + 1n)), 0);
    // sympy's LaTeX parser stops at a comma, so ORZ judges `3, 4` by its first item alone.
    add('wrong: a list that starts with the answer (3, 4)', boxed(`${a}, ${BigInt(a) + 1n}`), 0);
  }
  add('equivalent: $...$ inside the box', boxed(`$${a}$`), 1);
  if (a.includes('\\frac')) add('equivalent: \\dfrac for \\frac', boxed(a.replace(/\\frac/g, '\\dfrac')), 1);
  const f = fraction(a);
  if (f) {
    add('equivalent: p/q for \\frac{p}{q}', boxed(`${f.sign}${f.p}/${f.q}`), 1);
    const dec = terminatingDecimal(f.p, f.q);
    if (dec) add('equivalent: exact decimal for a fraction', boxed(f.sign + dec), 1);
    if (f.p > f.q && f.p % f.q !== 0) {
      add('quirk: mixed number for an improper fraction', boxed(`${f.sign}${Math.floor(f.p / f.q)}\\frac{${f.p % f.q}}{${f.q}}`), 1);
    }
  }
  const mixed = /^(\d+)\s*\\frac\{(\d+)\}\{(\d+)\}$/.exec(a);
  if (mixed) {
    const [w, p, q] = [Number(mixed[1]), Number(mixed[2]), Number(mixed[3])];
    add('quirk: improper fraction for a mixed-number reference', boxed(`\\frac{${w * q + p}}{${q}}`), 1);
  }
  const dec = decimalValue(a);
  if (dec && !f) add('equivalent: the value as a full-precision decimal', boxed(dec), 1);
  if (/^(?:\\left)?[([]|^\\begin|^\\\{/.test(a) && /\\frac\{\d+\}\{\d+\}/.test(a)) {
    add('quirk: an item of a tuple, interval or matrix as p/q', boxed(a.replace(/\\frac\{(\d+)\}\{(\d+)\}/g, '$1/$2')), 1);
  }
  if (!/[=,<>]|\\pm|matrix|\\cup|\\in|\\text|^[([{]|^\\left|^\\\{|^[A-E]$/.test(a)) {
    add('equivalent: written as 2(a)/2', boxed(`\\frac{2(${a})}{2}`), 1);
  }
  const swapped = swappedSum(a);
  if (swapped) add('equivalent: the two terms of a sum swapped', boxed(swapped), 1);
  if (integer && Math.abs(Number(a)) >= 1000) add('equivalent: thousands separators', boxed(BigInt(a).toLocaleString('en-US')), 1);
  if (integer) {
    const word = UNIT_WORDS[index % UNIT_WORDS.length]!;
    add('equivalent: ORZ unit word after the number (7 ways)', boxed(`${a} ${word}`), 1);
    add('equivalent: unit in \\text{ ...} (7 \\text{ ways})', boxed(`${a} \\text{ ${word}}`), 1);
    add('wrong-ish: a word outside ORZ\'s unit list (7 apples)', boxed(`${a} apples`), 0);
  }
  if (!/[=,]|\\in|matrix/.test(a) && set !== 'gpqa_diamond') add('equivalent: x = answer', boxed(`x = ${a}`), 1);
  if (set === 'gpqa_diamond') {
    add('equivalent: letter as (X)', boxed(`(${a})`), 1);
    add('equivalent: letter as \\text{X}', boxed(`\\text{${a}}`), 1);
  }
  add('quirk: \\boxed {x} (space before the brace)', respond(`The answer is \\boxed {${a}}.`), 1);
  add('several <answer> blocks: the last has the box', `${THINK} <answer> \\boxed{${other}} </answer> Wait, recheck. <answer> \\boxed{${a}} </answer>`, 1);
  add('several <answer> blocks: a trailing one without a box', `${THINK} <answer> \\boxed{${a}} </answer> <answer> done </answer>`, 1);
  add('several <answer> blocks: the last box is wrong', `${THINK} <answer> \\boxed{${a}} </answer> <answer> \\boxed{${other}} </answer>`, 0);
  add('text after </answer>', `${boxed(a)} That is the final answer.`, 1);
  add('box only outside <answer>', `<think> so \\boxed{${a}} </think> <answer> ${a} </answer>`, 0);
  add('no </answer> (stopped on "User:")', `${THINK} <answer> \\boxed{${a}} User:`, 0);
  const list = solutionList(a);
  if (list) add('quirk: solution list in another order', boxed([...list].reverse().join(', ')), 1);
  const pm = /^([^,{}]*?)\s*\\pm\s*(.+)$/.exec(a);
  if (pm && !a.includes('matrix') && !a.includes(',')) {
    add('quirk: \\pm written out as two roots', boxed(`${pm[1]} + ${pm[2]}, ${pm[1]} - ${pm[2]}`), 1);
  }
  return out;
}

/** All cases for the eval sets, keyed by set name, each a list of reference answers. */
export function buildCases(sets: Record<string, string[]>): RewardCase[] {
  const out: RewardCase[] = [];
  for (const [set, answers] of Object.entries(sets)) {
    answers.forEach((a, i) => {
      // The next answer in the set that is spelled differently stands in for a wrong answer.
      let other = a;
      for (let k = 1; k < answers.length && other.replace(/\s/g, '') === a.replace(/\s/g, ''); k++) other = answers[(i + k) % answers.length]!;
      out.push(...casesFor(set, a, other, i));
    });
  }
  return out;
}
