import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extractAnswer, lastBoxed, normalizeAnswer } from '../sdk/reward/index.ts';

test('lastBoxed: balanced nested braces and escaped set braces', () => {
  assert.equal(lastBoxed('so \\boxed{\\frac{1}{2}} done'), '\\frac{1}{2}');
  assert.equal(lastBoxed('\\boxed{\\{1,2\\}}'), '\\{1,2\\}');
  assert.equal(lastBoxed('\\boxed{\\sqrt{\\frac{a}{b}}+1}'), '\\sqrt{\\frac{a}{b}}+1');
});

test('lastBoxed: the last box wins, \\fbox counts, none or unclosed gives null', () => {
  assert.equal(lastBoxed('\\boxed{1} then \\boxed{2}'), '2');
  assert.equal(lastBoxed('\\boxed{1} then \\fbox{3}'), '3');
  assert.equal(lastBoxed('\\fbox{3} then \\boxed{4}'), '4');
  assert.equal(lastBoxed('no box here'), null);
  assert.equal(lastBoxed('\\boxed{\\frac{1}{2}'), null);
  assert.equal(lastBoxed('\\boxed{1} and \\boxed{2'), null);
  assert.equal(lastBoxed('\\boxed{}'), '');
});

test('lastBoxed: the `\\boxed 5` form takes the next token', () => {
  assert.equal(lastBoxed('the answer is \\boxed 5 indeed'), '5');
  assert.equal(lastBoxed('$\\boxed -3$'), '-3');
});

test('extractAnswer: last box inside the last <answer> block', () => {
  const r = '<think> try \\boxed{7} </think> <answer> it is \\boxed{\\frac{1}{2}} </answer>';
  assert.equal(extractAnswer(r), '\\frac{1}{2}');
  const two = '<answer> \\boxed{1} </answer> wait <answer> \\boxed{2} and \\boxed{3} </answer>';
  assert.equal(extractAnswer(two), '3');
});

test('extractAnswer: boxes outside <answer> are ignored', () => {
  assert.equal(extractAnswer('<think>\\boxed{5}</think> <answer> five </answer>'), null);
  assert.equal(extractAnswer('<answer> \\boxed{1} </answer> \\boxed{9}'), '1');
});

test('extractAnswer: no tag, no closing tag, or unclosed brace gives null', () => {
  assert.equal(extractAnswer('the answer is \\boxed{5}'), null);
  assert.equal(extractAnswer('<answer> \\boxed{5}'), null);
  assert.equal(extractAnswer('\\boxed{5} </answer>'), null);
  assert.equal(extractAnswer('<answer> \\boxed{\\frac{1}{2} </answer>'), null);
  assert.equal(extractAnswer(''), null);
});

test('normalizeAnswer: Hendrycks-style spellings collapse to one string', () => {
  const same: Array<[string, string]> = [
    ['\\dfrac{3}{4}', '\\frac{3}{4}'],
    ['\\tfrac12', '\\frac{1}{2}'],
    ['\\frac 59', '\\frac{5}{9}'],
    ['3/4', '\\frac{3}{4}'],
    ['\\left( 3, \\frac{\\pi}{2} \\right)', '(3,\\frac{\\pi}{2})'],
    ['90^\\circ', '90'],
    ['90^{\\circ}', '90'],
    ['90°', '90'],
    ['50\\%', '50'],
    ['\\$18.90', '18.9'],
    ['10,\\!080', '10080'],
    ['1{,}000', '1000'],
    ['5\\text{ cm}', '5'],
    ['15\\mbox{ cm}^2', '15'],
    ['\\text{(C)}', 'C'],
    ['\\text{Evelyn}', 'Evelyn'],
    ['x = 5', '5'],
    ['x \\in [-2,7]', '[-2,7]'],
    ['.5', '0.5'],
    ['5.0', '5'],
    ['5.', '5'],
    ['\\boxed{7}', '7'],
    ['$7$', '7'],
    ['\\sqrt2', '\\sqrt{2}'],
    ['\\displaystyle\\mathbf{7}', '7'],
    ['3 \\, 000', '3000'],
  ];
  for (const [raw, want] of same) assert.equal(normalizeAnswer(raw), want, `normalizeAnswer(${JSON.stringify(raw)})`);
});

test('normalizeAnswer: keeps what changes the value', () => {
  assert.equal(normalizeAnswer('100, 200'), '100,200'); // a list, not one hundred thousand two hundred
  assert.equal(normalizeAnswer('5x - 7y + 11z + 4 = 0'), '5x-7y+11z+4=0'); // not a single-variable prefix
  assert.equal(normalizeAnswer('\\cot x'), '\\cot x'); // the space keeps \cot apart from x
  assert.equal(normalizeAnswer('[1,2)'), '[1,2)');
  assert.equal(normalizeAnswer('100'), '100');
});

test('lastBoxed: a space between \\boxed and its brace is still a box', () => {
  assert.equal(lastBoxed('so \\boxed {\\frac{1}{2}} done'), '\\frac{1}{2}');
  assert.equal(lastBoxed('\\boxed\n{7}'), '7');
});

test('extractAnswer: a trailing <answer> block without a box does not hide the boxed one', () => {
  assert.equal(extractAnswer('<answer> \\boxed{1} </answer> <answer> done </answer>'), '1');
  assert.equal(extractAnswer('<answer> one </answer> <answer> two </answer>'), null);
});
