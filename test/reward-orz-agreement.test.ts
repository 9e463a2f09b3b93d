// mathReward gives ORZ's verdicts; mathRewardFixed fixes ORZ's quirks. The `orz` column is what
// ORZ's checker (orz/ppo/tools/math_utils.py with the extraction of playground/orz_7b_ppo.py)
// returns, read from its code and confirmed by bench/reward-orz-agreement.ts; `ours` is set only
// where the default deliberately differs from ORZ because ORZ is clearly wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { extractAnswerOrz, mathReward, mathRewardFixed, mathRewardWith, type Sample } from '../sdk/reward/index.ts';

const DATA_DIR = fileURLToPath(new URL('../../shared/data/orz-eval/', import.meta.url));

interface QuirkCase {
  what: string;
  truth: string;
  response: string;
  orz: 0 | 1;
  fixed: 0 | 1;
  ours?: 0 | 1;
  finishReason?: Sample['finishReason'];
}

const box = (a: string): string => `<think> working </think> <answer> The answer is \\boxed{${a}}. </answer>`;

const CASES: QuirkCase[] = [
  { what: 'plain correct answer', truth: '7', response: box('7'), orz: 1, fixed: 1 },
  { what: 'cut off by the length limit', truth: '7', response: box('7'), orz: 0, fixed: 0, finishReason: 'length' },
  { what: 'a space between \\boxed and { (ORZ\'s regex needs `\\boxed{`)', truth: '7', response: '<answer> \\boxed {7} </answer>', orz: 0, fixed: 1 },
  { what: '\\fbox (ORZ\'s regex finds only \\boxed{)', truth: '7', response: '<answer> \\fbox{7} </answer>', orz: 0, fixed: 1 },
  { what: 'several blocks, the last has the box', truth: '7', response: '<answer> \\boxed{3} </answer> no, <answer> \\boxed{7} </answer>', orz: 1, fixed: 1 },
  { what: 'several blocks, a trailing one without a box', truth: '7', response: '<answer> \\boxed{7} </answer> <answer> done </answer>', orz: 1, fixed: 1 },
  { what: 'several blocks, the last box is wrong', truth: '7', response: '<answer> \\boxed{7} </answer> <answer> \\boxed{8} </answer>', orz: 0, fixed: 0 },
  { what: 'text after </answer>', truth: '7', response: '<answer> \\boxed{7} </answer> That is all.', orz: 1, fixed: 1 },
  { what: 'the box only outside <answer>', truth: '7', response: '<think> \\boxed{7} </think> <answer> 7 </answer>', orz: 0, fixed: 0 },
  { what: 'no </answer> (stopped on a stop word)', truth: '7', response: '<answer> \\boxed{7} User:', orz: 0, fixed: 0 },
  { what: 'ORZ unit word: 7 ways', truth: '7', response: box('7 ways'), orz: 1, fixed: 1 },
  { what: 'ORZ unit word: 5 students', truth: '5', response: box('5 students'), orz: 1, fixed: 1 },
  { what: 'unit in \\text{ ...}', truth: '7', response: box('7 \\text{ ways}'), orz: 1, fixed: 1 },
  { what: 'a word outside the unit list', truth: '7', response: box('7 apples'), orz: 0, fixed: 0 },
  { what: 'x = answer', truth: '5', response: box('x = 5'), orz: 1, fixed: 1 },
  { what: '\\dfrac and a slash', truth: '\\frac{14}{3}', response: box('14/3'), orz: 1, fixed: 1 },
  { what: 'exact decimal', truth: '\\frac{3}{4}', response: box('0.75'), orz: 1, fixed: 1 },
  { what: 'rounded decimal', truth: '\\frac{1}{3}', response: box('0.333'), orz: 0, fixed: 0 },
  { what: 'thousands separators', truth: '58500', response: box('58,500'), orz: 1, fixed: 1 },
  { what: 'GPQA letter in parentheses', truth: 'D', response: box('(D)'), orz: 1, fixed: 1 },
  { what: 'GPQA wrong letter', truth: 'D', response: box('C'), orz: 0, fixed: 0 },
  { what: 'solution list in another order', truth: '1,-2', response: box('-2, 1'), orz: 0, fixed: 1 },
  { what: '\\pm written out as two roots', truth: '1 \\pm \\sqrt{19}', response: box('1 + \\sqrt{19}, 1 - \\sqrt{19}'), orz: 0, fixed: 1 },
  { what: 'mixed number for an improper fraction (sympy: 2 * 1/2)', truth: '\\frac{5}{2}', response: box('2\\frac{1}{2}'), orz: 0, fixed: 1 },
  { what: 'improper fraction for a mixed-number truth', truth: '1\\frac{4}{5}', response: box('\\frac{9}{5}'), orz: 0, fixed: 1 },
  { what: 'a number times a sum (sympy multiplies it out)', truth: '2k+2', response: box('2(k+1)'), orz: 1, fixed: 1 },
  { what: 'a square not multiplied out (sympy does not expand)', truth: 'x^2+2x+1', response: box('(x+1)^2'), orz: 0, fixed: 1 },
  { what: '\\pi as a decimal (\\pi is a sympy symbol)', truth: '\\frac{\\pi}{2}', response: box('1.5707963267948966'), orz: 0, fixed: 1 },
  { what: 'a surd as a decimal', truth: '\\sqrt{51}', response: box('7.14142842854285'), orz: 1, fixed: 1 },
  { what: 'an equation in another arrangement', truth: 'y = 2x + 3', response: box('2x - y + 3 = 0'), orz: 0, fixed: 1 },
  { what: 'an equation with its sides reordered', truth: 'y = 2x + 3', response: box('y = 3 + 2x'), orz: 1, fixed: 1 },
  // ORZ clearly wrong: sympy stops reading at a comma, so a list is judged by its first item.
  { what: 'a hedged list that starts with the answer', truth: '3', response: box('3, 4'), orz: 1, ours: 0, fixed: 0 },
  { what: 'a list for a list whose first items agree', truth: '1,-2', response: box('1, 99'), orz: 1, ours: 0, fixed: 0 },
  // ORZ clearly wrong: it deletes every comma, so `12` is `1,2`.
  { what: 'commas deleted: 12 for the list 1,2', truth: '1,2', response: box('12'), orz: 1, ours: 0, fixed: 0 },
];

