// The cell compiler, checked by running its output the way the kernel does: V8 REPL mode through
// node:inspector's Runtime.evaluate, several cells in a row in this process (tsx registered, as in the kernel).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import inspector from 'node:inspector';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compileCell, CellImportError, CellSyntaxError } from '../kernel/ts/compile.ts';
import { resolveSpecifier, ModuleResolveError } from '../kernel/ts/resolve-specifier.ts';
import { isComplete } from '../kernel/ts/is-complete.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
const FIXTURES = path.join(REPO, 'test/fixtures/kernel-ts');
const CHECK = 'globalThis[Symbol.for("orz.test.check")]()';

// The interrupt check: counts its calls and, once armed, throws after `limit` of them.
const checks = { calls: 0, limit: Infinity };
class Interrupted extends Error {}
(globalThis as Record<symbol, unknown>)[Symbol.for('orz.test.check')] = () => {
  checks.calls++;
  if (checks.calls > checks.limit) throw new Interrupted('interrupted');
};
function armCheck(limit: number): void {
  checks.calls = 0;
  checks.limit = limit;
}

const session = new inspector.Session();
session.connect();

interface Evaluated { value: unknown; error: string | null; errorLine: number | null; errorLines: (number | null)[] }

/** Compiles and evaluates one cell; errors come back with the cell line they map to. */
async function run(source: string, baseDir = REPO): Promise<Evaluated> {
  const cell = compileCell(source, { baseDir, interruptCheck: CHECK });
  const reply = await new Promise<inspector.Runtime.EvaluateReturnType>((resolve, reject) => {
    session.post('Runtime.evaluate', { expression: cell.js, replMode: true, awaitPromise: true, returnByValue: true }, (err, r) => (err ? reject(err) : resolve(r as inspector.Runtime.EvaluateReturnType)));
  });
  if (reply.exceptionDetails) {
    const d = reply.exceptionDetails;
    const description = d.exception?.description ?? d.text;
    // With awaitPromise the details carry no line; the stack's first frame in the evaluated script does.
    const errorLines = [...description.matchAll(/<anonymous>:(\d+):\d+/g)].map((m) => cell.sourceLine(Number(m[1])));
    return { value: undefined, error: description, errorLine: errorLines[0] ?? null, errorLines };
  }
  return { value: reply.result.value, error: null, errorLine: null, errorLines: [] };
}

async function value(source: string, baseDir = REPO): Promise<unknown> {
  const r = await run(source, baseDir);
  if (r.error) assert.fail(`cell failed: ${r.error}\n--- cell ---\n${source}`);
  return r.value;
}

test('declarations persist across cells and may be redeclared', async () => {
  assert.equal(await value('const x: number = 1;\nclass C { v = 2 }\nfunction f(): string { return "a" }\nlet l = 1\nx'), 1);
  assert.deepEqual(await value('[x, new C().v, f(), l]'), [1, 2, 'a', 1]);
  assert.deepEqual(await value('const x = 10\nclass C { v = 3 }\nfunction f() { return "b" }\nlet l = 2;\n[x, new C().v, f(), l]'), [10, 3, 'b', 2]);
});

test('types are erased; enums and namespaces work', async () => {
  const v = await value([
    'interface P { a: number }',
    'type Q = P & { b?: string }',
    'enum Color { Red, Green = 5 }',
    'namespace Geo { export const k = 7; export function sq(n: number) { return n * n } }',
    'const q: Q = { a: 1 } as Q',
    'abstract class Base<T> { constructor(protected readonly t: T) {} abstract get(): T }',
    'class Impl extends Base<number> { get(): number { return this.t + 1 } }',
    '[q.a, Color.Green, Color[0], Geo.k, Geo.sq(3), new Impl(4).get()] satisfies unknown[]',
  ].join('\n'));
  assert.deepEqual(v, [1, 5, 'Red', 7, 9, 5]);
  // A re-run enum is a new object, as any redeclaration; two declarations in one cell still merge.
  assert.deepEqual(await value('enum Color { Blue = 2 }\nenum Color { Cyan = 3 }\n[Color.Red, Color.Blue, Color.Cyan]'), [null, 2, 3]);
});

