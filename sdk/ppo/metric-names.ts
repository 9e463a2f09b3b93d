// The names of the metrics columns that code reads or writes by name (the run loop's lines and eval row, the
// live chart, the report, rollout statistics), so that a misspelt name is a compile error rather than a
// chart line that silently stays empty. The update's statistics are named `policy/<stat>` and
// `critic/<stat>` with a stat from UPDATE_STAT.

/** What one optimizer epoch reports, logged as `policy/<stat>` and `critic/<stat>`. */
export const UPDATE_STAT = {
  loss: 'loss',
  clipFraction: 'clip_fraction',
  approxKL: 'approx_kl',
  entropy: 'entropy',
  klLoss: 'kl_loss',
  gradNorm: 'grad_norm',
  lr: 'lr',
  steps: 'steps',
  skippedSteps: 'skipped_steps',
} as const;

export type UpdateStat = (typeof UPDATE_STAT)[keyof typeof UPDATE_STAT];

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
  /** Prompts of the iteration with no room for a response under the context (only in rows that had some). */
  skippedPrompts: 'skipped_prompts',
  passAtN: 'pass@n',
  evalAccuracy: 'eval/accuracy',
  evalResponseLength: 'eval/response_length',
  evalTruncatedFraction: 'eval/truncated_fraction',
  /** Followed by the level: `eval/accuracy/level3`. */
  evalAccuracyLevelPrefix: 'eval/accuracy/level',
  evalTime: 'time/eval',
  generateTime: 'time/generate',
  scoreTime: 'time/score',
  advantagesTime: 'time/advantages',
  updateCriticTime: 'time/update_critic',
  updatePolicyTime: 'time/update_policy',
  trainTokensPerSec: 'throughput/train_tokens_per_s',
  policyClipFraction: 'policy/clip_fraction',
  policyEntropy: 'policy/entropy',
  policySkippedSteps: 'policy/skipped_steps',
  klMean: 'kl/mean',
  criticExplainedVariance: 'critic/explained_variance',
  criticValueMean: 'critic/value_mean',
  criticLoss: 'critic/loss',
  criticSkippedSteps: 'critic/skipped_steps',
  genTokensPerSec: 'throughput/gen_tokens_per_s',
  iterationTime: 'time/iteration',
  /** asyncRollouts only: the weights version (iterations completed) the iteration's rollouts were sampled with. */
  rolloutWeightVersion: 'rollout/weight_version',
  /** asyncRollouts only: updates between those weights and the ones the iteration trains (its version is i-1). */
  rolloutStaleness: 'rollout/staleness',
  /** asyncRollouts only: 1 when the rollouts were generated during the previous iteration's update (prefetched). */
  rolloutPrefetched: 'rollout/prefetched',
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC] | `policy/${UpdateStat}` | `critic/${UpdateStat}`;

/** A row whose named fields are checked against the table (the spread-in statistics are open records). */
export type NamedMetrics = { [K in MetricName]?: number | string | null };