for (const c of CASES) {
  test(`mathReward (ORZ's verdicts) and mathRewardFixed: ${c.what}`, () => {
    const sample: Sample = { prompt: 'q', response: c.response, groundTruth: c.truth, finishReason: c.finishReason ?? 'stop' };
    assert.equal(mathReward(sample), c.ours ?? c.orz, 'default (ORZ) verdict');
    assert.equal(mathRewardFixed(sample), c.fixed, 'fixed verdict');
  });
}

test('extractAnswerOrz: one span from the first \\boxed{ to the last } before the last </answer>', () => {
  assert.equal(extractAnswerOrz('<answer> \\boxed{1} </answer> <answer> \\boxed{2} </answer>'), '2');
  assert.equal(extractAnswerOrz('<answer> \\boxed{1} </answer> <answer> done </answer>'), '1');
  assert.equal(extractAnswerOrz('<answer> \\boxed {1} </answer>'), '');
  // The last box is `\boxed {2}`, not of ORZ's form: ORZ answers with the whole span.
  assert.equal(extractAnswerOrz('<answer> \\boxed{1} or \\boxed {2} </answer>'), '\\boxed{1} or \\boxed {2}');
  assert.equal(extractAnswerOrz('\\boxed{1} </answer>'), '');
  assert.equal(extractAnswerOrz('<answer> \\boxed{1}'), '');
});

test('mathRewardWith picks the variant by name; both are plain (sample) => number functions', () => {
  assert.equal(mathRewardWith({ quirks: 'orz' }), mathReward);
  assert.equal(mathRewardWith({ quirks: 'fixed' }), mathRewardFixed);
  assert.throws(() => mathRewardWith({ quirks: 'lenient' as 'orz' }), RangeError);
  assert.equal(mathReward.length, 1);
  assert.equal(mathRewardFixed.length, 1);
});

function finalAnswers(name: string): string[] {
  const records = JSON.parse(readFileSync(`${DATA_DIR}/${name}.json`, 'utf8')) as Array<{ final_answer: string }>;
  return records.map((r) => r.final_answer);
}

const answers = ['math500', 'aime2024', 'gpqa_diamond'].flatMap(finalAnswers);

test('every eval answer: boxed earns 1 from both; `\\boxed {x}` earns 1 only from the fixed variant', () => {
  assert.equal(answers.length, 728);
  for (const a of answers) {
    const sample: Sample = { prompt: 'q', response: box(a), groundTruth: a, finishReason: 'stop' };
    assert.equal(mathReward(sample), 1, a);
    assert.equal(mathRewardFixed(sample), 1, a);
    const spaced = { ...sample, response: `<answer> \\boxed {${a}} </answer>` };
    assert.equal(mathReward(spaced), 0, a);
    assert.equal(mathRewardFixed(spaced), 1, a);
  }
});

