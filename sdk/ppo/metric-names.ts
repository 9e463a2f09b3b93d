// The names of the metrics columns that code reads or writes by name (the run loop's lines and eval row, the
// live chart, the report, rollout statistics), so that a misspelt name is a compile error rather than a
// chart line that silently stays empty. Rows are still open records: the optimizer statistics are named
// `policy/<stat>` and `critic/<stat>` by the update.
export const METRIC = {
  iteration: 'iteration',
  rewardMean: 'reward/mean',
  rewardStd: 'reward/std',
  responseLengthMean: 'response_length/mean',
  responseLengthStd: 'response_length/std',
  responseLengthMax: 'response_length/max',
  responseLengthCorrect: 'response_length/correct',
  responseLengthIncorrect: 'response_length/incorrect',
  truncatedFraction: 'truncated_fraction',
  passAtN: 'pass@n',
  evalAccuracy: 'eval/accuracy',
  evalResponseLength: 'eval/response_length',
  evalTruncatedFraction: 'eval/truncated_fraction',
  /** Followed by the level: `eval/accuracy/level3`. */
  evalAccuracyLevelPrefix: 'eval/accuracy/level',
  evalTime: 'time/eval',
  policyClipFraction: 'policy/clip_fraction',
  policyEntropy: 'policy/entropy',
  policySkippedSteps: 'policy/skipped_steps',
  criticLoss: 'critic/loss',
  criticSkippedSteps: 'critic/skipped_steps',
  genTokensPerSec: 'throughput/gen_tokens_per_s',
  iterationTime: 'time/iteration',
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];
