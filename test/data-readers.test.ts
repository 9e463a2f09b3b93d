// Dataset readers on the real ORZ eval files and on small files written here (good and malformed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataError, readDataset, readJsonl, readOrzEvalJson, readOrzTrainJson } from '../sdk/data/index.ts';

const EVAL_DIR = fileURLToPath(new URL('../../shared/data/orz-eval/', import.meta.url));

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'orz-data-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('ORZ eval files: counts and spot checks', async () => {
  const math = await readOrzEvalJson(join(EVAL_DIR, 'math500.json'));
  const aime = await readOrzEvalJson(join(EVAL_DIR, 'aime2024.json'));
  const gpqa = await readOrzEvalJson(join(EVAL_DIR, 'gpqa_diamond.json'));
  assert.equal(math.length, 500);
  assert.equal(aime.length, 30);
  assert.equal(gpqa.length, 198);

  assert.match(math[0]!.prompt, /^Convert the point \$\(0,3\)\$ in rectangular coordinates to polar coordinates\./);
  assert.equal(math[0]!.groundTruth, '\\left( 3, \\frac{\\pi}{2} \\right)');
  assert.deepEqual(math[7]!.source, { file: join(EVAL_DIR, 'math500.json'), index: 7 });
  assert.match(aime[0]!.prompt, /^Among the \$900\$ residents of Aimeville/);
  assert.equal(aime[0]!.groundTruth, '73');
  assert.match(gpqa[0]!.prompt, /^Among the following exoplanets, which one has the highest density\?/);
  assert.equal(gpqa[0]!.groundTruth, 'D');
  assert.deepEqual(gpqa[0]!.choices, { A: 'd', B: 'a', C: 'b', D: 'c' });
  for (const r of [...math, ...aime, ...gpqa]) {
    assert.equal(typeof r.prompt, 'string');
    assert.ok(r.prompt.length > 0 && r.groundTruth.length > 0);
  }
  // readDataset recognises the shape by itself
  const viaDispatch = await readDataset(join(EVAL_DIR, 'gpqa_diamond.json'));
  assert.deepEqual(viaDispatch, gpqa);
});

test('ORZ training JSON; numbers become strings and extra fields are kept', async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, 'train.json');
    const data = [
      [{ from: 'human', value: 'What is 2+3?' }, { from: 'assistant', ground_truth: { value: '5' } }],
      [{ from: 'human', value: 'What is 6*7?', level: 2 }, { from: 'assistant', ground_truth: { value: 42 } }],
    ];
    await writeFile(path, JSON.stringify(data));
    const records = await readOrzTrainJson(path);
    assert.deepEqual(records, [
      { prompt: 'What is 2+3?', groundTruth: '5', source: { file: path, index: 0 } },
      { prompt: 'What is 6*7?', groundTruth: '42', level: 2, source: { file: path, index: 1 } },
    ]);
    assert.deepEqual(await readDataset(path), records);
  });
});

test('JSONL: any record shape, blank lines skipped, reserved names kept as raw_*', async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, 'mixed.jsonl');
    const lines = [
      JSON.stringify({ question: 'q0', answer: 7, source: 'amc' }),
      '',
      JSON.stringify({ problem: 'q1', final_answer: '\\frac12' }),
      JSON.stringify([{ from: 'human', value: 'q2' }, { from: 'assistant', ground_truth: { value: 'x' } }]),
      '   ',
      JSON.stringify({ prompt: [{ from: 'user', value: 'q3' }], final_answer: 'B', choices: { A: 1, B: 2 } }),
      JSON.stringify({ prompt: 'q4', ground_truth: { value: 1.5 } }),
    ];
    await writeFile(path, lines.join('\n') + '\n');
    const records = await readJsonl(path);
    assert.deepEqual(records.map((r) => [r.prompt, r.groundTruth]), [['q0', '7'], ['q1', '\\frac12'], ['q2', 'x'], ['q3', 'B'], ['q4', '1.5']]);
    assert.deepEqual(records.map((r) => r.source.index), [0, 1, 2, 3, 4]);
    assert.equal(records[0]!.raw_source, 'amc');
    assert.deepEqual(records[0]!.source, { file: path, index: 0 });
    assert.deepEqual(records[3]!.choices, { A: 1, B: 2 });
    assert.deepEqual(await readDataset(path), records);
  });
});