test('top-level await, and the last expression is the result even after loops', async () => {
  assert.equal(await value('const w = await new Promise<number>((r) => setTimeout(() => r(42), 5))\nw'), 42);
  assert.equal(await value('let acc = 0\nfor (const k of [1, 2, 3]) acc += k\nfor (let i = 0; i < 2; i++) { acc *= 2 }\nacc'), 24);
  // Imports are hoisted like ESM imports; the expression written last stays last.
  assert.equal(await value('40 + 2\nimport { sep } from "node:path"'), 42);
  assert.equal(await value('sep'), '/');
  // A cell that is an object literal shows the object (as Node's REPL does), not a block.
  assert.deepEqual(await value('{ a: 1, b: [2] }'), { a: 1, b: [2] });
  assert.equal(await value('{ const inner = 5; inner * 2 }'), 10);
});

test('export keywords are dropped; export default is an expression', async () => {
  assert.equal(await value('export const e1 = 5\nexport function ef() { return 6 }\nexport class EC {}\nexport enum EE { A }\nexport default e1 + ef()'), 11);
  assert.deepEqual(await value('[e1, ef(), typeof EC, EE.A]'), [5, 6, 'function', 0]);
  assert.equal((await run('export default function () { return 3 }')).error, null);
  assert.equal((await run('export default class { v = 1 }')).error, null);
  assert.equal(await value('export { e1 }\nexport type { P2 } from "./nothing-needed"\ne1'), 5);
});

test('static import of an ESM package uses its "import" entry: the same module instance as import()', async () => {
  const ours = (await import('apache-arrow')) as Record<string, unknown>;
  (globalThis as Record<string, unknown>)['arrowFromTest'] = ours;
  assert.deepEqual(await value('import { tableFromArrays } from "apache-arrow"\nimport * as arrow from "apache-arrow"\n[tableFromArrays({ a: [1, 2, 3] }).numRows, arrow === (globalThis as any).arrowFromTest]'), [3, true]);
});

test('static import of a CommonJS package: default is module.exports, named exports as Node gives them', async () => {
  const v = await value([
    'import semver, { valid, type SemVer } from "semver"',
    'import * as semverNs from "semver"',
    'import semverReq = require("semver")',
    'const sv: SemVer | null = semver.parse("1.2.3");',
    '[typeof semver.valid, valid("1.2.3"), semverNs.default === semver, semverReq === semver, sv?.minor]',
  ].join('\n'));
  assert.deepEqual(v, ['function', '1.2.3', true, true, 2]);
});

test("'orz' resolves to the project's own sdk/index.ts (self-reference), same instance as the SDK", async () => {
  const sdk = await import('../sdk/index.ts');
  (globalThis as Record<string, unknown>)['sdkFromTest'] = sdk;
  const v = await value('import { Trainer, mathReward } from "orz"\nimport type { MetricsRow } from "orz"\nimport { type TrainerInit, lastBoxed as lb } from "orz"\n[typeof Trainer, Trainer === (globalThis as any).sdkFromTest.Trainer, lb("\\\\boxed{7}")]');
  assert.deepEqual(v, ['function', true, '7']);
  assert.equal(resolveSpecifier('orz', REPO), pathToFileURL(path.join(REPO, 'sdk/index.ts')).href);
});

test('relative imports of .ts files resolve from the notebook directory (with or without extension)', async () => {
  const v = await value('import triple, { double } from "./helper.ts"\nimport { double as d2 } from "./helper"\nimport { double as d3 } from "./helper.js"\n[double(4), triple(2).value, d2 === double, d3 === double]', FIXTURES);
  assert.deepEqual(v, [8, 6, true, true]);
  assert.equal(await value('import "./side-effect.ts"\n(globalThis as any).orzKernelTsSideEffect', FIXTURES), 1);
  assert.equal(await value('import pkg from "./package.json" with { type: "json" }\npkg.name'), 'orz');
});

