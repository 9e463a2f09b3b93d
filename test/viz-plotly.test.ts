import { test } from 'node:test';
import assert from 'node:assert/strict';
import { figureSvg, isPlotlyFigure, lineFigure, plotlyBundle, type PlotlyFigure } from '../sdk/viz/index.ts';
import { niceTicks } from '../sdk/viz/plotly-svg.ts';

type Trace = { type: string; name: string; x: number[]; y: (number | null)[]; yaxis: string };

test('lineFigure: one scatter trace per series over the shared x, nulls kept as gaps', () => {
  const fig = lineFigure({
    title: 'Reward and length',
    x: [1, 2, 3],
    series: [{ name: 'reward', y: [0.1, null, 0.3] }, { name: 'length', y: [100, 120, NaN], yaxis: 'y2' }],
    xTitle: 'iteration',
    y2Title: 'tokens',
  });
  const traces = fig.data as Trace[];
  assert.deepEqual(traces.map((t) => [t.type, t.name, t.yaxis]), [['scatter', 'reward', 'y'], ['scatter', 'length', 'y2']]);
  assert.deepEqual(traces[0]!.x, [1, 2, 3]);
  assert.deepEqual(traces[1]!.y, [100, 120, null], 'NaN becomes a gap (null), which JSON can carry');
  const layout = fig.layout as { title: { text: string }; yaxis2?: { overlaying: string; side: string; title: { text: string } } };
  assert.equal(layout.title.text, 'Reward and length');
  assert.deepEqual([layout.yaxis2?.overlaying, layout.yaxis2?.side, layout.yaxis2?.title.text], ['y', 'right', 'tokens']);
  assert.equal('yaxis2' in lineFigure({ title: 't', x: [1], series: [{ name: 'a', y: [1] }] }).layout, false);
});

test('lineFigure rejects a series whose length differs from x, naming it', () => {
  assert.throws(() => lineFigure({ title: 'T', x: [1, 2], series: [{ name: 'short', y: [1] }] }), /series "short" has 1 values but x has 2/);
});

test('plotlyBundle: figure JSON, HTML with a static SVG preview and a loader script, text summary', () => {
  const fig = lineFigure({ title: 'A </script><b>', x: [1, 2], series: [{ name: 'acc', y: [0.25, 0.5] }] });
  const bundle = plotlyBundle(fig);
  assert.deepEqual(bundle['application/vnd.plotly.v1+json'], fig);
  const html = bundle['text/html'] as string;
  assert.equal((html.match(/<\/script>/g) ?? []).length, 1, 'the title cannot close the script element early');
  assert.ok(!html.includes('<b>'), 'the title is escaped in the preview');
  assert.match(html, /window\.Plotly/);
  assert.match(html, /<svg [^>]*role="img"[^>]*>.*<polyline /s, 'a static preview draws the line without JavaScript');
  assert.ok(html.length < 20_000, `no plotly.js inlined (${html.length} characters)`);
  // The embedded script is valid JavaScript.
  const script = html.slice(html.indexOf('<script type="text/javascript">') + 31, html.lastIndexOf('</script>'));
  assert.doesNotThrow(() => new Function(script));
  assert.match(bundle['text/plain'] as string, /acc: 2 points, last 0\.5/);
  assert.notEqual(/id="([^"]+)"/.exec(html)![1], /id="([^"]+)"/.exec(plotlyBundle(fig)['text/html'] as string)![1], 'each bundle gets its own div id');
});

test('plotlyBundle: a figure the preview cannot draw keeps a note; a user figure without layout gets one', () => {
  const html = plotlyBundle({ data: [{ type: 'heatmap', z: [[1, 2], [3, 4]] }], layout: { title: { text: 'heat' } } })['text/html'] as string;
  assert.match(html, /Plot &quot;heat&quot; needs JavaScript and plotly\.js/);
  assert.ok(!html.includes('<svg'));
  const bare = plotlyBundle({ data: [{ y: [1, 3, 2] }] } as unknown as PlotlyFigure);
  assert.deepEqual(bare['application/vnd.plotly.v1+json'], { data: [{ y: [1, 3, 2] }], layout: {} });
  assert.match(bare['text/html'] as string, /<polyline /);
});

/** Run the bundle's script against a minimal fake DOM (no browser here); the window persists across runs like a page's. */
function runFallbackScript(html: string, window: Record<string, unknown>) {
  const script = html.slice(html.indexOf('<script type="text/javascript">') + 31, html.lastIndexOf('</script>'));
  const el = { textContent: 'static preview' };
  const appended: { src?: string; onload?: () => void; onerror?: () => void }[] = [];
  const document = {
    getElementById: () => el,
    createElement: () => ({}),
    head: { appendChild: (s: (typeof appended)[number]) => appended.push(s) },
  };
  new Function('window', 'document', script)(window, document);
  return { el, appended };
}

const settle = () => new Promise((r) => setImmediate(r));