/** Asserts a DataError for `file` at exactly `where` (index, line, column, field), with a message matching `re`. */
function isDataError(file: string, re: RegExp, where: { index?: number; line?: number; column?: number; field?: string } = {}) {
  return (e: unknown) => {
    assert.ok(e instanceof DataError, String(e));
    assert.equal(e.file, file);
    assert.deepEqual({ index: e.index, line: e.line, column: e.column, field: e.field }, { index: undefined, line: undefined, column: undefined, field: undefined, ...where });
    assert.match(e.message, re);
    return true;
  };
}

/** 1-based line and column of the first occurrence of `marker` in `text`, found independently of the reader. */
function positionOf(text: string, marker: string, delta = 0): { line: number; column: number } {
  const at = text.indexOf(marker) + delta;
  assert.ok(at >= delta, `marker ${marker}`);
  const before = text.slice(0, at).split('\n');
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}

const good = (q: string) => [{ from: 'human', value: q }, { from: 'assistant', ground_truth: { value: '1' } }];

test('malformed files: errors name the file and the record index or line', async () => {
  await withTempDir(async (dir) => {
    const invalid = join(dir, 'invalid.json');
    await writeFile(invalid, '[{"prompt": ');
    await assert.rejects(readOrzEvalJson(invalid), isDataError(invalid, /invalid\.json: record 0 \(line 1, column 13\): invalid JSON: expected a value, found the end of the text/, { index: 0, line: 1, column: 13 }));
    await assert.rejects(readDataset(invalid), isDataError(invalid, /invalid JSON/, { index: 0, line: 1, column: 13 }));

    const notArray = join(dir, 'object.json');
    await writeFile(notArray, '{"prompt": "x"}');
    await assert.rejects(readOrzTrainJson(notArray), isDataError(notArray, /expected a JSON array of records, got an object/));

    const badShape = join(dir, 'train.json');
    const text = JSON.stringify([good('q0'), good('q1'), good('q2'), [{ from: 'human', value: 'q3' }, { from: 'assistant', ground_truth: {} }]]);
    await writeFile(badShape, text);
    const record3 = positionOf(text, '[{"from":"human","value":"q3"');
    await assert.rejects(readOrzTrainJson(badShape), isDataError(badShape,
      new RegExp(`train\\.json: record 3 \\(line 1, column ${record3.column}\\): \\[1\\]\\.ground_truth\\.value is missing`), { index: 3, ...record3, field: '[1].ground_truth.value' }));

    const evalShape = join(dir, 'eval.json');
    const q = { prompt: [{ from: 'user', value: 'q' }], final_answer: '1' };
    await writeFile(evalShape, JSON.stringify([q, q, q, { prompt: [{ from: 'user', value: 'q' }], final_answer: true }], null, 2));
    await assert.rejects(readOrzEvalJson(evalShape), isDataError(evalShape, /record 3 \(line 29, column 3\): final_answer must be a string or a number, got true/, { index: 3, line: 29, column: 3, field: 'final_answer' }));
    // eval records are not training records
    await assert.rejects(readOrzTrainJson(evalShape), isDataError(evalShape, /record 0 \(line 2, column 3\): expected \[\{"from":"human"/, { index: 0, line: 2, column: 3 }));

    const jsonl = join(dir, 'bad.jsonl');
    const ok = JSON.stringify({ question: 'q', answer: '1' });
    await writeFile(jsonl, [ok, ok, '', ok, '{"question": "q", "answer": ', ok].join('\n'));
    await assert.rejects(readJsonl(jsonl), isDataError(jsonl, /bad\.jsonl: record 3 \(line 5, column 29\): invalid JSON: expected a value, found the end of the text/, { index: 3, line: 5, column: 29 }));

    const jsonlShape = join(dir, 'shape.jsonl');
    await writeFile(jsonlShape, [ok, '', '', ok, JSON.stringify({ question: 'q' })].join('\r\n'));
    await assert.rejects(readDataset(jsonlShape), isDataError(jsonlShape, /record 2 \(line 5\): no answer/, { index: 2, line: 5 }));

    await assert.rejects(readDataset(join(dir, 'data.csv')), isDataError(join(dir, 'data.csv'), /unsupported file type/));
    await assert.rejects(readJsonl(join(dir, 'missing.jsonl')), isDataError(join(dir, 'missing.jsonl'), /cannot read/));
  });
});

test('JSON syntax errors in an ORZ train.json are placed in their record, with line and column', async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, 'train.json');
    // ORZ's layout: JSON.stringify(records, null, 2), i.e. records "  [...]" joined by ",\n"
    const records = Array.from({ length: 8 }, (_, i) => `  ${JSON.stringify(good(`question ${i}`), null, 2).replace(/\n/g, '\n  ')}`);
    const pretty = `[\n${records.join(',\n')}\n]`;
    assert.equal(pretty, JSON.stringify(Array.from({ length: 8 }, (_, i) => good(`question ${i}`)), null, 2));
    const noComma = `[\n${records.slice(0, 3).join(',\n')}\n${records.slice(3).join(',\n')}\n]`;
    const missingValue = pretty.replace('"question 6"', '');
    const trailingComma = `[\n${records.join(',\n')},\n]`;
    const cases: { what: string; text: string; reason: RegExp; index: number; at: number }[] = [
      // a closing quote lost in record 5: the string runs into the line break
      { what: 'unterminated string', text: pretty.replace('"question 5"', '"question 5'), reason: /raw control character "\\n" in a string/, index: 5, at: pretty.indexOf('"question 5"') + 11 },
      // a comma lost between records 2 and 3: reported after record 2, where record 3 starts
      { what: 'missing comma', text: noComma, reason: /expected ',' or '\]' after the record, found "\["/, index: 2, at: noComma.indexOf(records[3]!) + 2 },
      // a trailing comma after the last record
      { what: 'trailing comma', text: trailingComma, reason: /expected a value after ',', found "\]" \(a trailing comma\)/, index: 7, at: trailingComma.length - 1 },
      // a property without a value in record 6: found the "}" on the next line
      { what: 'missing value', text: missingValue, reason: /expected a value, found "\}"/, index: 6, at: missingValue.indexOf('}', pretty.indexOf('"question 6"')) },
      // the file cut short inside record 4
      { what: 'truncated', text: pretty.slice(0, pretty.indexOf('"question 4"') + 5), reason: /unterminated string/, index: 4, at: pretty.indexOf('"question 4"') },
    ];
    for (const { what, text, reason, index, at } of cases) {
      await writeFile(path, text);
      assert.throws(() => JSON.parse(text), `${what}: the file is invalid JSON`);
      const before = text.slice(0, at).split('\n');
      const where = { index, line: before.length, column: before[before.length - 1]!.length + 1 };
      await assert.rejects(readOrzTrainJson(path), isDataError(path,
        new RegExp(`train\\.json: record ${index} \\(line ${where.line}, column ${where.column}\\): invalid JSON: ${reason.source}`), where), what);
    }
  });
});

