// CellLanguageService against the real project: the SDK's types through `import ... from 'orz'`, the
// project's tsconfig.json, and cells committed one after another as the kernel does after each execution.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CellLanguageService } from '../kernel/ts/language-service.ts';
import { codePointToUtf16, utf16ToCodePoint } from '../kernel/ts/code-points.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
const FIXTURES = path.join(REPO, 'test/fixtures/kernel-ts');

/** The service of a notebook in the repository, with an SDK import and a Trainer already run. */
function notebookWithTrainer(): CellLanguageService {
  const ls = new CellLanguageService({ baseDir: REPO });
  ls.commit('import { Trainer, mathReward, type MetricsRow } from "orz";');
  ls.commit('declare const init: ConstructorParameters<typeof Trainer>[0];\nconst t = new Trainer(init);\nlet steps = 0;\nconst rows: MetricsRow[] = [];');
  return ls;
}

const codes = (ls: CellLanguageService, source: string): number[] => ls.diagnostics(source).map((d) => d.code);

test('diagnostics: type errors of the next cell, at cell positions, with earlier declarations and their types', () => {
  const ls = notebookWithTrainer();
  ls.warmUp();
  const line3 = '  t.step().then((r) => r.iteration satisfies string);';
  const d = ls.diagnostics(`const ok: number = steps;\nconst bad: string = steps;\n${line3}`);
  assert.deepEqual(d.map((x) => [x.line, x.column, x.code]), [[2, 7, 2322], [3, line3.indexOf('satisfies') + 1, 1360]]);
  assert.match(d[0]!.message, /Type 'number' is not assignable to type 'string'/);
  assert.deepEqual(codes(ls, 'const r: MetricsRow | undefined = rows[0];\nmathReward satisfies Function;'), []);
  assert.deepEqual(codes(ls, 'const n: number = qqqNotDeclared;'), [2304]);
  assert.deepEqual(codes(ls, 'import x from "no-such-package-anywhere";'), [2307]);
});

test('diagnostics: redeclaring is no error and the newest declaration wins; assignment follows the declaration kind', () => {
  const ls = new CellLanguageService({ baseDir: REPO });
  ls.commit('let v = "text";\nconst k = 1;\ninterface Shape { a: number }');
  assert.deepEqual(codes(ls, 'let v = 5;\nconst k = "again";\ninterface Shape { b: string }'), []);
  ls.commit('let v = 5;\ninterface Shape { b: string }');
  assert.deepEqual(codes(ls, 'const w: number = v;\nconst s: Shape = { b: "x" };'), []);
  assert.deepEqual(codes(ls, 'const w: string = v;'), [2322]);
  assert.deepEqual(codes(ls, 'const s: Shape = { a: 1 };'), [2353]);
  assert.deepEqual(codes(ls, 'v = 6;\nv++;'), []);
  const constAssign = ls.diagnostics('k = 2;');
  assert.deepEqual(constAssign.map((x) => [x.code, x.message]), [[2588, "Cannot assign to 'k' because it is a constant."]]);
});

test('diagnostics: top-level await and for-await are fine; kernel globals are typed', () => {
  const ls = new CellLanguageService({ baseDir: REPO });
  assert.deepEqual(codes(ls, 'const x = await Promise.resolve(1);\nfor await (const y of [Promise.resolve(2)]) y.toFixed();\nx.toFixed();'), []);
  assert.deepEqual(codes(ls, 'display({ a: 1 });\ndisplay("x", { id: "p", update: true });\nclearOutput(true);\nconst name: string = input("name? ");\nJupyter.comm.register("t", (comm) => comm.send({ ok: 1 }));'), []);
  assert.deepEqual(codes(ls, 'const n: number = input();'), [2322]);
  assert.deepEqual(codes(ls, 'display(1, { id: 5 });'), [2322]);
});

test('diagnostics: errors stay in their cell; syntax errors are reported too', () => {
  const ls = new CellLanguageService({ baseDir: REPO });
  ls.commit('const broken: number = "not a number";\nconst fine = 1;');
  assert.deepEqual(codes(ls, 'fine.toFixed();'), []);
  const d = ls.diagnostics('const a = ;');
  assert.deepEqual(d.map((x) => [x.line, x.column, x.code]), [[1, 11, 1109]]);
});

