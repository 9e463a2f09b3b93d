// The live chart of a training run (Trainer.run in a notebook): mean train reward and eval accuracy on the
// left axis, mean response length in tokens on the right, over iterations. The two curves ORZ watches grow.
import type { MetricsRow } from '../ppo/metrics-log.ts';
import { METRIC, type MetricName } from '../ppo/metric-names.ts';
import { lineFigure, type PlotlyFigure } from '../viz/plotly.ts';

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * One point per training iteration (rows with a numeric iteration >= 1; missing metrics are gaps) and,
 * when rows have eval/accuracy or eval sets' eval/<name>/mean@n, an eval trace each over just the rows that have it (eval runs every few
 * iterations, and the base model's eval is iteration 0), so its line joins real points.
 */
export function trainingChart(rows: readonly MetricsRow[], title = 'Training'): PlotlyFigure {
  const value = (row: MetricsRow, key: MetricName): number | null => { const v = row[key]; return finite(v) ? v : null; };
  const train = rows.filter((row) => (value(row, METRIC.iteration) ?? 0) >= 1);
  const fig = lineFigure({
    title,
    x: train.map((row) => row[METRIC.iteration] as number),
    series: [
      { name: 'reward (mean)', y: train.map((row) => value(row, METRIC.rewardMean)) },
      { name: 'response length (mean)', y: train.map((row) => value(row, METRIC.responseLengthMean)), yaxis: 'y2' },
    ],
    xTitle: 'iteration',
    yTitle: 'reward / accuracy',
    y2Title: 'tokens',
  });
  const evalKeys = evalAccuracyColumns(rows);
  const evalRows = rows.filter((row) => finite(row[METRIC.iteration]) && evalKeys.some((k) => finite(row[k])));
  if (evalRows.length > 0) {
    const evalFig = lineFigure({
      title,
      x: evalRows.map((row) => row[METRIC.iteration] as number),
      series: evalKeys.map((k) => ({ name: evalSeriesName(k), y: evalRows.map((row) => (finite(row[k]) ? row[k] as number : null)) })),
    });
    fig.data.push(...evalFig.data);
  }
  return fig;
}

const EVAL_SET_MEAN = /^eval\/([^/]+)\/(mean@\d+)$/;

/** The accuracy columns that hold a number in some row: eval/accuracy (the eval dataset), then each eval set's eval/<name>/mean@n. */
export function evalAccuracyColumns(rows: readonly MetricsRow[]): string[] {
  const keys = new Set<string>();
  for (const row of rows) {
    for (const [k, v] of Object.entries(row)) if (finite(v) && (k === METRIC.evalAccuracy || EVAL_SET_MEAN.test(k))) keys.add(k);
  }
  return [...keys].sort((a, b) => (a === METRIC.evalAccuracy ? -1 : b === METRIC.evalAccuracy ? 1 : 0));
}

/** "eval accuracy", or "math500 mean@16" for an eval set's column. */
export function evalSeriesName(key: string): string {
  const m = EVAL_SET_MEAN.exec(key);
  return m ? `${m[1]} ${m[2]}` : 'eval accuracy';
}