test('dynamic import() and import.meta resolve from the notebook directory', async () => {
  assert.equal(await value('const dm = await import("./helper.ts")\ndm.double(5)', FIXTURES), 10);
  assert.equal(await value('const which = "semver"\nconst sm: any = await import(which)\nsm.default.valid("2.0.0")'), '2.0.0');
  assert.deepEqual(await value('[import.meta.dirname, new URL("./helper.ts", import.meta.url).pathname]', FIXTURES), [FIXTURES, path.join(FIXTURES, 'helper.ts')]);
  const failed = await run('await import("no-such-package-anywhere")');
  assert.match(failed.error ?? '', /no-such-package-anywhere/);
});

test('unresolvable static imports and syntax errors are CellSyntaxErrors with cell line and column', () => {
  const compile = (s: string): unknown => compileCell(s, { baseDir: REPO, interruptCheck: CHECK });
  assert.throws(() => compile('const a = 1\nimport { x } from "no-such-package-anywhere"'), (e: unknown) => {
    assert.ok(e instanceof CellImportError && e instanceof CellSyntaxError);
    assert.equal(e.specifier, 'no-such-package-anywhere');
    assert.match(e.message, /no-such-package-anywhere/);
    assert.deepEqual([e.line, e.column], [2, 19]);
    return true;
  });
  assert.throws(() => compile('./nope'), CellSyntaxError);
  assert.throws(() => compile('import "./missing-file"'), /missing-file/);
  assert.throws(() => compile('let ok = 1\nconst = 5'), (e: unknown) => e instanceof CellSyntaxError && e.line === 2 && e.column === 7);
});

test('the interrupt check runs at the top of every loop body, also inside functions, and state survives', async () => {
  armCheck(1000);
  const sync = await run('let spins = 0\nwhile (true) { spins++ }');
  assert.match(sync.error ?? '', /interrupted/);
  assert.equal(sync.errorLine, 2);
  assert.equal(await value('spins'), 1000);

  const kinds = [
    'for (;;) ;',
    'for (const k in { a: 1 }) { for (;;) {} }',
    'for (const v of [1]) while (true) {}',
    'do {} while (true)',
    'function spin() { let n = 0; while (true) n++ }\nspin()',
    'const arrow = () => { for (let i = 0; ; i++) {} }\narrow()',
    'class Spinner { run() { do { } while (1) } }\nnew Spinner().run()',
    'label: for (;;) { continue label }',
  ];
  for (const src of kinds) {
    armCheck(50);
    const r = await run(src);
    assert.match(r.error ?? '', /interrupted/, `loop not interrupted: ${src}`);
  }

  armCheck(100);
  const asyncLoop = await run('let ticks = 0\nfor await (const t of (async function* () { while (true) yield ticks })()) { ticks++; await null }');
  assert.match(asyncLoop.error ?? '', /interrupted/);
  armCheck(Infinity);
  assert.ok((await value('ticks')) as number > 40);
});

test('line mapping: a runtime error points at its cell line', async () => {
  const r = await run('// a comment\nconst first = 1\n\ninterface Unused { a: number }\n\nfunction boom(): never {\n  throw new Error("boom")\n}\nconst second = 2\nboom()');
  assert.match(r.error ?? '', /boom/);
  assert.deepEqual(r.errorLines, [7, 10]);
  const cell = compileCell('const a = 1 +\n  2 +\n  3\nfor (const x of [a])\n  x\na', { baseDir: REPO, interruptCheck: CHECK });
  const mapped = cell.js.split('\n').map((_, i) => cell.sourceLine(i + 1));
  // The inserted interrupt check (its own line in the output) maps to its loop's first line.
  assert.deepEqual(mapped, [1, 2, 3, 4, 4, 5, 5, 6, null]);
  // Lines inside a multi-line template literal or comment map too.
  const multiSource = 'const text = `line one\nline two\nline three`;\n/* a\n   block comment */\nnull!.x';
  const multi = compileCell(multiSource, { baseDir: REPO, interruptCheck: CHECK });
  assert.deepEqual(multi.js.split('\n').map((_, i) => multi.sourceLine(i + 1)), [1, 2, 3, 4, 5, 6, null]);
  assert.equal((await run(multiSource)).errorLine, 6);
});