test('every integer eval answer: an ORZ unit word after it is still correct, another word is not', () => {
  // Not 0: `0 apples` is a product that is 0, for sympy (so ORZ) and for us alike.
  const integers = answers.filter((a) => /^\d+$/.test(a) && a !== '0');
  assert.ok(integers.length > 300);
  for (const a of integers) {
    for (const [response, want] of [[box(`${a} ways`), 1], [box(`${a} points`), 1], [box(`${a} apples`), 0]] as const) {
      const sample: Sample = { prompt: 'q', response, groundTruth: a, finishReason: 'stop' };
      assert.equal(mathReward(sample), want, response);
      assert.equal(mathRewardFixed(sample), want, response);
    }
  }
});

// Each expectation was checked against ORZ's _strip_string / normalize_final_answer / get_answer_str.
test('ORZ string normalisations: the facts the default relies on', async () => {
  const { orzStrip, orzMinervaNormalize, orzUnbox, pythonFloat } = await import('../sdk/reward/orz-strings.ts');
  // ORZ also drops the comma here, '(3\\frac{\\pi}{2})': the one deliberate change to this step.
  assert.equal(orzStrip('\\left( 3, \\dfrac{\\pi}{2} \\right)'), '(3,\\frac{\\pi}{2})');
  assert.equal(orzStrip('k = 5'), '5'); // a left side of at most two characters is a name
  assert.equal(orzStrip('abc = 5'), 'abc=5');
  assert.equal(orzStrip('5 \\text{ cm}'), '5');
  assert.equal(orzStrip('5 \\text{ cm} and 6 \\text{ cm}'), null); // ORZ asserts a single unit
  assert.equal(orzStrip('10,\\! 080'), '10080');
  assert.equal(orzStrip('1,2'), '1,2'); // ORZ: '12' (deliberate difference)
  assert.equal(orzStrip('\\frac12'), '\\frac{1}{2}');
  assert.equal(orzStrip('\\sqrt3'), '\\sqrt{3}');
  assert.equal(orzStrip('.5'), '\\frac{1}{2}');
  assert.equal(orzStrip('3/4'), '\\frac{3}{4}');
  assert.equal(orzStrip('50%'), '50%'); // only \% is removed
  assert.equal(pythonFloat('10.0'), 10);
  assert.equal(pythonFloat('-inf'), -Infinity);
  assert.equal(pythonFloat('\\frac{1}{2}'), null);
  assert.equal(orzMinervaNormalize('7 ways'), '7');
  assert.equal(orzMinervaNormalize('\\text{Evelyn}'), 'Evelyn');
  assert.equal(orzMinervaNormalize('5 square feet'), '5');
  assert.equal(orzMinervaNormalize('$x$ or $y$'), 'x');
  assert.equal(orzUnbox('so \\boxed{\\frac{1}{2}}'), '\\frac{1}{2}');
  assert.equal(orzUnbox('\\fbox{3}'), '\\fbox{3}'); // found, but not of the `\boxed{` form
  assert.equal(orzUnbox('no box'), 'no box');
});

test('orzAnswerEqual: hostile inputs finish quickly and do not throw', async () => {
  const { orzAnswerEqual } = await import('../sdk/reward/index.ts');
  const hostile: Array<[string, string]> = [
    ['('.repeat(500) + '1' + ')'.repeat(500), '1'],
    ['\\frac{'.repeat(80) + '1' + '}{3}'.repeat(80), '1'],
    ['x^{'.repeat(150) + 'x' + '}'.repeat(150), 'x'],
    ['1+'.repeat(490) + '1', '491'],
    ['(x+1)'.repeat(150), '(x+1)^{150}'],
    ['10^{10^{10}}', '10^{10^{10}}+1'],
    ['\\sqrt{'.repeat(160) + '2' + '}'.repeat(160), '1'],
    ['\\text{ '.repeat(200), '\\frac'],
    ['9'.repeat(5000), '9'.repeat(4999) + '8'],
  ];
  for (const [a, b] of hostile) {
    const t0 = performance.now();
    const r = orzAnswerEqual(a, b);
    const ms = performance.now() - t0;
    assert.equal(typeof r, 'boolean');
    assert.ok(ms < 2000, `${a.slice(0, 20)}... took ${ms.toFixed(0)} ms`);
  }
  assert.equal(orzAnswerEqual(hostile[3]![0], hostile[3]![1]), true); // sympy sums it too
  assert.equal(orzAnswerEqual(hostile[4]![0], hostile[4]![1]), true); // powers of one base merge
  // As in ORZ: both overflow Python's float() to inf, and inf == inf.
  assert.equal(orzAnswerEqual(hostile[8]![0], hostile[8]![1]), true);
});
