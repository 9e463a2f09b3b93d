import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mathAnswerEqual } from '../sdk/reward/index.ts';

// Each pair is equal (or not) for a reason a person can check by hand; the reason is the comment.
const EQUAL: Array<[string, string]> = [
  ['\\frac12', '0.5'], // one half
  ['\\dfrac{3}{4}', '3/4'],
  ['\\frac{2}{4}', '\\frac{1}{2}'], // reduced fraction
  ['-\\frac{3}{8}', '\\frac{-3}{8}'],
  ['10^\\circ', '10'], // degree sign dropped
  ['x=5', '5'],
  ['\\$5', '5'],
  ['5\\text{ cm}', '5'],
  ['864 \\mbox{ inches}^2', '864'],
  ['\\sqrt{8}', '2\\sqrt{2}'], // sqrt(4*2)
  ['3\\sqrt{13}', '\\sqrt{117}'], // 9*13 = 117
  ['\\frac{\\sqrt{3}}{3}', '\\frac{1}{\\sqrt{3}}'],
  ['\\{1,2\\}', '\\{2,1\\}'], // sets are unordered
  ['2x+1', '1+2x'],
  ['2(x+1)', '2x+2'],
  ['x^2+2x+1', '(x+1)^2'],
  ['x^5 - x^4 + x^3 - x^2 + x - 1', '(x-1)(x^4+x^2+1)'], // multiply out
  ['\\frac{x^2-1}{x-1}', 'x+1'],
  ['1,000', '1000'],
  ['11,\\! 111,\\! 111,\\! 100', '11111111100'],
  ['123456789012345678901234567890', '123456789012345678901234567890.0'],
  ['10^{10}', '10000000000'],
  ['2.5\\times 10^{3}', '2500'],
  ['.0000672', '6.72\\times10^{-5}'],
  ['1\\frac{4}{5}', '\\frac{9}{5}'], // mixed number 1 + 4/5
  ['137 \\frac{1}{2}', '275/2'],
  ['\\left( 3, \\frac{\\pi}{2} \\right)', '(3, \\pi/2)'],
  ['(-\\infty, 2) \\cup (3, \\infty)', '(3,\\infty)\\cup(-\\infty,2)'], // union is unordered
  ['\\left[ \\frac{\\pi^2}{8}, \\frac{5 \\pi^2}{4} \\right]', '[\\pi^2/8, 1.25\\pi^2]'],
  ['1 \\pm \\sqrt{19}', '1-\\sqrt{19}, 1+\\sqrt{19}'], // \pm names both roots
  ['\\{1\\pm\\sqrt{5},-2\\}', '\\{-2, 1+\\sqrt5, 1-\\sqrt5\\}'],
  ['1,-2', '-2, 1'], // a list of solutions
  ['\\begin{pmatrix} -1/3 \\\\ 2/3 \\end{pmatrix}', '\\begin{pmatrix} -\\frac{1}{3} \\\\ \\frac{2}{3} \\end{pmatrix}'],
  ['y = 2x + 3', '2x - y + 3 = 0'], // same line
  ['5x - 7y + 11z + 4 = 0', '-10x + 14y - 22z - 8 = 0'], // same plane, scaled by -2
  ['y = -2x', '-2x'],
  ['6 - 5i', '-5i + 6'],
  ['i^2', '-1'],
  ['(1+i)^2', '2i'],
  ['\\cot x', '\\frac{\\cos x}{\\sin x}'],
  ['\\sin^2 x + \\cos^2 x', '1'],
  ['\\log_2 8', '3'],
  ['e^{i\\pi}', '-1'],
  ['\\sqrt[3]{-8}', '-2'], // real cube root
  ['5!', '120'],
  ['\\binom{5}{2}', '10'],
  ['|-3|', '3'],
  ['2\\pi', '6.283185307'],
  ['\\text{(C)}', 'C'],
  ['\\text{Evelyn}', 'evelyn'],
  ['\\text{East}', '\\text{east}'],
  ['\\$32,\\!348', '32,348'],
  ['52_8', '52_{8}'], // base-8 numeral written two ways
  ['x \\in [-2,7]', '[-2, 7]'],
  ['0.1', '\\frac{1}{10}'],
  ['5r^5', '5 r^{5}'],
  ['2k+2', '2(k+1)'],
  ['\\frac{11+9a}{20}', '\\frac{11}{20}+\\frac{9a}{20}'],
];

