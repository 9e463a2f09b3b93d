// The multiple-choice reward on ORZ's GPQA-Diamond file: every record, right letter / right text / wrong letter,
// format variants, and the same verdicts from the reward workers as on this thread.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { readOrzEvalJson, type ProblemRecord } from '../sdk/data/index.ts';
import { choiceReward, chosenLetters, closeRewardPools, scoreSamples, type Sample } from '../sdk/reward/index.ts';

after(() => closeRewardPools());

const GPQA = fileURLToPath(new URL('../../shared/data/orz-eval/gpqa_diamond.json', import.meta.url));
const records = await readOrzEvalJson(GPQA);
const choicesOf = (r: ProblemRecord) => r['choices'] as Record<string, string>;

function sampleFor(r: ProblemRecord, boxed: string, finishReason: 'stop' | 'length' = 'stop'): Sample {
  return {
    prompt: r.prompt, groundTruth: r.groundTruth, finishReason, choices: JSON.stringify(choicesOf(r)),
    response: ` Comparing the options. </think> <answer> The answer is \\boxed{${boxed}}. </answer>`,
  };
}
const wrongLetter = (r: ProblemRecord) => Object.keys(choicesOf(r)).find((l) => l !== r.groundTruth)!;

test('GPQA-Diamond: the right letter and the right choice text score 1, a wrong letter 0, on all 198 records', () => {
  assert.equal(records.length, 198);
  records.forEach((r, i) => {
    const c = choicesOf(r);
    assert.deepEqual(Object.keys(c).sort(), ['A', 'B', 'C', 'D'], `record ${i}`);
    assert.equal(choiceReward(sampleFor(r, r.groundTruth)), 1, `record ${i}: letter ${r.groundTruth}`);
    assert.equal(choiceReward(sampleFor(r, c[r.groundTruth]!)), 1, `record ${i}: text ${JSON.stringify(c[r.groundTruth])}`);
    assert.equal(choiceReward(sampleFor(r, wrongLetter(r))), 0, `record ${i}: wrong letter ${wrongLetter(r)}`);
    assert.equal(choiceReward(sampleFor(r, c[wrongLetter(r)]!)), 0, `record ${i}: wrong text`);
  });
});

test('letter formats: (B), B., B), \\text{B}, $B$, "B. <text>"; truncated, unboxed or outside <answer> is 0', () => {
  const r = records.find((x) => x.groundTruth === 'B')!;
  const text = choicesOf(r)['B']!;
  for (const boxed of ['B', '(B)', 'B.', 'B)', '\\text{B}', '\\textbf{(B)}', '$B$', ' B ', `B. ${text}`, `(B) ${text}`, `\\text{${text}}`]) {
    assert.equal(choiceReward(sampleFor(r, boxed)), 1, JSON.stringify(boxed));
  }
  for (const boxed of ['b', 'BB', 'E', 'B or C', `C. ${text}`, '']) {
    assert.equal(choiceReward(sampleFor(r, boxed)), 0, JSON.stringify(boxed));
  }
  assert.equal(choiceReward(sampleFor(r, 'B', 'length')), 0, 'cut off by the length limit');
  assert.equal(choiceReward({ ...sampleFor(r, 'B'), response: '<answer> The answer is B </answer>' }), 0, 'no box');
  assert.equal(choiceReward({ ...sampleFor(r, 'B'), response: 'so \\boxed{B} <answer> \\boxed{C} </answer>' }), 0, 'box outside <answer>');
  assert.equal(choiceReward({ ...sampleFor(r, 'B'), choices: choicesOf(r) }), 1, 'choices as an object');
});

test('a choice text is matched exactly, case included: record 0 lists a)..d) items and choices "d", "a", "b", "c"', () => {
  const r = records[0]!;
  assert.deepEqual(choicesOf(r), { A: 'd', B: 'a', C: 'b', D: 'c' });
  assert.equal(r.groundTruth, 'D');
  assert.deepEqual(chosenLetters('c', choicesOf(r)), ['D']);
  assert.deepEqual(chosenLetters('d', choicesOf(r)), ['A']);
  assert.deepEqual(chosenLetters('D', choicesOf(r)), ['D']);
});

test('two choices with the same text (record 109) are both named by it', () => {
  const c = choicesOf(records[109]!);
  assert.deepEqual(chosenLetters(c['B']!, c), ['B', 'D']);
  assert.equal(choiceReward(sampleFor(records[109]!, c['B']!)), 0);
});

test('a sample without choices, or with a truth that is not a letter of them, is an error naming the field', () => {
  const r = records[0]!;
  assert.throws(() => choiceReward({ ...sampleFor(r, 'D'), choices: undefined }), /needs "choices"/);
  assert.throws(() => choiceReward({ ...sampleFor(r, 'D'), choices: '{nope' }), /not JSON/);
  assert.throws(() => choiceReward({ ...sampleFor(r, 'D'), groundTruth: 'E' }), /groundTruth must be one of the letters A, B, C, D, got "E"/);
});

test('choiceReward runs in the reward workers (shipped by module path) with the same verdicts as here', async () => {
  const samples = records.flatMap((r) => [sampleFor(r, r.groundTruth), sampleFor(r, wrongLetter(r)), sampleFor(r, `(${r.groundTruth})`)]);
  const here = samples.map((s) => choiceReward(s));
  assert.deepEqual(await scoreSamples(choiceReward, samples, { rewardWorkers: 2 }), here);
  assert.equal(here.reduce((a, b) => a + b, 0), 2 * records.length);
});
