// The math reward against every reference answer of the bundled eval sets (MATH500, AIME 2024).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { mathAnswerEqual, mathReward, normalizeAnswer, type Sample } from '../sdk/reward/index.ts';
import { Rng } from '../sdk/engine/rng.ts';

const DATA_DIR = fileURLToPath(new URL('../../shared/data/orz-eval/', import.meta.url));
const MAX_MS = 2000;

function finalAnswers(name: string): string[] {
  const records = JSON.parse(readFileSync(`${DATA_DIR}/${name}.json`, 'utf8')) as Array<{ final_answer: unknown }>;
  return records.map((r, i) => {
    assert.equal(typeof r.final_answer, 'string', `${name}.json record ${i}: final_answer`);
    return r.final_answer as string;
  });
}

const answers = [...finalAnswers('math500'), ...finalAnswers('aime2024')];

/** Run f and fail if this single call took longer than the checker's own 2 s budget. */
function timed<T>(what: string, f: () => T): T {
  const t0 = performance.now();
  const out = f();
  const ms = performance.now() - t0;
  assert.ok(ms < MAX_MS, `${what} took ${ms.toFixed(0)} ms`);
  return out;
}

test('eval data loaded', () => {
  assert.equal(answers.length, 530);
});

test('every reference answer equals itself', () => {
  for (const a of answers) assert.equal(timed(a, () => mathAnswerEqual(a, a)), true, JSON.stringify(a));
});

test('every reference answer, boxed in a model response, earns reward 1 only when the response finished', () => {
  for (const a of answers) {
    const sample: Sample = {
      prompt: 'question', groundTruth: a, finishReason: 'stop',
      response: `reasoning ... </think> <answer> \\boxed{${a}} </answer>`,
    };
    assert.equal(timed(a, () => mathReward(sample)), 1, JSON.stringify(a));
    assert.equal(mathReward({ ...sample, finishReason: 'length' }), 0, JSON.stringify(a));
  }
});

// Pairs of different reference answers that are nonetheless the same mathematical answer.
// Found by running every pair of distinct answers (about 100k) and reading the hits by hand:
// "1,-2" and "-2,1" are the same solution list in another order. Nothing else matched.
const GENUINELY_EQUAL = new Set(['1,-2 | -2,1', '-2,1 | 1,-2']);

test('different reference answers are almost never judged equal', () => {
  const distinct = [...new Set(answers)];
  const rng = new Rng(2024);
  let compared = 0;
  const judgedEqual: string[] = [];
  // A seeded sample of pairs, plus the known equal pair so the allow-list is exercised.
  const pairs: Array<[string, string]> = [['1,-2', '-2,1']];
  while (pairs.length < 600) pairs.push([rng.pick(distinct), rng.pick(distinct)]);
  for (const [a, b] of pairs) {
    if (normalizeAnswer(a) === normalizeAnswer(b)) continue;
    compared++;
    if (timed(`${a} vs ${b}`, () => mathAnswerEqual(a, b))) judgedEqual.push(`${a} | ${b}`);
  }
  assert.ok(compared >= 500, `only ${compared} pairs compared`);
  for (const p of judgedEqual) assert.ok(GENUINELY_EQUAL.has(p), `judged equal: ${p}`);
  assert.ok(judgedEqual.length <= 2);
});

test('perturbed spellings of reference answers still match', () => {
  // Cosmetic rewrites a model might produce; each keeps the value.
  const rewrites: Array<(s: string) => string> = [
    (s) => `$${s}$`,
    (s) => ` ${s.replace(/\\frac/g, '\\dfrac')} `,
    (s) => s.replace(/\s+(?![a-zA-Z])/g, ''), // a space before a letter can end a command name (\cot x)
    (s) => `\\boxed{\\displaystyle ${s}}`,
  ];
  for (const a of answers) {
    for (const rewrite of rewrites) {
      const b = rewrite(a);
      assert.equal(timed(b, () => mathAnswerEqual(b, a)), true, `${JSON.stringify(b)} vs ${JSON.stringify(a)}`);
    }
  }
});

test('GPQA letter answers: a letter matches its (X) and \\text{(X)} spellings and no other letter', () => {
  const letters = finalAnswers('gpqa_diamond');
  assert.ok(letters.every((l) => /^[A-D]$/.test(l)));
  for (const l of letters) {
    assert.equal(mathAnswerEqual(`\\text{(${l})}`, l), true, l);
    assert.equal(mathAnswerEqual(`(${l})`, l), true, l);
    for (const other of 'ABCD') if (other !== l) assert.equal(mathAnswerEqual(other, l), false, `${other} vs ${l}`);
  }
});
