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

/** A batch reward: one call for all samples of a scoring round. */
export interface BatchRewardFn {
  name?: string;
  batch: (samples: Sample[]) => number[] | Promise<number[]>;
}

/**
 * A reward exported by a module, imported by the reward workers themselves (see rewardModule()). The export is a
 * per-sample function or a batch object, like any other RewardFn.
 */
export interface RewardModule {
  /** file: URL of the module. */
  module: string;
  /** Export name; default "default". */
  export?: string;
  name?: string;
}

/** A user reward: per-sample (sync or async), a batch function, or a module the reward workers import. */
export type RewardFn =
  | ((sample: Sample) => number | Promise<number>)
  | BatchRewardFn
  | RewardModule;
