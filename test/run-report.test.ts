import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { MetricsRow } from '../sdk/ppo/metrics-log.ts';
import type { RolloutSample } from '../sdk/rollout/rollout-batch.ts';
import { renderReport } from '../sdk/run/report.ts';

type Figure = { id: string; figure: { data: { name: string; x: number[]; y: (number | null)[] }[]; layout: { title: { text: string } } } };

const plotlyPath = createRequire(import.meta.url).resolve('plotly.js-dist-min/plotly.min.js');

function figuresOf(html: string): Figure[] {
  const m = /<script type="application\/json" id="orz-figures">([\s\S]*?)<\/script>/.exec(html);
  assert.ok(m, 'the page embeds its figures as JSON');
  return JSON.parse(m[1]!);
}

// Eval every 3rd iteration, as a training run would record it.
const metrics: MetricsRow[] = Array.from({ length: 7 }, (_, i) => ({
  iteration: i + 1,
  'reward/mean': i / 10,
  'response_length/mean': 100 + 10 * i,
  'response_length/correct': 120 + 10 * i,
  'response_length/incorrect': 90 + 10 * i,
  'eval/accuracy': (i + 1) % 3 === 0 ? (i + 1) / 100 : null,
}));

function sample(i: number, response: string, reward: number): RolloutSample {
  return { promptIndex: i, sampleIndex: 0, prompt: `What is ${i}+${i}?`, response, promptIds: [1, 2], responseIds: [3, 4, 5],
    logprobs: [-1, -1, -1], finishReason: i % 2 ? 'length' : 'stop', groundTruth: String(2 * i), reward, level: 2 };
}

test('renderReport: standalone page with plotly inlined and one figure per recorded metric group', () => {
  const html = renderReport({ title: 'run <demo>', config: { lr: 0.5, name: 'a&b' }, metrics });
  const library = readFileSync(plotlyPath, 'utf8');
  assert.ok(html.includes(library.slice(0, 2000)), 'plotly.min.js is inlined');
  assert.ok(html.length > library.length, 'the whole library is in the page');
  assert.ok(html.length - library.length < 60_000, 'the page itself stays small');
  assert.ok(!/<script[^>]*\ssrc=/.test(html) && !html.includes('<link'), 'nothing is loaded from elsewhere');
  assert.equal((html.match(/<\/script>/gi) ?? []).length, 3, 'library, figure data and draw script: nothing closes early');

  const figures = figuresOf(html);
  assert.deepEqual(figures.map((f) => f.id), ['fig-reward', 'fig-response-length', 'fig-eval']);
  for (const f of figures) assert.ok(html.includes(`<div id="${f.id}"`), `a div for ${f.id}`);
  assert.deepEqual(figures[0]!.figure.data[0]!.y, metrics.map((r) => r['reward/mean']));
  assert.deepEqual(figures[1]!.figure.data.map((t) => t.name), ['response_length/mean', 'response_length/correct', 'response_length/incorrect']);

  assert.ok(html.includes('<title>run &lt;demo&gt;</title>'));
  assert.ok(html.includes('&quot;name&quot;: &quot;a&amp;b&quot;'), 'config as escaped pretty JSON');
});

test('renderReport plots eval accuracy only at iterations that have it', () => {
  const evalFigure = figuresOf(renderReport({ title: 't', config: {}, metrics })).find((f) => f.id === 'fig-eval')!;
  assert.deepEqual(evalFigure.figure.data[0]!.x, [3, 6]);
  assert.deepEqual(evalFigure.figure.data[0]!.y, [0.03, 0.06]);
});

test('renderReport leaves out figures for metrics that were not recorded', () => {
  const rewardOnly = metrics.map((r) => ({ iteration: r.iteration!, 'reward/mean': r['reward/mean']!, 'eval/accuracy': null }));
  const figures = figuresOf(renderReport({ title: 't', config: {}, metrics: rewardOnly }));
  assert.deepEqual(figures.map((f) => f.id), ['fig-reward']);
  assert.match(renderReport({ title: 't', config: {}, metrics: [] }), /No metrics recorded yet/);
  // Only the mean response length: one trace.
  const meanOnly = metrics.map((r) => ({ iteration: r.iteration!, 'response_length/mean': r['response_length/mean']! }));
  const lengths = figuresOf(renderReport({ title: 't', config: {}, metrics: meanOnly }));
  assert.deepEqual(lengths.map((f) => [f.id, f.figure.data.length]), [['fig-response-length', 1]]);
});

test('renderReport: metrics table with last row and all rows collapsible', () => {
  const html = renderReport({ title: 't', config: {}, metrics });
  assert.match(html, /<caption>Last row<\/caption>/);
  assert.match(html, /<details><summary>All 7 rows<\/summary>/);
  const lastRowTable = html.slice(html.indexOf('<caption>Last row'), html.indexOf('<details><summary>All 7 rows'));
  assert.ok(lastRowTable.includes('<td>reward/mean</td><td class="num">0.6</td>'), 'last row value of reward/mean');
});

test('renderReport escapes rollout text and shows a few samples per iteration', () => {
  const rollouts = [
    { iteration: 1, samples: [sample(0, '<script>alert("pwned")</script>', 1), ...Array.from({ length: 5 }, (_, i) => sample(i + 1, `plain ${i + 1}`, 0))] },
    { iteration: 2, samples: [sample(0, 'second <b>iteration</b>', 0)] },
  ];
  const html = renderReport({ title: 't', config: {}, metrics, rollouts, samplesPerIteration: 3 });
  assert.ok(html.includes('&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;'));
  assert.ok(!html.includes('alert("pwned")'), 'never raw');
  assert.ok(html.includes('second &lt;b&gt;iteration&lt;/b&gt;'));
  assert.match(html, /<pre class="response">plain 2<\/pre>/);
  assert.ok(!html.includes('plain 3'), 'only 3 samples of iteration 1 are shown');
  assert.match(html, /Iteration 1 \(3 of 6 samples, mean reward 0\.1667\)/);
  assert.match(html, /reward 1 · finish stop · ground truth 0 · 3 tokens · level 2/);
  assert.match(html, /finish length/);
});

test('every inline script of the page is valid JavaScript (the inlined library survives escaping)', () => {
  const html = renderReport({ title: 't', config: {}, metrics });
  const scripts = [...html.matchAll(/<script type="text\/javascript">([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
  assert.equal(scripts.length, 2);
  for (const source of scripts) assert.doesNotThrow(() => new Function(source)); // compiles, does not run
});
