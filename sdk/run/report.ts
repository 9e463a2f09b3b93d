// A standalone report.html for a run: training curves (as in Open-Reasoner-Zero's Figure 2: train reward,
// response length, eval accuracy over iterations), the metrics, the config and a few sample rollouts.
// plotly.js is inlined so the page works offline from file://.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { MetricsRow } from '../ppo/metrics-log.ts';
import { METRIC, type MetricName } from '../ppo/metric-names.ts';
import type { RolloutSample } from '../rollout/rollout-batch.ts';
import { escapeHtml, inlineScriptSource, jsonForScript } from '../viz/html.ts';
import { lineFigure, type LineSeries, type PlotlyFigure } from '../viz/plotly.ts';
import { formatValue, tableBundle } from '../viz/table.ts';
import { evalAccuracyColumns } from './training-chart.ts';

export interface ReportOptions {
  title: string;
  config: object;
  metrics: MetricsRow[];
  rollouts?: { iteration: number; samples: RolloutSample[] }[];
  samplesPerIteration?: number; // rollouts shown per recorded iteration (default 4)
}

const MAX_TEXT_CHARS = 4000; // per prompt/response shown, so long runs keep a small page

let plotlySource: string | undefined;
function plotlyLibrary(): string {
  if (plotlySource === undefined) {
    const require = createRequire(import.meta.url);
    let path: string;
    try {
      path = require.resolve('plotly.js-dist-min/plotly.min.js');
    } catch (err) {
      throw new Error(`renderReport: cannot find plotly.js-dist-min/plotly.min.js (is the package installed?): ${(err as Error).message}`);
    }
    plotlySource = inlineScriptSource(readFileSync(path, 'utf8'));
  }
  return plotlySource;
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The ORZ curves, each only when its metric was recorded. */
function curveFigures(rows: MetricsRow[]): { id: string; figure: PlotlyFigure }[] {
  const x = rows.map((row, i) => (finite(row.iteration) ? row.iteration : i + 1));
  const present = (key: MetricName) => rows.some((row) => finite(row[key]));
  const series = (key: MetricName, name: string = key): LineSeries => ({ name, y: rows.map((row) => { const v = row[key]; return finite(v) ? v : null; }) });
  const figures: { id: string; figure: PlotlyFigure }[] = [];

  if (present(METRIC.rewardMean)) {
    figures.push({
      id: 'fig-reward',
      figure: lineFigure({ title: 'Train reward', x, series: [series(METRIC.rewardMean)], xTitle: 'iteration', yTitle: 'mean reward' }),
    });
  }
  const lengthKeys = [METRIC.responseLengthMean, METRIC.responseLengthCorrect, METRIC.responseLengthIncorrect].filter(present);
  if (lengthKeys.length > 0) {
    figures.push({
      id: 'fig-response-length',
      figure: lineFigure({ title: 'Response length', x, series: lengthKeys.map((k) => series(k)), xTitle: 'iteration', yTitle: 'tokens' }),
    });
  }
  const evalKeys = evalAccuracyColumns(rows);
  if (evalKeys.length > 0) {
    // Eval runs every few iterations: plot only the rows that have it, so the line joins real points.
    const evalRows = rows.map((row, i) => [x[i]!, row] as const).filter(([, row]) => evalKeys.some((k) => finite(row[k])));
    figures.push({
      id: 'fig-eval',
      figure: lineFigure({
        title: 'Eval accuracy',
        x: evalRows.map(([it]) => it),
        series: evalKeys.map((k) => ({ name: k, y: evalRows.map(([, row]) => (finite(row[k]) ? row[k] as number : null)) })),
        xTitle: 'iteration',
        yTitle: 'accuracy',
      }),
    });
  }
  return figures;
}

/** Union of keys in first-seen order, with `iteration` first. */
function metricColumns(rows: MetricsRow[]): string[] {
  const keys = new Set<string>();
  for (const row of rows) for (const k of Object.keys(row)) keys.add(k);
  return [...keys].sort((a, b) => Number(b === 'iteration') - Number(a === 'iteration'));
}

function metricsSection(rows: MetricsRow[]): string {
  if (rows.length === 0) return '<p>No metrics recorded yet.</p>';
  const columns = metricColumns(rows);
  const last = rows[rows.length - 1]!;
  const lastTable = tableBundle(['metric', 'value'], columns.filter((c) => c in last).map((c) => [c, last[c]]), {
    maxRows: Infinity,
    title: 'Last row',
  })['text/html'];
  const allTable = tableBundle(columns, rows.map((row) => columns.map((c) => row[c] ?? null)), { maxRows: Infinity })['text/html'];
  return `${lastTable}\n<details><summary>All ${rows.length} rows</summary>${allTable}</details>`;
}

function clip(text: string): string {
  return text.length <= MAX_TEXT_CHARS ? text : `${text.slice(0, MAX_TEXT_CHARS)}\n… (${text.length - MAX_TEXT_CHARS} more characters)`;
}

const SAMPLE_FIELDS = new Set(['promptIndex', 'sampleIndex', 'prompt', 'response', 'promptIds', 'responseIds', 'logprobs', 'finishReason', 'groundTruth', 'reward']);

function sampleCard(s: RolloutSample): string {
  const facts = [
    `prompt ${s.promptIndex}`,
    `sample ${s.sampleIndex}`,
    `reward ${s.reward === undefined ? '–' : formatValue(s.reward)}`,
    `finish ${s.finishReason}`,
    `ground truth ${s.groundTruth === '' ? '–' : s.groundTruth}`,
    `${s.responseIds?.length ?? 0} tokens`,
    ...Object.entries(s)
      .filter(([k, v]) => !SAMPLE_FIELDS.has(k) && (typeof v === 'string' || typeof v === 'number'))
      .map(([k, v]) => `${k} ${formatValue(v)}`),
  ];
  const rewarded = finite(s.reward) && s.reward > 0 ? ' rewarded' : '';
  return `<div class="sample${rewarded}">
<div class="facts">${facts.map(escapeHtml).join(' · ')}</div>
<details><summary>prompt</summary><pre>${escapeHtml(clip(s.prompt))}</pre></details>
<pre class="response">${escapeHtml(clip(s.response))}</pre>
</div>`;
}

function rolloutsSection(rollouts: { iteration: number; samples: RolloutSample[] }[], perIteration: number): string {
  if (rollouts.length === 0) return '<p>No rollouts recorded.</p>';
  return rollouts
    .map(({ iteration, samples }) => {
      const rewards = samples.map((s) => s.reward).filter(finite);
      const mean = rewards.length ? `, mean reward ${formatValue(rewards.reduce((a, b) => a + b, 0) / rewards.length)}` : '';
      const shown = samples.slice(0, perIteration);
      const head = `Iteration ${formatValue(iteration)} (${shown.length} of ${samples.length} samples${mean})`;
      return `<h3>${escapeHtml(head)}</h3>\n${shown.map(sampleCard).join('\n')}`;
    })
    .join('\n');
}

function configJson(config: object): string {
  try {
    return JSON.stringify(config, (_k, v) => (typeof v === 'bigint' ? String(v) : v), 2) ?? String(config);
  } catch (err) {
    return `(config is not JSON-serialisable: ${(err as Error).message})`;
  }
}

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1100px; padding: 0 16px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 18px; border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 32px; }
h3 { font-size: 15px; margin-top: 20px; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 12px; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { border: 1px solid #e2e2e2; padding: 2px 8px; } th { background: #f6f6f6; }
details { margin: 6px 0; } summary { cursor: pointer; color: #555; }
pre { background: #f7f7f7; padding: 8px; white-space: pre-wrap; word-break: break-word; margin: 4px 0; }
.sample { border-left: 4px solid #d9534f; padding: 4px 10px; margin: 10px 0; }
.sample.rewarded { border-left-color: #5cb85c; }
.facts { color: #444; font-size: 13px; }
.muted { color: #777; }`;

/** A standalone HTML page (plotly inlined, every text escaped). */
export function renderReport(opts: ReportOptions): string {
  const rows = opts.metrics;
  const figures = curveFigures(rows);
  const lastIteration = rows.length && finite(rows[rows.length - 1]!.iteration) ? ` · last iteration ${rows[rows.length - 1]!.iteration}` : '';
  const curves = figures.length
    ? `<div class="figures">${figures.map((f) => `<div id="${f.id}" class="figure"></div>`).join('')}</div>`
    : '<p>No reward, response length or eval accuracy metrics recorded yet.</p>';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(opts.title)}</title>
<style>${STYLE}</style>
<script type="text/javascript">${plotlyLibrary()}</script>
</head>
<body>
<h1>${escapeHtml(opts.title)}</h1>
<p class="muted">${rows.length} metrics rows${escapeHtml(lastIteration)}</p>
<h2>Training curves</h2>
${curves}
<h2>Metrics</h2>
${metricsSection(rows)}
<h2>Config</h2>
<pre>${escapeHtml(configJson(opts.config))}</pre>
<h2>Sample rollouts</h2>
${rolloutsSection(opts.rollouts ?? [], opts.samplesPerIteration ?? 4)}
<script type="application/json" id="orz-figures">${jsonForScript(figures)}</script>
<script type="text/javascript">
(function () {
  var figures = JSON.parse(document.getElementById('orz-figures').textContent);
  figures.forEach(function (f) {
    var el = document.getElementById(f.id);
    if (!el) return;
    if (!window.Plotly) { el.textContent = 'plotly.js did not load; cannot draw ' + f.id; return; }
    window.Plotly.newPlot(el, f.figure.data, f.figure.layout, { responsive: true, displaylogo: false });
  });
})();
</script>
</body>
</html>
`;
}
