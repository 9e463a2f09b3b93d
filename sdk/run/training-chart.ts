// The live chart of a training run (Trainer.run in a notebook): mean train reward and eval accuracy on the
// left axis, mean response length in tokens on the right, over iterations. The two curves ORZ watches grow.
import type { MetricsRow } from '../ppo/metrics-log.ts';
import { METRIC, type MetricName } from '../ppo/metric-names.ts';
import { lineFigure, type PlotlyFigure } from '../viz/plotly.ts';

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * One point per training iteration (rows with a numeric iteration >= 1; missing metrics are gaps) and,
 * when any row has eval/accuracy, an eval trace over just the rows that have it (eval runs every few
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
  const evalRows = rows.filter((row) => finite(row[METRIC.iteration]) && finite(row[METRIC.evalAccuracy]));
  if (evalRows.length > 0) {
    const evalFig = lineFigure({
      title,
      x: evalRows.map((row) => row[METRIC.iteration] as number),
      series: [{ name: 'eval accuracy', y: evalRows.map((row) => row[METRIC.evalAccuracy] as number) }],
    });
    fig.data.push(...evalFig.data);
  }
  return fig;
}
