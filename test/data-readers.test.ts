// Dataset readers on the real ORZ eval files and on small files written here (good and malformed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
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

test('malformed files: errors name the file and the record index or line', async () => {
  await withTempDir(async (dir) => {
    const isDataError = (file: string, re: RegExp, where: { index?: number; line?: number } = {}) => (e: unknown) => {
      assert.ok(e instanceof DataError, String(e));
      assert.equal(e.file, file);
      assert.equal(e.index, where.index);
      assert.equal(e.line, where.line);
      assert.match(e.message, re);
      return true;
    };

    const invalid = join(dir, 'invalid.json');
    await writeFile(invalid, '[{"prompt": ');
    await assert.rejects(readOrzEvalJson(invalid), isDataError(invalid, /invalid\.json: invalid JSON/));
    await assert.rejects(readDataset(invalid), isDataError(invalid, /invalid JSON/));

    const notArray = join(dir, 'object.json');
    await writeFile(notArray, '{"prompt": "x"}');
    await assert.rejects(readOrzTrainJson(notArray), isDataError(notArray, /expected a JSON array/));

    const good = [{ from: 'human', value: 'q' }, { from: 'assistant', ground_truth: { value: '1' } }];
    const badShape = join(dir, 'train.json');
    await writeFile(badShape, JSON.stringify([good, good, good, [{ from: 'human', value: 'q' }, { from: 'assistant', ground_truth: {} }]]));
    await assert.rejects(readOrzTrainJson(badShape), isDataError(badShape, /train\.json: record 3: missing ground_truth\.value/, { index: 3 }));

    const evalShape = join(dir, 'eval.json');
    const q = { prompt: [{ from: 'user', value: 'q' }], final_answer: '1' };
    await writeFile(evalShape, JSON.stringify([q, q, q, { prompt: [{ from: 'user', value: 'q' }], final_answer: true }]));
    await assert.rejects(readOrzEvalJson(evalShape), isDataError(evalShape, /record 3: final_answer must be a string or a number/, { index: 3 }));
    // eval records are not training records
    await assert.rejects(readOrzTrainJson(evalShape), isDataError(evalShape, /record 0:/, { index: 0 }));

    const jsonl = join(dir, 'bad.jsonl');
    const ok = JSON.stringify({ question: 'q', answer: '1' });
    await writeFile(jsonl, [ok, ok, '', ok, '{"question": "q", "answer": ', ok].join('\n'));
    await assert.rejects(readJsonl(jsonl), isDataError(jsonl, /bad\.jsonl: line 5: invalid JSON/, { line: 5 }));

    const jsonlShape = join(dir, 'shape.jsonl');
    await writeFile(jsonlShape, [ok, '', '', ok, JSON.stringify({ question: 'q' })].join('\r\n'));
    await assert.rejects(readDataset(jsonlShape), isDataError(jsonlShape, /line 5: no answer/, { line: 5 }));

    await assert.rejects(readDataset(join(dir, 'data.csv')), isDataError(join(dir, 'data.csv'), /unsupported file type/));
    await assert.rejects(readJsonl(join(dir, 'missing.jsonl')), isDataError(join(dir, 'missing.jsonl'), /cannot read/));
  });
});
