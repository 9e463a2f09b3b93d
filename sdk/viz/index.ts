// Display helpers as plain mime bundles, so the SDK renders the same in any notebook front end
// (this project's kernel, tslab, VS Code) and in a static report.html.
export { escapeHtml, JUPYTER_DISPLAY, type MimeBundle } from './html.ts';
export { formatValue, tableBundle, textTable, type TableBundleOptions, type TextTableOptions } from './table.ts';
export { isPlainObject, recordColumns, recordsBundle } from './records.ts';
export { isPlotlyFigure, lineFigure, plotlyBundle, type LineFigureOptions, type LineSeries, type PlotlyFigure } from './plotly.ts';
export { figureSvg } from './plotly-svg.ts';
export { isTensorLike, numericStats, tensorBundle, tensorValuesText, type TensorLike, type TensorStats } from './tensor.ts';
export { formatDuration, progressLine, type ProgressOptions } from './progress.ts';
export { ProgressBar, type ProgressBarOptions } from './progress-bar.ts';
export { LiveDisplay, type DisplayFn, type LiveDisplayOptions } from './live-display.ts';
