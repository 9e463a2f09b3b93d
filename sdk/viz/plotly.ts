// Plotly figure JSON and its mime bundle. The figure is plain data; front ends with a plotly renderer
// use application/vnd.plotly.v1+json, the others get an HTML fallback that draws with window.Plotly.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { escapeHtml, jsonForScript, type MimeBundle } from './html.ts';
import { formatNumber } from './table.ts';

export interface PlotlyFigure {
  data: object[];
  layout: object;
}

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
 * Mime bundle for a figure. The HTML draws with window.Plotly when the page has it, else tries to load
 * plotly.js with a <script> tag; where neither works (offline, scripts disabled) the div keeps a note.
 */
export function plotlyBundle(fig: PlotlyFigure): MimeBundle {
  const id = `orz-plot-${Date.now().toString(36)}-${(plotCounter++).toString(36)}`;
  const note = `Plot "${figureTitle(fig)}" needs JavaScript and plotly.js; its data is in the application/vnd.plotly.v1+json output.`;
  const src = `https://cdn.plot.ly/plotly-${bundledPlotlyVersion()}.min.js`;
  const html = `<div id="${id}" class="orz-plot" style="min-height:60px">${escapeHtml(note)}</div>
<script type="text/javascript">
(function () {
  var fig = ${jsonForScript(fig)};
  var el = document.getElementById(${jsonForScript(id)});
  function draw() { el.textContent = ''; window.Plotly.newPlot(el, fig.data, fig.layout, { responsive: true, displaylogo: false }); }
  function fail() { el.textContent = ${jsonForScript(note)}; }
  if (!el) return;
  if (window.Plotly) { draw(); return; }
  var s = document.createElement('script');
  s.src = ${jsonForScript(src)};
  s.onload = function () { if (window.Plotly) draw(); else fail(); };
  s.onerror = fail;
  document.head.appendChild(s);
})();
</script>`;
  return {
    'application/vnd.plotly.v1+json': fig,
    'text/html': html,
    'text/plain': figureSummary(fig),
  };
}
