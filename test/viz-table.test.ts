import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml, formatValue, JUPYTER_DISPLAY, tableBundle, textTable } from '../sdk/viz/index.ts';

type Resource = { schema: { fields: { name: string; type: string }[] }; data: Record<string, unknown>[] };

test('escapeHtml escapes the five HTML-special characters', () => {
  assert.equal(escapeHtml(`<a href="x" title='y'>&</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
});

test('tableBundle escapes cell text and the title in HTML, keeps raw values in data', () => {
  const evil = '<script>alert("x")</script>';
  const bundle = tableBundle(['name', 'value'], [[evil, 1]], { title: '<b>t</b>' });
  const html = bundle['text/html'] as string;
  assert.ok(!html.includes('<script>') && !html.includes('<b>t</b>'));
  assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'));
  assert.ok(html.includes('&lt;b&gt;t&lt;/b&gt;'));
  assert.equal((bundle['application/vnd.dataresource+json'] as Resource).data[0]!.name, evil);
});

test('data resource: Table Schema field types inferred per column', () => {
  const columns = ['int', 'float', 'text', 'flag', 'ids', 'empty', 'mixed', 'big'];
  const rows = [
    [1, 0.5, 'a', true, [1, 2], null, 1, 7n],
    [2, 2, 'b', false, new Int32Array([3]), null, 'x', 8n],
    [null, null, null, null, null, null, null, null],
  ];
  const resource = tableBundle(columns, rows)['application/vnd.dataresource+json'] as Resource;
  assert.deepEqual(resource.schema.fields, [
    { name: 'int', type: 'integer' },
    { name: 'float', type: 'number' },
    { name: 'text', type: 'string' },
    { name: 'flag', type: 'boolean' },
    { name: 'ids', type: 'array' },
    { name: 'empty', type: 'any' },
    { name: 'mixed', type: 'any' },
    { name: 'big', type: 'integer' },
  ]);
  // Data is plain JSON: typed arrays become arrays, bigints numbers.
  assert.deepEqual(resource.data[1], { int: 2, float: 2, text: 'b', flag: false, ids: [3], empty: null, mixed: 'x', big: 8 });
  assert.doesNotThrow(() => JSON.stringify(resource));
});

test('maxRows caps every representation and says how many rows were left out', () => {
  const rows = Array.from({ length: 7 }, (_, i) => [i]);
  const bundle = tableBundle(['i'], rows, { maxRows: 3 });
  assert.equal((bundle['application/vnd.dataresource+json'] as Resource).data.length, 3);
  assert.match(bundle['text/html'] as string, /4 more rows \(7 total\)/);
  assert.match(bundle['text/plain'] as string, /4 more rows \(7 total\)/);
  assert.equal(((bundle['text/html'] as string).match(/<tr>/g) ?? []).length, 1 + 3, 'header + 3 rows');
});

test('textTable aligns columns, right-aligns numbers, truncates long cells and flattens newlines', () => {
  const text = textTable(['id', 'text'], [[1, 'short'], [100, 'a long line\nwith a newline that goes on']], { maxCellWidth: 12 });
  const lines = text.split('\n');
  assert.deepEqual(lines, [
    ' id  text',
    '---  ------------',
    '  1  short',
    '100  a long line…',
  ]);
});

test('textTable and tableBundle reject rows of the wrong width, naming the row', () => {
  assert.throws(() => textTable(['a', 'b'], [[1, 2], [3]]), /row 1 has 1 cells, expected 2/);
  assert.throws(() => tableBundle(['a'], [[1], [2, 3]]), /tableBundle: row 1/);
});

test('formatValue: short numbers, blank nulls, bracketed lists', () => {
  assert.equal(formatValue(0.123456), '0.1235');
  assert.equal(formatValue(42), '42');
  assert.equal(formatValue(1.5e-7), '1.50e-7');
  assert.equal(formatValue(null), '');
  assert.equal(formatValue(new Float32Array([0.5, 1])), '[0.5, 1]');
  assert.equal(formatValue(Array.from({ length: 100 }, () => 0)).endsWith(', …]'), true);
});

test('JUPYTER_DISPLAY is the registered symbol kernels look up', () => {
  assert.equal(JUPYTER_DISPLAY, Symbol.for('Jupyter.display'));
});
