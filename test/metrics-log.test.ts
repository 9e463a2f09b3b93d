import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as arrow from 'apache-arrow';
import { JUPYTER_DISPLAY } from '../sdk/viz/index.ts';
import { MetricsLog } from '../sdk/ppo/metrics-log.ts';

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'orz-metrics-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const lines = async (path: string) => (await readFile(path, 'utf8')).split('\n').filter((l) => l !== '');
const arrowRows = async (path: string) => arrow.tableFromIPC(await readFile(path)).toArray().map((r) => r.toJSON());

test('appendAndSave twice: two jsonl lines and a metrics.arrow with the union of keys', async () => {
  await withTempDir(async (dir) => {
    const log = new MetricsLog();
    await log.appendAndSave(dir, { iteration: 1, 'reward/mean': 0.25, phase: 'train' });
    await log.appendAndSave(dir, { iteration: 2, 'reward/mean': 0.5, 'eval/accuracy': 0.125 });
    const jsonl = await lines(join(dir, 'metrics.jsonl'));
    assert.equal(jsonl.length, 2);
    assert.deepEqual(JSON.parse(jsonl[1]!), { iteration: 2, 'reward/mean': 0.5, 'eval/accuracy': 0.125 });

    const table = arrow.tableFromIPC(await readFile(join(dir, 'metrics.arrow')));
    const types = Object.fromEntries(table.schema.fields.map((f) => [f.name, String(f.type)]));
    assert.deepEqual(types, { iteration: 'Float64', 'reward/mean': 'Float64', phase: 'Utf8', 'eval/accuracy': 'Float64' });
    assert.equal(table.numRows, 2);
    assert.equal(table.getChild('eval/accuracy')!.get(0), null, 'missing value is null');
    assert.equal(table.getChild('phase')!.get(1), null);
    assert.equal(table.getChild('reward/mean')!.get(1), 0.5);
    assert.deepEqual((await readdir(dir)).sort(), ['metrics.arrow', 'metrics.jsonl'], 'no temp files left');
  });
});

test('open() resumes from metrics.jsonl and later saves append to it', async () => {
  await withTempDir(async (dir) => {
    assert.equal((await MetricsLog.open(dir)).rows.length, 0, 'empty when there is no file');
    const first = new MetricsLog();
    await first.appendAndSave(dir, { iteration: 1, loss: 2 });
    await first.appendAndSave(dir, { iteration: 2, loss: 1.5 });

    const resumed = await MetricsLog.open(dir);
    assert.deepEqual(resumed.rows, [{ iteration: 1, loss: 2 }, { iteration: 2, loss: 1.5 }]);
    const inodeBefore = (await stat(join(dir, 'metrics.jsonl'))).ino;
    await resumed.appendAndSave(dir, { iteration: 3, loss: 1 });
    assert.equal((await stat(join(dir, 'metrics.jsonl'))).ino, inodeBefore, 'appended in place, not rewritten');
    assert.deepEqual((await lines(join(dir, 'metrics.jsonl'))).map((l) => JSON.parse(l).iteration), [1, 2, 3]);
    assert.deepEqual((await arrowRows(join(dir, 'metrics.arrow'))).map((r) => r.loss), [2, 1.5, 1]);
  });
});

test('truncateAfter drops later iterations, in memory and on the next save', async () => {
  await withTempDir(async (dir) => {
    const log = new MetricsLog();
    for (let it = 1; it <= 5; it++) await log.appendAndSave(dir, { iteration: it, x: it * 10 });
    const resumed = await MetricsLog.open(dir);
    resumed.truncateAfter(3); // the checkpoint we resume from is iteration 3
    assert.deepEqual(resumed.column('iteration'), [1, 2, 3]);
    await resumed.appendAndSave(dir, { iteration: 4, x: 41 });
    const onDisk = (await lines(join(dir, 'metrics.jsonl'))).map((l) => JSON.parse(l));
    assert.deepEqual(onDisk.map((r) => [r.iteration, r.x]), [[1, 10], [2, 20], [3, 30], [4, 41]]);
    assert.deepEqual((await arrowRows(join(dir, 'metrics.arrow'))).map((r) => r.x), [10, 20, 30, 41]);
  });
});

test('after truncateAfter, rows appended in memory and then saved give the file exactly the log', async () => {
  await withTempDir(async (dir) => {
    const log = new MetricsLog();
    for (let it = 1; it <= 5; it++) await log.appendAndSave(dir, { iteration: it, x: it });
    log.truncateAfter(3);
    log.append({ iteration: 4, x: 40 });
    log.append({ iteration: 5, x: 50 }); // back to 5 rows, as many as the file had
    await log.appendAndSave(dir, { iteration: 6, x: 60 });
    const onDisk = (await lines(join(dir, 'metrics.jsonl'))).map((l) => JSON.parse(l).x);
    assert.deepEqual(onDisk, [1, 2, 3, 40, 50, 60]);
  });
});

test('open() drops a torn last line (crash mid-write) and rewrites the file on the next save', async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, 'metrics.jsonl');
    await writeFile(path, '{"iteration":1,"x":1}\n{"iteration":2,"x":2}\n');
    await appendFile(path, '{"iteration":3,"x"');
    const log = await MetricsLog.open(dir);
    assert.deepEqual(log.column('iteration'), [1, 2]);
    await log.appendAndSave(dir, { iteration: 3, x: 3 });
    assert.deepEqual(await lines(path), ['{"iteration":1,"x":1}', '{"iteration":2,"x":2}', '{"iteration":3,"x":3}']);
  });
});

test('open() names the file and line of a corrupt row', async () => {
  await withTempDir(async (dir) => {
    await writeFile(join(dir, 'metrics.jsonl'), '{"iteration":1}\nnot json\n{"iteration":3}\n');
    await assert.rejects(MetricsLog.open(dir), (err: Error) => err.message.includes(join(dir, 'metrics.jsonl')) && err.message.includes('line 2'));
  });
});

test('column() gives numbers with null for missing; bad values are rejected with their key', () => {
  const log = new MetricsLog([{ iteration: 1, a: 0.5 }, { iteration: 2 }, { iteration: 3, a: NaN, tag: 'x' }]);
  assert.deepEqual(log.column('a'), [0.5, null, null], 'NaN is stored as null, as JSON would');
  assert.deepEqual(log.column('nope'), [null, null, null]);
  assert.throws(() => log.column('tag'), /"tag" is a string in row 2/);
  assert.throws(() => log.append({ iteration: 4, bad: [1] as unknown as number }), /"bad" must be a number, string or null/);
});

test('toTable puts iteration first and makes mixed columns Utf8', () => {
  const log = new MetricsLog([{ a: 1, iteration: 1 }, { a: 'n/a', iteration: 2 }]);
  const t = log.toTable();
  assert.deepEqual(t.schema.fields.map((f) => [f.name, String(f.type)]), [['iteration', 'Float64'], ['a', 'Utf8']]);
  assert.deepEqual(t.getChild('a')!.toArray(), ['1', 'n/a']);
});

test('the Jupyter display shows the last rows as a table', () => {
  const log = new MetricsLog(Array.from({ length: 30 }, (_, i) => ({ iteration: i + 1, 'reward/mean': i / 100 })));
  const bundle = log[JUPYTER_DISPLAY]();
  const resource = bundle['application/vnd.dataresource+json'] as { data: Record<string, unknown>[] };
  assert.equal(resource.data.length, 20);
  assert.equal(resource.data[0]!.iteration, 11);
  assert.equal(resource.data[19]!.iteration, 30);
  assert.match(bundle['text/html'] as string, /last 20 of 30 rows/);
});