test('plotlyBundle HTML draws with window.Plotly, else loads plotly.js once per page, else keeps the preview', async () => {
  const fig = lineFigure({ title: 'T', x: [1], series: [{ name: 'a', y: [1] }] });
  const html = plotlyBundle(fig)['text/html'] as string;

  const calls: unknown[][] = [];
  runFallbackScript(html, { Plotly: { newPlot: (...args: unknown[]) => calls.push(args) } });
  assert.equal(calls.length, 1);
  assert.deepEqual(calls[0]![1], fig.data);

  const offlinePage: Record<string, unknown> = {};
  const first = runFallbackScript(html, offlinePage);
  const second = runFallbackScript(plotlyBundle(fig)['text/html'] as string, offlinePage);
  assert.equal(first.appended.length, 1);
  assert.equal(second.appended.length, 0, 'a second plot (or a live update) on the page waits for the same load');
  assert.match(first.appended[0]!.src!, /^https:\/\/cdn\.plot\.ly\/plotly-[\d.]+\.min\.js$/);
  first.appended[0]!.onerror!();
  await settle();
  assert.equal(first.el.textContent, 'static preview', 'offline, the static preview stays');
  assert.equal(second.el.textContent, 'static preview');

  const page: Record<string, unknown> = {};
  const a = runFallbackScript(html, page);
  const b = runFallbackScript(html, page);
  const lateCalls: unknown[] = [];
  page.Plotly = { newPlot: (el: unknown) => lateCalls.push(el) };
  a.appended[0]!.onload!();
  await settle();
  assert.deepEqual(lateCalls, [a.el, b.el], 'both plots draw once the script has loaded plotly');
  assert.equal(a.el.textContent, '', 'the preview is cleared before drawing');
});

test('isPlotlyFigure accepts figure JSON and rejects ordinary records', () => {
  assert.equal(isPlotlyFigure(lineFigure({ title: 't', x: [1], series: [{ name: 'a', y: [1] }] })), true);
  assert.equal(isPlotlyFigure({ data: [{ type: 'bar', x: ['a'], y: [1] }], layout: {}, config: { responsive: true } }), true);
  assert.equal(isPlotlyFigure({ data: [{ y: [1, 2] }] }), true, 'plotly defaults the trace type to scatter');
  assert.equal(isPlotlyFigure({ data: [], layout: { title: 'empty' } }), true);
  assert.equal(isPlotlyFigure({ data: [] }), false);
  assert.equal(isPlotlyFigure({ data: [{ id: 1, name: 'row' }] }), false, 'records that happen to sit under "data"');
  assert.equal(isPlotlyFigure({ data: [{ y: [1] }], rows: 3 }), false, 'other keys: not a figure');
  assert.equal(isPlotlyFigure([{ y: [1] }]), false);
  class Fig { data = [{ y: [1] }]; }
  assert.equal(isPlotlyFigure(new Fig()), false, 'class instances format themselves');
});

test('figureSvg: gaps split lines, y2 gets its own scale, integer x gets integer ticks', () => {
  const fig = lineFigure({
    title: 'Run', x: [1, 2, 3, 4], xTitle: 'iteration', y2Title: 'tokens',
    series: [{ name: 'reward', y: [0, 0.5, null, 1] }, { name: 'length', y: [100, 200, 300, 400], yaxis: 'y2' }],
  });
  const svg = figureSvg(fig)!;
  const polylines = [...svg.matchAll(/<polyline [^>]*points="([^"]+)"/g)].map((m) => m[1]!.split(' ').map((p) => p.split(',').map(Number)));
  assert.equal(polylines.length, 2, 'reward: one run of 2 points (the lone last point is a marker only); length: one run of 4');
  const [reward, length] = polylines as [number[][], number[][]];
  assert.equal(reward.length, 2);
  assert.equal(length.length, 4);
  // Each series spans its own axis: the lowest value sits at the same height on both axes.
  assert.equal(reward[0]![1], length[0]![1]);
  assert.equal(reward[0]![0], length[0]![0]);
  assert.equal((svg.match(/<circle /g) ?? []).length, 3 + 4, 'few points: markers on every present point');
  const xLabels = [...svg.matchAll(/text-anchor="middle">([^<]+)<\/text>/g)].map((m) => m[1]);
  assert.ok(xLabels.includes('iteration'));
  assert.ok(!xLabels.some((l) => l!.includes('.')), `integer ticks only on an iteration axis: ${xLabels.join(' ')}`);
  assert.match(svg, />tokens</);
  assert.equal(figureSvg({ data: [{ type: 'pie', values: [1, 2] }], layout: {} }), null);
});

test('niceTicks: round steps inside the range', () => {
  assert.deepEqual(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(0.95, 3.05, 5, true), [1, 2, 3]);
  assert.deepEqual(niceTicks(-7, 13), [-5, 0, 5, 10]);
  assert.deepEqual(niceTicks(2, 2), [2]);
});