test('resolveSpecifier: "exports" conditions, patterns, main, scopes, builtins', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'orz-resolve-'));
  try {
    const write = (rel: string, text: string): void => {
      fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      fs.writeFileSync(path.join(root, rel), text);
    };
    write('node_modules/dual/package.json', JSON.stringify({ name: 'dual', exports: { '.': { types: './t.d.ts', require: './c.cjs', import: './e.mjs' }, './feat/*': { node: './src/*.mjs' }, './package.json': './package.json' } }));
    write('node_modules/dual/c.cjs', 'module.exports = "cjs"');
    write('node_modules/dual/e.mjs', 'export default "esm"');
    write('node_modules/dual/src/a/b.mjs', 'export default "pattern"');
    write('node_modules/legacy/package.json', JSON.stringify({ name: 'legacy', main: 'lib/main' }));
    write('node_modules/legacy/lib/main.js', 'module.exports = 1');
    write('node_modules/legacy/extra.js', 'module.exports = 2');
    write('node_modules/@sc/pkg/index.js', 'module.exports = 3');
    write('nb/package.json', JSON.stringify({ name: 'mine', exports: { './sub': './sub.ts' }, imports: { '#util': './util.ts' } }));
    write('nb/sub.ts', 'export {}');
    write('nb/util.ts', 'export {}');
    const nb = path.join(root, 'nb');
    const real = (rel: string): string => pathToFileURL(fs.realpathSync(path.join(root, rel))).href;
    assert.equal(resolveSpecifier('dual', nb), real('node_modules/dual/e.mjs'));
    assert.equal(resolveSpecifier('dual/feat/a/b', nb), real('node_modules/dual/src/a/b.mjs'));
    assert.equal(resolveSpecifier('legacy', nb), real('node_modules/legacy/lib/main.js'));
    assert.equal(resolveSpecifier('legacy/extra', nb), real('node_modules/legacy/extra.js'));
    assert.equal(resolveSpecifier('@sc/pkg', nb), real('node_modules/@sc/pkg/index.js'));
    assert.equal(resolveSpecifier('mine/sub', nb), real('nb/sub.ts'));
    assert.equal(resolveSpecifier('#util', nb), real('nb/util.ts'));
    assert.equal(resolveSpecifier('fs', nb), 'node:fs');
    assert.equal(resolveSpecifier('node:fs/promises', nb), 'node:fs/promises');
    assert.throws(() => resolveSpecifier('dual/not-exported', nb), (e: unknown) => e instanceof ModuleResolveError && /not-exported/.test(e.message));
    assert.throws(() => resolveSpecifier('absent', nb), /package 'absent' not found/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('isComplete: open constructs are incomplete, errors before the end are invalid', () => {
  const cases: [string, 'complete' | 'incomplete' | 'invalid', string?][] = [
    ['', 'complete'],
    ['const x = 1', 'complete'],
    ['// just a comment', 'complete'],
    ['if (x) {', 'incomplete', '  '],
    ['if (a) {\n  if (b) {', 'incomplete', '    '],
    ['foo(1,', 'incomplete', '  '],
    ['const o = {\n  a: 1,', 'incomplete', '  '],
    ['x = a +', 'incomplete', '  '],
    ['const f = (n: number) =>', 'incomplete', '  '],
    ['for (const k of ks)', 'incomplete', '  '],
    ['function f()', 'incomplete'],
    ['let s = `abc ${', 'incomplete'],
    ['let s = `abc', 'incomplete'],
    ['/* open comment', 'incomplete'],
    ["let s = 'abc\\\n", 'incomplete'],
    ["let s = 'abc", 'invalid'],
    ['const = 5', 'invalid'],
    ['a b c', 'invalid'],
    ['}', 'invalid'],
    ['declare function g(): void', 'complete'],
  ];
  for (const [src, status, indent] of cases) {
    const r = isComplete(src);
    assert.equal(r.status, status, `isComplete(${JSON.stringify(src)})`);
    if (indent !== undefined) assert.equal(r.indent, indent, `indent of ${JSON.stringify(src)}`);
    if (status !== 'incomplete') assert.equal(r.indent, '');
  }
});
