import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ARITH_MAX_OPERAND, ARITH_MAX_VALUE, arithCorpus, arithDrills, arithFacts, arithProblems, generateArithProblem, writeSolution } from '../sdk/data/arith.ts';
import { Rng } from '../sdk/engine/rng.ts';

test('problems are deterministic by seed and differ across seeds', () => {
  const a = arithProblems({ seed: 7, count: 20 }).map((p) => p.question);
  const b = arithProblems({ seed: 7, count: 20 }).map((p) => p.question);
  const c = arithProblems({ seed: 8, count: 20 }).map((p) => p.question);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test('every step is a valid operation in range and the answer is the last result', () => {
  const rng = new Rng(1);
  for (let i = 0; i < 500; i++) {
    const level = 1 + (i % 4);
    const p = generateArithProblem(rng, level);
    assert.equal(p.steps.length, level);
    let x = p.steps[0]!.a;
    for (const s of p.steps) {
      assert.equal(s.a, x);
      const r = s.op === '+' ? s.a + s.b : s.op === '-' ? s.a - s.b : s.a * s.b;
      assert.equal(s.result, r);
      assert.ok(r >= 0 && r <= ARITH_MAX_VALUE, `${p.question}: ${r} out of range`);
      if (s.op !== '*') assert.ok(s.b >= 1 && s.b <= ARITH_MAX_OPERAND, `${p.question}: operand ${s.b} out of range`);
      else assert.ok(s.b === 2 || s.b === 3, `${p.question}: factor ${s.b}`);
      x = r;
    }
    assert.equal(p.answer, x);
    // the question mentions every operand
    for (const s of p.steps) if (s.op !== '*') assert.ok(p.question.includes(String(s.b)), p.question);
  }
  assert.throws(() => generateArithProblem(rng, 5), /level must be 1-4/);
});

test('solutions: steps are correct, flawed ones end wrong, answer-only has no steps', () => {
  const rng = new Rng(2);
  for (const p of arithProblems({ seed: 3, count: 200 })) {
    const good = writeSolution(p, 'steps', rng);
    assert.ok(good.endsWith(`<answer> \\boxed{${p.answer}} </answer>`), good);
    for (const m of good.matchAll(/(\d+)([+\-*])(\d+)=(\d+)\./g)) {
      const [a, op, b, r] = [Number(m[1]), m[2], Number(m[3]), Number(m[4])];
      assert.equal(r, op === '+' ? a + b : op === '-' ? a - b : a * b, good);
    }
    const bad = writeSolution(p, 'flawed', rng);
    const boxed = Number(/\\boxed\{(-?\d+)\}/.exec(bad)![1]);
    assert.notEqual(boxed, p.answer, `flawed solution reached the right answer: ${bad}`);
    const short = writeSolution(p, 'answer-only', rng);
    assert.ok(!/\d[+\-*]\d/.test(short));
  }
});

test('excluded questions never appear and the corpus follows the mix', () => {
  const evalSet = new Set(arithProblems({ seed: 1, count: 300, levels: [1] }).map((p) => p.question));
  const train = arithProblems({ seed: 2, count: 2000, levels: [1], exclude: evalSet });
  assert.ok(train.every((p) => !evalSet.has(p.question)));
  const corpus = arithCorpus(train, { answerOnly: 0.5, steps: 0.5, flawed: 0 }, 9, (q) => `Q: ${q} A:`);
  const withSteps = corpus.filter((d) => /\d[+\-*]\d+=/.test(d)).length / corpus.length;
  assert.ok(withSteps > 0.45 && withSteps < 0.55, `steps share ${withSteps}`);
  assert.ok(corpus[0]!.startsWith('Q: '));
});

test('arithmetic facts cover every step the generator can ask for, and drills only state true facts', () => {
  const facts = arithFacts();
  const key = (a: number, op: string, b: number) => `${a}${op}${b}`;
  const known = new Set(facts.map((f) => key(f.a, f.op, f.b)));
  assert.equal(known.size, facts.length, 'no duplicate facts');
  for (const p of arithProblems({ seed: 11, count: 500 })) {
    for (const s of p.steps) assert.ok(known.has(key(s.a, s.op, s.b)), `${s.a}${s.op}${s.b} missing from the fact list`);
  }
  const drills = arithDrills(50, 12, 4);
  assert.deepEqual(drills, arithDrills(50, 12, 4));
  assert.notDeepEqual(drills, arithDrills(50, 12, 5));
  for (const d of drills) {
    const parts = [...d.matchAll(/(\d+)([+\-*])(\d+)=(\d+)\./g)];
    assert.equal(parts.length, 12, d);
    for (const m of parts) {
      const [a, op, b, r] = [Number(m[1]), m[2], Number(m[3]), Number(m[4])];
      assert.equal(r, op === '+' ? a + b : op === '-' ? a - b : a * b, d);
    }
  }
});
