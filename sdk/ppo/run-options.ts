// What Trainer.run() takes. The loop itself is the run layer's (sdk/run/loop.ts, loaded when run() is
// called); the options live here so that the trainer's signature names no module above it.

import type { MetricsRow } from './metrics-log.ts';

export interface RunOptions {
  /** Total iterations to reach (a resumed run continues up to this number). */
  iterations: number;
  /** Where to write metrics, rollouts, checkpoints and the report; nothing is written without it. */
  runDir?: string;
  /** Stops the run at the next iteration boundary (default: the notebook cell's interrupt, when in a kernel). */
  signal?: AbortSignal;
  /**
   * A request to stop (`orz train`'s first Ctrl-C): unlike `signal`, nothing in flight is aborted. The iteration
   * in progress (or the base-model evaluation) finishes with its evaluation and is recorded; the run then ends as
   * at its last iteration, with a checkpoint and the report.
   */
  stop?: AbortSignal;
  /** Called with each iteration's metrics row. */
  onIteration?: (row: MetricsRow) => void;
  /**
   * Where progress lines go (default: stderr, or in a notebook kernel with display support a progress bar
   * and a live chart redrawn at most once a second; pass null for silence).
   */
  log?: ((line: string) => void) | null;
  /** Extra run-level config written to config.json and the report (absolute paths shown relative to runDir). */
  runConfig?: object;
  /**
   * Replace what `runDir` holds. Without it, a runDir that holds another run (metrics rows, checkpoints or
   * rollouts not written by this trainer, nor resumed with resumeFrom) makes run() throw before writing
   * anything. With it, that run's files (metrics, rollouts, checkpoints, report, config) are removed first.
   */
  overwrite?: boolean;
}
