// Arrays of plain objects (metrics rows and the like) as tables.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordColumns, recordsBundle, tableBundle } from '../sdk/viz/index.ts';

test('metrics-like rows with keys missing in some rows make one table, blanks where missing', () => {
  const rows = [{ iteration: 1, 'reward/mean': 0.5 }, { iteration: 2, 'reward/mean': 0.25, 'eval/accuracy': 0.1 }];
  const b = recordsBundle(rows)!;
  assert.equal(b['text/plain'], [
    'iteration  reward/mean  eval/accuracy',
    '---------  -----------  -------------',
    '        1          0.5',
    '        2         0.25            0.1',
  ].join('\n'));
  const resource = b['application/vnd.dataresource+json'] as { schema: { fields: { name: string; type: string }[] }; data: object[] };
  assert.deepEqual(resource.schema.fields, [{ name: 'iteration', type: 'integer' }, { name: 'reward/mean', type: 'number' }, { name: 'eval/accuracy', type: 'number' }]);
  assert.deepEqual(resource.data[0], { iteration: 1, 'reward/mean': 0.5, 'eval/accuracy': null });
  assert.match(b['text/html'] as string, /<th>eval\/accuracy<\/th>/);
});

test('long arrays show their first rows with a note giving the total', () => {
  const rows = Array.from({ length: 1000 }, (_, i) => ({ i, text: 'x'.repeat(i % 3) }));
  const b = recordsBundle(rows, { maxRows: 5 })!;
  assert.match(b['text/plain'] as string, /… 995 more rows \(1000 total\)$/);
  assert.match(b['text/html'] as string, /… 995 more rows \(1000 total\)/);
  assert.equal((b['application/vnd.dataresource+json'] as { data: unknown[] }).data.length, 5);
});

test('only rectangular records make tables', () => {
  assert.deepEqual(recordColumns([{ a: { deep: 1 }, b: 2 }, { b: 3, a: [4] }]), ['a', 'b'], 'same keys: any values');
  assert.equal(recordColumns([{ a: { deep: 1 } }, { b: 2 }]), null, 'different keys and nested values');
  assert.equal(recordColumns([{ a: 1 }, 'text']), null);
  assert.equal(recordColumns([]), null);
  assert.equal(recordColumns([{}]), null);
  class Point { x = 1; }
  assert.equal(recordColumns([new Point()]), null, 'class instances are not plain records');
  assert.deepEqual(recordColumns([Object.assign(Object.create(null), { k: 1 })]), ['k']);
});

test('tableBundle: totalRows counts rows beyond the head it was given', () => {
  const b = tableBundle(['n'], [[1], [2]], { maxRows: 2, totalRows: 50 });
  assert.match(b['text/plain'] as string, /… 48 more rows \(50 total\)/);
  assert.match(b['text/html'] as string, /… 48 more rows \(50 total\)/);
});
