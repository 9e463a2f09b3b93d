// kernel/display: the mime bundle of every kind of value a cell can show, with the SDK's real classes.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { displayContent, DisplayDataError, type DisplayContent } from '../kernel/display/index.ts';
import { tf } from '../sdk/engine/tf.ts';
import { RolloutBatch } from '../sdk/rollout/rollout-batch.ts';
import { MetricsLog, type MetricsRow } from '../sdk/ppo/metrics-log.ts';
import { lineFigure, ProgressBar } from '../sdk/viz/index.ts';

before(async () => {
  await tf.setBackend('cpu');
});

/** displayContent, awaited, and checked to survive the JSON trip to the front end unchanged. */
async function show(value: unknown): Promise<DisplayContent> {
  const c = await displayContent(value);
  assert.ok(c, 'a bundle');
  assert.equal(typeof c.data['text/plain'], 'string', 'text/plain is always present');
  assert.deepEqual(JSON.parse(JSON.stringify(c)), c, 'the bundle is plain JSON');
  return c;
}

const ANSI = /\u001b\[/;

test('undefined shows nothing; everything else has text/plain', async () => {
  assert.equal(displayContent(undefined), null);
  assert.equal((await show(null)).data['text/plain'], 'null');
  assert.equal((await show('hi')).data['text/plain'], "'hi'");
  assert.equal((await show(42n)).data['text/plain'], '42n');
});

test('plain values go through util.inspect: depth 4, no colour codes, 100-column lines', async () => {
  const deep = { a: { b: { c: { d: { e: { f: 1 } } } } }, list: Array.from({ length: 30 }, (_, i) => i) };
  const text = (await show(deep)).data['text/plain'] as string;
  assert.match(text, /e: \[Object\]/, 'depth 4');
  assert.ok(!ANSI.test(text));
  assert.ok(text.split('\n').every((l) => l.length <= 100), text);
  assert.match((await show(class Foo {})).data['text/plain'] as string, /\[class Foo\]/);
});

test('objects with [Symbol.for("Jupyter.display")]() give their own bundle, text/plain added when missing', async () => {
  const widget = { [Symbol.for('Jupyter.display')]: () => ({ 'text/html': '<b>hi</b>' }), name: 'w' };
  const c = await show(widget);
  assert.equal(c.data['text/html'], '<b>hi</b>');
  assert.match(c.data['text/plain'] as string, /name: 'w'/);
  assert.deepEqual(c.metadata, {});
});

test('an async display method makes displayContent return a promise', async () => {
  const later = { async [Symbol.for('Jupyter.display')]() { await new Promise((r) => setTimeout(r, 5)); return { 'text/markdown': '**x**', 'text/plain': 'x' }; } };
  const pending = displayContent(later);
  assert.ok(pending instanceof Promise);
  assert.deepEqual((await pending)!.data, { 'text/markdown': '**x**', 'text/plain': 'x' });
});

test('display methods: bytes become base64, JSON types plain JSON, null means the default formatting', async () => {
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
  const img = await show({ [Symbol.for('Jupyter.display')]: () => ({ 'image/png': png, 'application/json': { y: new Float32Array([0.5, 1]), n: 3n, when: new Date(0) } }) });
  assert.equal(img.data['image/png'], 'iVBORw==');
  assert.deepEqual(img.data['application/json'], { y: [0.5, 1], n: 3, when: '1970-01-01T00:00:00.000Z' });
  class Quiet { x = 1; [Symbol.for('Jupyter.display')]() { return null; } }
  assert.match((await show(new Quiet())).data['text/plain'] as string, /Quiet \{ x: 1 \}/);
});

test('a broken display method is a DisplayDataError naming the class and the problem', async () => {
  class Broken { [Symbol.for('Jupyter.display')]() { throw new RangeError('no data yet'); } }
  assert.throws(() => displayContent(new Broken()), (e: Error) => e instanceof DisplayDataError
    && /^Broken\[Symbol\.for\('Jupyter\.display'\)\]\(\) threw: no data yet$/.test(e.message) && e.cause instanceof RangeError);
  class Rejects { async [Symbol.for('Jupyter.display')]() { throw new Error('offline'); } }
  await assert.rejects(async () => displayContent(new Rejects()), /Rejects\[Symbol\.for\('Jupyter\.display'\)\]\(\) rejected: offline/);
  class Wrong { [Symbol.for('Jupyter.display')]() { return '<b>html</b>'; } }
  assert.throws(() => displayContent(new Wrong()), /Wrong\[Symbol\.for\('Jupyter\.display'\)\]\(\) must return a mime bundle object .* got string/);
  class NotText { [Symbol.for('Jupyter.display')]() { return { 'text/html': 42 }; } }
  assert.throws(() => displayContent(new NotText()), /"text\/html" value must be a string, got number/);
  class Cycle { [Symbol.for('Jupyter.display')]() { const o: Record<string, unknown> = {}; o.self = o; return { 'application/json': o }; } }
  assert.throws(() => displayContent(new Cycle()), /"application\/json": value\.self refers back to itself/);
  class NoMime { [Symbol.for('Jupyter.display')]() { return { html: '<i>' }; } }
  assert.throws(() => displayContent(new NoMime()), /"html" is not a mime type/);
});

test('RolloutBatch: HTML table, text table and a Table Schema data resource', async () => {
  const batch = RolloutBatch.fromSamples(Array.from({ length: 30 }, (_, i) => ({
    promptIndex: Math.floor(i / 2), sampleIndex: i % 2, prompt: `Q${i}: <b>`, response: 'y'.repeat(1000),
    promptIds: [1], responseIds: [2, 3], logprobs: [-1, -2], finishReason: 'stop' as const, groundTruth: '1', reward: i % 2,
  })));
  const c = await show(batch);
  assert.match(c.data['text/plain'] as string, /^RolloutBatch: 30 samples from 15 prompts/);
  const html = c.data['text/html'] as string;
  assert.match(html, /Q0: &lt;b&gt;/, 'escaped');
  assert.match(html, /first 20 shown/);
  assert.ok(!html.includes('y'.repeat(301)), 'long cells are cut');
  const resource = c.data['application/vnd.dataresource+json'] as { schema: { fields: { name: string }[] }; data: unknown[] };
  assert.ok(resource.schema.fields.some((f) => f.name === 'reward'));
  assert.equal(resource.data.length, 20);
});

test('MetricsLog and arrays of metrics rows: tables with all three representations', async () => {
  const rows: MetricsRow[] = [{ iteration: 1, 'reward/mean': 0.5 }, { iteration: 2, 'reward/mean': 0.75, 'eval/accuracy': 0.25 }];
  for (const value of [new MetricsLog(rows), rows]) {
    const c = await show(value);
    assert.deepEqual(Object.keys(c.data).sort(), ['application/vnd.dataresource+json', 'text/html', 'text/plain']);
    assert.match(c.data['text/plain'] as string, /reward\/mean/);
  }
});

test('plotly figures (from lineFigure or written by hand) get the plotly mime type with HTML and text fallbacks', async () => {
  const c = await show(lineFigure({ title: 'reward', x: [1, 2], series: [{ name: 'r', y: [0.1, 0.2] }] }));
  assert.deepEqual(Object.keys(c.data), ['application/vnd.plotly.v1+json', 'text/html', 'text/plain']);
  assert.match(c.data['text/plain'] as string, /Plotly figure "reward"\n {2}r: 2 points, last 0\.2/);
  const hand = await show({ data: [{ type: 'bar', x: ['a', 'b'], y: [1, 2] }] });
  assert.deepEqual(hand.data['application/vnd.plotly.v1+json'], { data: [{ type: 'bar', x: ['a', 'b'], y: [1, 2] }], layout: {} });
  const typed = await show({ data: [{ y: new Float32Array([0.5, 1.5]) }], layout: { title: 'typed' } });
  assert.deepEqual((typed.data['application/vnd.plotly.v1+json'] as { data: unknown[] }).data, [{ y: [0.5, 1.5] }], 'typed arrays become arrays');
  assert.match(typed.data['text/html'] as string, /<polyline /);
});

test('tfjs tensors: shape, dtype, statistics and first values; the tensor stays usable', async () => {
  const t = tf.tensor2d([[1, 2], [3, 4]]);
  const c = await show(t);
  assert.match(c.data['text/plain'] as string, /Tensor float32 \[2, 2\] \(4 values\)\nmin 1 {2}max 4 {2}mean 2\.5/);
  assert.match(c.data['text/html'] as string, /<pre>\[\[1, 2\],\n \[3, 4\]\]<\/pre>/);
  assert.deepEqual(t.arraySync(), [[1, 2], [3, 4]]);
  t.dispose();
});

test('errors: name, message, stack, extra properties and causes', async () => {
  const err = Object.assign(new Error('cannot open', { cause: new TypeError('bad path') }), { code: 'ENOENT' });
  const text = (await show(err)).data['text/plain'] as string;
  assert.match(text, /^Error: cannot open\n {4}at /);
  assert.match(text, /code: 'ENOENT'/);
  assert.match(text, /Caused by: TypeError: bad path\n {4}at /);
  const bare = new RangeError('no stack');
  bare.stack = undefined;
  assert.equal((await show(bare)).data['text/plain'], 'RangeError: no stack');
  assert.match((await show(new AggregateError([new Error('one')], 'many'))).data['text/plain'] as string, /AggregateError: many[\s\S]*\[errors\[0\]\] Error: one/);
});

test('Maps and Sets: util.inspect text and an HTML table', async () => {
  const m = await show(new Map<string, unknown>([['a', 1], ['b', { x: 2 }]]));
  assert.equal(m.data['text/plain'], "Map(2) { 'a' => 1, 'b' => { x: 2 } }");
  assert.match(m.data['text/html'] as string, /<caption>Map \(2 entries\)<\/caption>.*<td>b<\/td><td>\{&quot;x&quot;:2\}<\/td>/s);
  const big = await show(new Set(Array.from({ length: 500 }, (_, i) => i)));
  assert.match(big.data['text/html'] as string, /… 480 more rows \(500 total\)/);
  const recs = await show(new Set([{ id: 1, ok: true }, { id: 2, ok: false }]));
  assert.match(recs.data['text/html'] as string, /<th>id<\/th><th>ok<\/th>/);
  assert.equal((await show(new Map())).data['text/html'], undefined);
});

test('a ProgressBar shows as a bar that display(bar, {id, update: true}) can redraw', async () => {
  const bar = new ProgressBar({ total: 4, label: 'step' });
  const first = await show(bar);
  assert.match(first.data['text/html'] as string, /<progress value="0" max="4"/);
  bar.update(4);
  assert.match((await show(bar)).data['text/plain'] as string, /^step 4\/4 \[##########\] 100%/);
});