test('shape errors name the field: human value, assistant ground_truth, eval prompt, flat records', async () => {
  await withTempDir(async (dir) => {
    const train = join(dir, 'train.json');
    const cases: [unknown, string, RegExp][] = [
      [[{ from: 'human', value: 5 }, { from: 'assistant', ground_truth: { value: '1' } }], '[0].value', /\[0\]\.value must be a string, got 5/],
      [[{ from: 'human' }, { from: 'assistant', ground_truth: { value: '1' } }], '[0].value', /\[0\]\.value is missing \(the question\)/],
      [[{ from: 'human', value: 'q' }, { from: 'assistant', value: 'x' }], '[1].ground_truth', /\[1\]\.ground_truth is missing/],
      [[{ from: 'human', value: 'q' }, { from: 'assistant', ground_truth: '7' }], '[1].ground_truth', /\[1\]\.ground_truth must be an object \{"value": \.\.\.\}, got "7"/],
      [[{ from: 'human', value: 'q' }, { from: 'assistant', ground_truth: { value: [1] } }], '[1].ground_truth.value', /\[1\]\.ground_truth\.value must be a string or a number, got \[1\]/],
    ];
    for (const [bad, field, re] of cases) {
      await writeFile(train, JSON.stringify([good('a'), bad], null, 1));
      await assert.rejects(readOrzTrainJson(train), isDataError(train, new RegExp(`record 1 \\(line \\d+, column 2\\): ${re.source}`), { index: 1, line: 14, column: 2, field }));
    }
    const evalFile = join(dir, 'eval.json');
    await writeFile(evalFile, JSON.stringify([{ prompt: 'just text', final_answer: '1' }]));
    await assert.rejects(readOrzEvalJson(evalFile), isDataError(evalFile, /record 0 \(line 1, column 2\): prompt must be a list of turns, got "just text"/, { index: 0, line: 1, column: 2, field: 'prompt' }));
    await writeFile(evalFile, JSON.stringify([{ prompt: [{ from: 'user', value: null }], final_answer: '1' }]));
    await assert.rejects(readOrzEvalJson(evalFile), isDataError(evalFile, /prompt\[0\]\.value must be a string, got null/, { index: 0, line: 1, column: 2, field: 'prompt[0].value' }));
    const flat = join(dir, 'flat.jsonl');
    await writeFile(flat, `${JSON.stringify({ question: 'q', answer: '1' })}\n${JSON.stringify({ question: 3, answer: '1' })}\n`);
    await assert.rejects(readJsonl(flat), isDataError(flat, /record 1 \(line 2\): question must be a string, got 3/, { index: 1, line: 2, field: 'question' }));
  });
});

