// readJsonFile / readJsonObject: every failure names the file and says why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readJsonFile, readJsonObject } from '../sdk/util/json-file.ts';

test('readJsonFile and readJsonObject name the file in every error', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'orz-json-file-'));
  try {
    const ok = join(dir, 'ok.json');
    const bad = join(dir, 'bad.json');
    const list = join(dir, 'list.json');
    await writeFile(ok, '{"a": 1}');
    await writeFile(bad, '{"a": ');
    await writeFile(list, '[1]');
    assert.deepEqual(await readJsonObject(ok), { a: 1 });
    assert.deepEqual(await readJsonFile(list), [1]);
    const missing = join(dir, 'none.json');
    await assert.rejects(readJsonFile(missing), (e: Error) => e.message === `${missing}: no such file`);
    await assert.rejects(readJsonFile(bad), (e: Error) => e.message.startsWith(`${bad}: invalid JSON: `));
    await assert.rejects(readJsonFile(bad, 'checkpoint metadata'), (e: Error) => e.message.startsWith(`${bad}: cannot read checkpoint metadata: invalid JSON: `));
    await assert.rejects(readJsonFile(dir), (e: Error) => e.message.startsWith(`${dir}: cannot read: `));
    await assert.rejects(readJsonObject(list, 'run config'), (e: Error) => e.message === `${list}: run config: expected a JSON object`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
