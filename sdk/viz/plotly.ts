// Plotly figure JSON and its mime bundle. The figure is plain data; front ends with a plotly renderer
// use application/vnd.plotly.v1+json, the others get HTML: a static SVG preview that plotly.js replaces.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { escapeHtml, jsonForScript, type MimeBundle } from './html.ts';
import { formatNumber } from './table.ts';
import { figureSvg } from './plotly-svg.ts';
import { isPlainObject } from './records.ts';
import type { PlotlyFigure } from './plotly-figure.ts';

export type { PlotlyFigure };

export interface LineSeries {
  name: string;
  y: (number | null)[];
  yaxis?: 'y' | 'y2'; // 'y2' puts the series on a second axis on the right
}

export interface LineFigureOptions {
  title: string;
  x: number[];
  series: LineSeries[];
  xTitle?: string;
  yTitle?: string;
  y2Title?: string;
}

const MARKERS_UP_TO = 60; // with few points, markers make single points and gaps visible

/** A line chart over a shared x axis; null (or non-finite) y values are drawn as gaps. */
export function lineFigure(opts: LineFigureOptions): PlotlyFigure {
  const n = opts.x.length;
  const data = opts.series.map((s) => {
    if (s.y.length !== n) {
      throw new Error(`lineFigure("${opts.title}"): series "${s.name}" has ${s.y.length} values but x has ${n}`);
    }
    return {
      type: 'scatter',
      mode: n <= MARKERS_UP_TO ? 'lines+markers' : 'lines',
      name: s.name,
      x: [...opts.x],
      y: s.y.map((v) => (v !== null && Number.isFinite(v) ? v : null)),
      yaxis: s.yaxis ?? 'y',
      connectgaps: false,
    };
  });
  const layout: Record<string, unknown> = {
    title: { text: opts.title, x: 0.02, xanchor: 'left' }, // left: clear of the mode bar on the right
    xaxis: { title: { text: opts.xTitle ?? '' } },
    yaxis: { title: { text: opts.yTitle ?? '' } },
    legend: { orientation: 'h', y: -0.25 },
    margin: { t: 48, r: 56, b: 72, l: 64 },
    height: 340,
  };
  if (opts.series.some((s) => s.yaxis === 'y2')) {
    layout.yaxis2 = { title: { text: opts.y2Title ?? '' }, overlaying: 'y', side: 'right' };
  }
  return { data, layout };
}

/** Version of the bundled plotly.js, so the HTML fallback loads the same one from the CDN. */
let plotlyVersion: string | undefined;
function bundledPlotlyVersion(): string {
  if (plotlyVersion === undefined) {
    try {
      const require = createRequire(import.meta.url);
      const pkgPath = require.resolve('plotly.js-dist-min/plotly.min.js').replace(/plotly\.min\.js$/, 'package.json');
      plotlyVersion = String(JSON.parse(readFileSync(pkgPath, 'utf8')).version);
    } catch {
      plotlyVersion = '3.0.1'; // any published version renders these simple figures
    }
  }
  return plotlyVersion;
}

function figureTitle(fig: PlotlyFigure): string {
  const title = (fig.layout as { title?: string | { text?: string } }).title;
  return (typeof title === 'string' ? title : title?.text) ?? 'figure';
}

/** One line per trace: name, number of points, last finite value. */
function figureSummary(fig: PlotlyFigure): string {
  const lines = fig.data.map((trace) => {
    const t = trace as { name?: string; y?: unknown[] };
    const ys = (t.y ?? []).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    const last = ys.length ? `, last ${formatNumber(ys[ys.length - 1]!)}` : '';
    return `  ${t.name ?? 'trace'}: ${ys.length} points${last}`;
  });
  return [`Plotly figure "${figureTitle(fig)}"`, ...lines].join('\n');
}

let plotCounter = 0;

/**
 * True for plotly figure JSON: a plain object whose keys are among data, layout, frames, config, with a
 * `data` array of trace objects (each with a string `type`, or x/y/z values as plotly's default scatter).
 * Strict on purpose, so an ordinary `{ data: [...] }` record is not drawn as a chart.
 */
export function isPlotlyFigure(value: unknown): value is PlotlyFigure {
  if (!isPlainObject(value)) return false;
  if (!Object.keys(value).every((k) => FIGURE_KEYS.has(k))) return false;
  const { data, layout } = value as { data?: unknown; layout?: unknown };
  if (!Array.isArray(data) || (layout !== undefined && !isPlainObject(layout))) return false;
  if (data.length === 0) return layout !== undefined;
  const isList = (v: unknown) => Array.isArray(v) || ArrayBuffer.isView(v);
  return data.every((t) => isPlainObject(t) && (typeof t['type'] === 'string' || isList(t['x']) || isList(t['y']) || isList(t['z'])));
}

const FIGURE_KEYS = new Set(['data', 'layout', 'frames', 'config']);

/**
 * Mime bundle for a figure (a user-made one may lack `layout`).
 *
 * The HTML is a div holding a static SVG preview of the figure (see plotly-svg.ts), replaced by the
 * interactive plot as soon as plotly.js is available: window.Plotly when the page has it, else plotly.js
 * of the bundled version loaded once per page from its CDN with a <script> tag, shared by every plot on the
 * page (live charts redraw each second; they must not add a script tag each time). plotly.js 3 and later
 * set window.Plotly and never call an AMD define(), so the tag also works in pages with require.js (the
 * classic Notebook). Offline, or where scripts never run, the preview stays. Inlining plotly.js instead
 * would put 4.8 MB in every output and every live update.
 */
export function plotlyBundle(fig: PlotlyFigure): MimeBundle {
  const figure: PlotlyFigure = { ...fig, data: fig.data, layout: fig.layout ?? {} };
  const id = `orz-plot-${Date.now().toString(36)}-${(plotCounter++).toString(36)}`;
  const note = `Plot "${figureTitle(figure)}" needs JavaScript and plotly.js; its data is in the application/vnd.plotly.v1+json output.`;
  const src = `https://cdn.plot.ly/plotly-${bundledPlotlyVersion()}.min.js`;
  const preview = figureSvg(figure) ?? escapeHtml(note);
  const html = `<div id="${id}" class="orz-plot" style="min-height:60px">${preview}</div>
<script type="text/javascript">
(function () {
  var fig = ${jsonForScript(figure)};
  var el = document.getElementById(${jsonForScript(id)});
  if (!el) return;
  function draw(Plotly) { el.textContent = ''; Plotly.newPlot(el, fig.data, fig.layout, Object.assign({ responsive: true, displaylogo: false }, fig.config)); }
  if (window.Plotly) { draw(window.Plotly); return; }
  if (!window.__orzPlotlyLoad) {
    window.__orzPlotlyLoad = new Promise(function (resolve, reject) {
      var s = document.createElement('script');
      s.src = ${jsonForScript(src)};
      s.onload = function () { if (window.Plotly) resolve(window.Plotly); else reject(new Error('plotly.js did not define window.Plotly')); };
      s.onerror = function () { reject(new Error('plotly.js did not load')); };
      document.head.appendChild(s);
    });
  }
  window.__orzPlotlyLoad.then(draw, function () { /* keep the static preview */ });
})();
</script>`;
  return {
    'application/vnd.plotly.v1+json': figure,
    'text/html': html,
    'text/plain': figureSummary(figure),
  };
}