test('a real ORZ eval file broken in one record is reported at that record', async () => {
  await withTempDir(async (dir) => {
    const real = await readFile(join(EVAL_DIR, 'math500.json'), 'utf8');
    // drop the comma after record 137's "prompt" list, as a hand edit easily does
    const start = nthRecordStart(real, 137);
    const cut = real.indexOf('],', start) + 1;
    const broken = real.slice(0, cut) + real.slice(cut + 1);
    const path = join(dir, 'math500.json');
    await writeFile(path, broken);
    const line = broken.slice(0, cut).split('\n').length + 1; // the "final_answer" line after it
    await assert.rejects(readOrzEvalJson(path), isDataError(path,
      new RegExp(`math500\\.json: record 137 \\(line ${line}, column 9\\): invalid JSON: expected ',' or '\\}' in an object, found "\\\\""`), { index: 137, line, column: 9 }));
  });
});

/** Offset of the n-th top-level record in ORZ's eval files (records are 4-space indented objects). */
function nthRecordStart(text: string, n: number): number {
  let at = -1;
  for (let i = 0; i <= n; i++) at = text.indexOf('\n    {\n', at + 1);
  return at + 5;
}

test('the JSON scanner agrees with JSON.parse on valid and damaged texts, and places the damage', async () => {
  const { scanJson } = await import('../sdk/data/json-scan.ts');
  const { Rng } = await import('../sdk/engine/rng.ts');
  const valid = JSON.stringify([
    good('What is "2+3"?\n\\t'), { prompt: [{ from: 'user', value: 'é \u0001 \ud83d\ude00' }], final_answer: -1.5e-3, ok: true, none: null, list: [[], {}] },
  ], null, 2);
  assert.equal(scanJson(valid).problem, undefined);
  assert.equal(scanJson(valid).elementStarts.length, 2);
  const rng = new Rng(7);
  const pieces = ['', '"', ',', ':', '[', ']', '{', '}', '\\', 'x', '0', '-', '.', 'e', '\n', '\t', 'tru', 'nul'];
  let damaged = 0;
  for (let trial = 0; trial < 3000; trial++) {
    const at = rng.int(0, valid.length - 1);
    const cut = rng.int(0, 2);
    const text = valid.slice(0, at) + pieces[rng.int(0, pieces.length - 1)] + valid.slice(at + cut);
    let parses = true;
    try { JSON.parse(text); } catch { parses = false; }
    const { problem } = scanJson(text);
    assert.equal(problem === undefined, parses, `trial ${trial}: ${JSON.stringify(text.slice(Math.max(0, at - 20), at + 20))}: ${problem?.reason}`);
    if (problem) {
      damaged++;
      // the error is never before the damage (the text before it is a valid JSON prefix) but for the token it
      // is in: a broken literal or escape is reported where it starts (at most 6 characters before), an
      // unterminated string at its opening quote
      const from = problem.reason.startsWith('unterminated string') ? text.lastIndexOf('"', at) : at - 6;
      assert.ok(problem.offset >= from, `trial ${trial}: ${problem.reason} at ${problem.offset}, damage at ${at}`);
    }
  }
  assert.ok(damaged > 1500, `${damaged} damaged texts`);
});
