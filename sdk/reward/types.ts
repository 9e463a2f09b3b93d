// The shapes a reward function sees and returns.

export type FinishReason = 'stop' | 'length';

/** One scored sample: the record's own fields ride along (e.g. `level`, `source`). */
export interface Sample {
  prompt: string;
  response: string;
  groundTruth: string;
  finishReason: FinishReason;
  [field: string]: unknown;
}

/** A user reward: per-sample (sync or async) or a batch function. */
export type RewardFn =
  | ((sample: Sample) => number | Promise<number>)
  | { name?: string; batch: (samples: Sample[]) => number[] | Promise<number[]> };
