import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lineFigure, plotlyBundle } from '../sdk/viz/index.ts';

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

test('plotlyBundle: figure JSON, HTML fallback that draws or leaves a note, text summary', () => {
  const fig = lineFigure({ title: 'A </script><b>', x: [1, 2], series: [{ name: 'acc', y: [0.25, 0.5] }] });
  const bundle = plotlyBundle(fig);
  assert.deepEqual(bundle['application/vnd.plotly.v1+json'], fig);
  const html = bundle['text/html'] as string;
  assert.equal((html.match(/<\/script>/g) ?? []).length, 1, 'the title cannot close the script element early');
  assert.ok(!html.includes('<b>'), 'the note in the div is escaped');
  assert.match(html, /window\.Plotly/);
  assert.match(html, /needs JavaScript and plotly\.js/, 'a note is shown where no script runs');
  // The embedded script is valid JavaScript.
  const script = html.slice(html.indexOf('<script type="text/javascript">') + 31, html.lastIndexOf('</script>'));
  assert.doesNotThrow(() => new Function(script));
  assert.match(bundle['text/plain'] as string, /acc: 2 points, last 0\.5/);
  assert.notEqual(/id="([^"]+)"/.exec(html)![1], /id="([^"]+)"/.exec(plotlyBundle(fig)['text/html'] as string)![1], 'each bundle gets its own div id');
});

/** Run the bundle's script against a minimal fake DOM. */
function runFallbackScript(html: string, plotly: unknown) {
  const script = html.slice(html.indexOf('<script type="text/javascript">') + 31, html.lastIndexOf('</script>'));
  const el = { textContent: 'initial note' };
  const appended: { src?: string; onload?: () => void; onerror?: () => void }[] = [];
  const window: Record<string, unknown> = { Plotly: plotly };
  const document = {
    getElementById: () => el,
    createElement: () => ({}),
    head: { appendChild: (s: (typeof appended)[number]) => appended.push(s) },
  };
  new Function('window', 'document', script)(window, document);
  return { el, appended, window };
}

test('plotlyBundle HTML draws with window.Plotly, else loads it by <script> tag, else leaves a note', () => {
  const fig = lineFigure({ title: 'T', x: [1], series: [{ name: 'a', y: [1] }] });
  const html = plotlyBundle(fig)['text/html'] as string;

  const calls: unknown[][] = [];
  runFallbackScript(html, { newPlot: (...args: unknown[]) => calls.push(args) });
  assert.equal(calls.length, 1);
  assert.deepEqual(calls[0]![1], fig.data);

  const offline = runFallbackScript(html, undefined);
  assert.equal(offline.appended.length, 1);
  assert.match(offline.appended[0]!.src!, /^https:\/\/cdn\.plot\.ly\/plotly-[\d.]+\.min\.js$/);
  offline.appended[0]!.onerror!();
  assert.match(offline.el.textContent, /needs JavaScript and plotly\.js/);

  const late = runFallbackScript(html, undefined);
  const lateCalls: unknown[] = [];
  late.window.Plotly = { newPlot: () => lateCalls.push(1) };
  late.appended[0]!.onload!();
  assert.equal(lateCalls.length, 1, 'draws once the script tag has loaded plotly');
});
