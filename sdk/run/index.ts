// The run layer: what turns a Trainer into a run. The one loop (loop.ts) that `orz train`, trainer.run() and
// the session all use, the run directory (run-dir.ts, recorder.ts, resume.ts), training checkpoints
// (checkpoint.ts, checkpoint-policy.ts), run configs (run-config.ts), and what a run shows: the report,
// the live chart and the notebook display.
export { runTrainer, evalRow, metricsLine, resumeFrom, latestCheckpoint, type RunOptions } from './loop.ts';
export { readRunConfig, trainerFromRunConfig, checkRunConfig, type RunConfig } from './run-config.ts';
export type { ResumeOptions } from './resume.ts';
export { configInForce, readConfigChanges, type ConfigChangeRecord } from './config-changes.ts';
export { saveCheckpoint, loadCheckpoint, completeCheckpoints, readCheckpointMeta, type CheckpointMeta } from './checkpoint.ts';
export { CheckpointPolicy, pruneCheckpoints } from './checkpoint-policy.ts';
export { describeRunDir, holdsRun, inspectRunDir, type RunDirContents } from './run-dir.ts';
export { renderReport, type ReportOptions } from './report.ts';
export { trainingChart } from './training-chart.ts';
export { RunDisplay, type RunDisplayOptions } from './run-display.ts';