test('the project tsconfig.json applies: strict comes from it, noUnusedLocals does not', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orz-ls-'));
  try {
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: false, noUnusedLocals: true, target: 'ES5', types: [] } }));
    const loose = new CellLanguageService({ baseDir: dir });
    assert.equal(loose.configFile, path.join(dir, 'tsconfig.json'));
    assert.deepEqual(codes(loose, 'function f(x) { return x }\nconst unused = await Promise.resolve(1);'), []);
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, types: [] } }));
    assert.deepEqual(codes(new CellLanguageService({ baseDir: dir }), 'function f(x) { return x }'), [7006]);
    // Outside any project (no tsconfig.json, no @types/node): strict defaults, and Node's types from the kernel.
    const bare = fs.mkdtempSync(path.join(os.tmpdir(), 'orz-ls-bare-'));
    const outside = new CellLanguageService({ baseDir: bare });
    assert.equal(outside.configFile, null);
    assert.deepEqual(codes(outside, 'console.log(process.argv.length);\nfunction g(y) { return y }'), [7006]);
    fs.rmSync(bare, { recursive: true, force: true });
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), '{ "compilerOptions": { "strict": tru');
    assert.throws(() => new CellLanguageService({ baseDir: dir }), (e: unknown) => e instanceof Error && e.message.includes(path.join(dir, 'tsconfig.json')));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('complete: SDK members after `t.` for a Trainer made in an earlier cell; the span is the partial name', () => {
  const ls = notebookWithTrainer();
  const all = ls.complete('t.', 2);
  assert.ok(all.matches.includes('step') && all.matches.includes('run') && all.matches.includes('generate'), all.matches.join());
  assert.deepEqual([all.cursorStart, all.cursorEnd], [2, 2]);
  const partial = ls.complete('await t.ru', 10);
  assert.deepEqual(partial.matches, ['run']);
  assert.deepEqual([partial.cursorStart, partial.cursorEnd], [8, 10]);
  assert.deepEqual(partial.types, [{ text: 'run', type: 'function', start: 8, end: 10 }]);
  // In the middle of a line, with text after the cursor.
  const middle = ls.complete('const s = t.it + 1;', 14);
  assert.deepEqual(middle.matches, ['iteration']);
  assert.deepEqual([middle.cursorStart, middle.cursorEnd], [12, 14]);
});

test('complete: global names, earlier cells first, kernel globals, keywords', () => {
  const ls = notebookWithTrainer();
  const g = ls.complete('st', 2);
  assert.equal(g.matches[0], 'steps', 'a name from an earlier cell sorts before library globals');
  assert.ok(g.matches.includes('structuredClone'));
  assert.deepEqual(ls.complete('displ', 5).matches, ['display']);
  assert.ok(ls.complete('con', 3).matches.includes('const'));
  assert.deepEqual(ls.complete('xyzzy_nothing', 13).matches, []);
});

test('complete: relative import paths from the notebook directory', () => {
  const ls = new CellLanguageService({ baseDir: FIXTURES });
  const source = 'import { double } from "./hel';
  const r = ls.complete(source, source.length);
  assert.ok(r.matches.some((m) => m.startsWith('helper')), r.matches.join());
  assert.equal(source.slice(r.cursorStart, r.cursorEnd), 'hel');
});

test('inspect: signature and JSDoc of the symbol at or before the cursor, plain and markdown', () => {
  const ls = notebookWithTrainer();
  const reward = ls.inspect('mathReward', 10, 0);
  assert.ok(reward.found);
  assert.match(reward.plain, /^function mathReward\(sample: Sample\): number/);
  assert.match(reward.plain, /last boxed answer/);
  assert.match(reward.markdown, /^```typescript\nfunction mathReward/);
  const step = ls.inspect('t.step(', 7, 1);
  assert.match(step.plain, /Trainer\.step\(opts\?/);
  assert.match(step.plain, /One whole PPO iteration/);
  assert.match(step.plain, /Defined in sdk\/ppo\/trainer\.ts:\d+/);
  const mine = ls.inspect('steps', 2, 1);
  assert.match(mine.plain, /let steps: number/);
  assert.match(mine.plain, /Defined in cell 2 .*line 3/);
  const call = ls.inspect('display(1, ', 11, 0);
  assert.match(call.plain, /display\(value: unknown, opts\?: JupyterDisplayOptions\)/);
  assert.deepEqual(ls.inspect('   ', 1, 0), { found: false, plain: '', markdown: '' });
});

test('code points and UTF-16 offsets: characters outside the BMP', () => {
  const s = 'const 🎲 = "é🎲"; x';
  assert.equal(codePointToUtf16(s, 6), 6);
  assert.equal(codePointToUtf16(s, 7), 8);
  assert.equal(codePointToUtf16(s, [...s].length), s.length);
  assert.equal(codePointToUtf16(s, 1000), s.length);
  for (let cp = 0; cp <= [...s].length; cp++) assert.equal(utf16ToCodePoint(s, codePointToUtf16(s, cp)), cp);
  const ls = new CellLanguageService({ baseDir: REPO });
  ls.commit('const values = [1, 2];');
  const src = '"🎲🎲"; values.le';
  const r = ls.complete(src, src.length);
  assert.deepEqual(r.matches, ['length']);
  assert.deepEqual([utf16ToCodePoint(src, r.cursorStart), utf16ToCodePoint(src, r.cursorEnd)], [13, 15]);
});

test('speed: completion after warm-up answers well under a second', (t) => {
  const ls = notebookWithTrainer();
  let start = performance.now();
  ls.warmUp();
  ls.complete('t.', 2);
  const warm = performance.now() - start;
  const times: number[] = [];
  for (const src of ['t.st', 'rows.', 'const q = t.config.', 'steps.to']) {
    start = performance.now();
    const r = ls.complete(src, src.length);
    times.push(performance.now() - start);
    assert.ok(r.matches.length > 0, src);
  }
  ls.commit('const later = t.iteration + 1;');
  start = performance.now();
  ls.complete('later.toF', 9);
  times.push(performance.now() - start);
  t.diagnostic(`warm-up ${warm.toFixed(0)} ms; completions ${times.map((x) => x.toFixed(0)).join(', ')} ms`);
  assert.ok(Math.max(...times) < 1000, `slow completion: ${times.join(', ')} ms`);
});
