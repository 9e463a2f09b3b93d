// Display helpers as plain mime bundles, so the SDK renders the same in any notebook front end
// (this project's kernel, tslab, VS Code) and in a static report.html.
export { escapeHtml, JUPYTER_DISPLAY, type MimeBundle } from './html.ts';
export { formatValue, tableBundle, textTable, type TableBundleOptions, type TextTableOptions } from './table.ts';
export { lineFigure, plotlyBundle, type LineFigureOptions, type LineSeries, type PlotlyFigure } from './plotly.ts';
export { formatDuration, progressLine, type ProgressOptions } from './progress.ts';
export { renderReport, type ReportOptions } from './report.ts';
