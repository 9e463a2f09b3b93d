// Outputs that update in place: ProgressBar bundles, LiveDisplay throttling (real timers), the training chart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { JUPYTER_DISPLAY, LiveDisplay, ProgressBar, type MimeBundle } from '../sdk/viz/index.ts';
import { trainingChart } from '../sdk/run/training-chart.ts';
import type { MetricsRow } from '../sdk/ppo/metrics-log.ts';

test('ProgressBar: an HTML <progress> bar with the progress line, and the same line as text', () => {
  let now = 0;
  const bar = new ProgressBar({ total: 20, label: 'iter', now: () => now });
  now = 42_000;
  bar.update(3, 'reward <0.41>');
  const b = bar[JUPYTER_DISPLAY]();
  assert.equal(b['text/plain'], 'iter 3/20 [#.........] 15% 00:42<03:58\nreward <0.41>');
  assert.match(b['text/html'] as string, /<progress value="3" max="20"/);
  assert.match(b['text/html'] as string, /iter 3\/20 \[#\.\.\.\.\.\.\.\.\.\] 15% 00:42&lt;03:58/);
  assert.match(b['text/html'] as string, /reward &lt;0\.41&gt;/, 'the status line is escaped');
  bar.tick().tick();
  assert.equal(bar.done, 5);
  assert.equal(String(bar).split('\n')[0], 'iter 5/20 [##........] 25% 00:42<02:06');
});

test('ProgressBar: an empty job is complete; bad counts are refused by name', () => {
  const bar = new ProgressBar({ total: 0 });
  assert.match(bar[JUPYTER_DISPLAY]()['text/html'] as string, /<progress value="1" max="1"/);
  assert.throws(() => new ProgressBar({ total: -1 }), /ProgressBar: total must be a finite number >= 0, got -1/);
  assert.throws(() => new ProgressBar({ total: 3 }).update(NaN), /done must be/);
});

type Call = { t: number; id: string | undefined; update: boolean; text: string };

function recorder() {
  const calls: Call[] = [];
  const start = performance.now();
  const display = (bundle: MimeBundle, opts?: { id?: string; update?: boolean }) => {
    calls.push({ t: performance.now() - start, id: opts?.id, update: opts?.update === true, text: bundle['text/plain'] as string });
  };
  return { calls, display };
}

test('LiveDisplay: shows each part under a fresh id, then throttles updates with a trailing redraw, then a final one', async () => {
  const { calls, display } = recorder();
  let n = 0;
  const live = new LiveDisplay(display, [() => ({ 'text/plain': `a${n}` }), () => ({ 'text/plain': `b${n}` })], { intervalMs: 200 });
  assert.equal(new Set(live.ids).size, 2);
  assert.notDeepEqual(new LiveDisplay(display, [() => ({})]).ids, live.ids.slice(0, 1), 'fresh ids per live display');
  live.show();
  assert.deepEqual(calls.map((c) => [c.id, c.update, c.text]), [[live.ids[0], false, 'a0'], [live.ids[1], false, 'b0']]);
  const t0 = performance.now();
  for (let i = 1; i <= 10; i++) { n = i; live.request(); await sleep(30); } // ~300 ms of changes every 30 ms
  const changing = performance.now() - t0;
  await sleep(250);
  n = 99;
  live.finish();
  live.request(); // ignored after finish
  await sleep(250);
  const updates = calls.filter((c) => c.update);
  assert.ok(updates.every((c) => c.id === live.ids[0] || c.id === live.ids[1]), 'updates reuse the shown ids');
  const times = updates.filter((c) => c.id === live.ids[0]).map((c) => c.t);
  // 10 changes over ~300 ms, at most one redraw per 200 ms (~200 ms, ~400 ms by the trailing timer), then the final.
  const most = Math.floor(changing / 200) + 2;
  assert.ok(times.length >= 2 && times.length <= most, `${times.length} updates (at most ${most}) at ${times.map((t) => t.toFixed(0)).join(', ')} ms`);
  for (let i = 1; i < times.length - 1; i++) assert.ok(times[i]! - times[i - 1]! >= 200, `throttled: ${times.join(', ')}`);
  assert.ok(times[0]! >= 200, 'the first update waits for the interval after show()');
  assert.equal(updates.at(-1)!.text, 'b99', 'the final update has the final content');
  assert.equal(calls.at(-2)!.text, 'a99');
});

test('LiveDisplay: finish() without show() displays the final content once; a failing display is reported once and stops', () => {
  const { calls, display } = recorder();
  new LiveDisplay(display, [() => ({ 'text/plain': 'only' })]).finish();
  assert.deepEqual(calls.map((c) => [c.update, c.text]), [[false, 'only']]);

  const errors: string[] = [];
  let tries = 0;
  const broken = new LiveDisplay(() => { tries++; throw new Error('iopub closed'); }, [() => ({})], { intervalMs: 0, onError: (e) => errors.push(e.message) });
  broken.show();
  broken.request();
  broken.finish();
  assert.deepEqual(errors, ['iopub closed']);
  assert.equal(tries, 1);
});

test('trainingChart: one point per iteration, eval accuracy over the rows that have it', () => {
  const rows: MetricsRow[] = [
    { iteration: 0, 'eval/accuracy': 0.1 },
    { iteration: 1, 'reward/mean': 0.2, 'response_length/mean': 30 },
    { iteration: 2, 'reward/mean': 0.4, 'response_length/mean': 35, 'eval/accuracy': 0.2 },
    { iteration: 3, 'reward/mean': null, 'response_length/mean': 40 },
  ];
  const fig = trainingChart(rows);
  const traces = fig.data as { name: string; x: number[]; y: (number | null)[]; yaxis: string }[];
  assert.deepEqual(traces.map((t) => [t.name, t.yaxis]), [['reward (mean)', 'y'], ['response length (mean)', 'y2'], ['eval accuracy', 'y']]);
  assert.deepEqual(traces[0]!.x, [1, 2, 3]);
  assert.deepEqual(traces[0]!.y, [0.2, 0.4, null]);
  assert.deepEqual(traces[2]!.x, [0, 2]);
  assert.equal(trainingChart([]).data.length, 2, 'an empty run still has its (empty) traces');
});