const NOT_EQUAL: Array<[string, string]> = [
  ['(1,2)', '(2,1)'], // tuples are ordered
  ['[1,2)', '[1,2]'], // bracket types must match
  ['(3,4]', '(3,4)'],
  ['x^2', '2x'],
  ['x', 'y'],
  ['3R^2', '3r^2'], // variables are case-sensitive
  ['1000000', '1000001'], // different integers even though relatively close
  ['10^{10}+1', '10000000000'],
  ['123456789012345678901234567890', '123456789012345678901234567891'],
  ['50\\%', '0.5'], // percent is dropped, not converted (as in ORZ / MATH)
  ['\\frac{1}{3}', '0.333'],
  ['3.14', '\\pi'],
  ['\\sqrt{2}', '1.41421'],
  ['-\\infty', '\\infty'],
  ['\\frac{1}{0}', '\\infty'], // undefined is not infinity
  ['10^{400}', '10^{401}'], // both overflow, still different
  ['(0,9) \\cup (9,36)', '(0,36)'], // the union leaves out 9
  ['\\{1,2\\}', '\\{1,2,3\\}'],
  ['1 \\pm \\sqrt{19}', '1+\\sqrt{19}'], // only one of the two roots
  ['1,-2', '1,2'],
  ['100, 200', '100200'],
  ['\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}', '\\begin{pmatrix} 2 \\\\ 1 \\end{pmatrix}'],
  ['y = 2x + 3', 'y = 2x + 4'],
  ['x = 2', 'x = -2'],
  ['6 - 5i', '6 + 5i'],
  ['52_8', '52'],
  ['\\text{east}', '\\text{seat}'], // words are not products of letters
  ['\\text{(B)}', '\\text{(C)}'],
  ['\\text{even}', '2'],
  ['30^\\circ', '\\frac{\\pi}{6}'],
  ['2\\sqrt{3}', '3\\sqrt{2}'],
  ['\\frac{3}{2}', '\\frac{2}{3}'],
  ['', '0'],
  ['x+1', ''],
  ['\\sin x', '\\cos x'],
  ['(a+5)(b+2)', '(a+2)(b+5)'],
  ['2^{10}', '1000'],
  ['\\frac{1}{2}', '\\frac{1}{2}x'],
  ['\\foo{1}', '1'], // unknown command: not parsed, not equal
];

test('mathAnswerEqual: equal pairs (both argument orders)', () => {
  for (const [a, b] of EQUAL) {
    assert.equal(mathAnswerEqual(a, b), true, `${JSON.stringify(a)} should equal ${JSON.stringify(b)}`);
    assert.equal(mathAnswerEqual(b, a), true, `${JSON.stringify(b)} should equal ${JSON.stringify(a)}`);
  }
});

test('mathAnswerEqual: different pairs (both argument orders)', () => {
  for (const [a, b] of NOT_EQUAL) {
    assert.equal(mathAnswerEqual(a, b), false, `${JSON.stringify(a)} should differ from ${JSON.stringify(b)}`);
    assert.equal(mathAnswerEqual(b, a), false, `${JSON.stringify(b)} should differ from ${JSON.stringify(a)}`);
  }
  assert.ok(EQUAL.length + NOT_EQUAL.length >= 60);
});

test('mathAnswerEqual: non-strings are false, never a throw', () => {
  assert.equal(mathAnswerEqual(undefined as unknown as string, '1'), false);
  assert.equal(mathAnswerEqual('1', 1 as unknown as string), false);
});

test('mathAnswerEqual: the deadline turns a real comparison into false', () => {
  assert.equal(mathAnswerEqual('2x+1', '1+2x'), true);
  assert.equal(mathAnswerEqual('2x+1', '1+2x', { timeoutMs: 0 }), false);
});

test('mathAnswerEqual: hostile inputs finish quickly and do not throw', () => {
  const hostile: Array<[string, string]> = [
    ['('.repeat(500) + '1' + ')'.repeat(500), '1'],
    ['\\frac{'.repeat(80) + '1' + '}{3}'.repeat(80), '1'],
    ['1\\frac{'.repeat(80) + '1' + '}{2}'.repeat(80), '2'],
    ['x^{'.repeat(150) + 'x' + '}'.repeat(150), 'x'],
    ['1+'.repeat(490) + '1', '491'],
    ['\\sqrt{'.repeat(160) + '2' + '}'.repeat(160), '1'],
    ['\\{'.repeat(240) + '\\}'.repeat(240), '1'],
    [Array.from({ length: 150 }, (_, i) => `${i}x`).join(','), Array.from({ length: 150 }, (_, i) => `${149 - i}x`).join(',')],
    ['9'.repeat(5000), '9'.repeat(4999) + '8'], // past the length cap: exact match only
    ['a'.repeat(3000), 'a'.repeat(3000)],
  ];
  for (const [a, b] of hostile) {
    const t0 = performance.now();
    const r = mathAnswerEqual(a, b);
    const ms = performance.now() - t0;
    assert.equal(typeof r, 'boolean');
    assert.ok(ms < 2000, `${a.slice(0, 20)}... took ${ms.toFixed(0)} ms`);
  }
  // Mathematical truths that survive the size: the reversed list of multiples is the same set.
  assert.equal(mathAnswerEqual(hostile[7]![0], hostile[7]![1]), true);
  assert.equal(mathAnswerEqual(hostile[4]![0], hostile[4]![1]), true);
  assert.equal(mathAnswerEqual(hostile[8]![0], hostile[8]![1]), false);
  assert.equal(mathAnswerEqual(hostile[9]![0], hostile[9]![1]), true);
});
