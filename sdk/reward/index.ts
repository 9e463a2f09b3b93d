// Rewards: the ORZ math reward (answer extraction + math equivalence) and running any RewardFn.

export type { FinishReason, Sample, RewardFn } from './types.ts';
export { RewardError, scoreSamples, type ScoreOptions } from './score.ts';
export { lastBoxed, extractAnswer } from './extract.ts';
export { normalizeAnswer } from './normalize.ts';
export { mathAnswerEqual } from './equal.ts';
export { mathReward } from './math-reward.ts';
export type { BatchRewardFn, RewardModule } from './types.ts';
export { rewardModule, inProcessReward } from './pool/reward-spec.ts';
export { RewardPool } from './pool/reward-pool.ts';
export { closeRewardPools, defaultRewardWorkers } from './pool/shared.ts';
export { extractAnswerOrz } from './extract.ts';
export { orzAnswerEqual } from './orz-equal.ts';
export { mathRewardFixed, mathRewardWith, type RewardQuirks } from './math-reward.ts';
export { choiceReward, chosenLetters, normalizeChoiceText, type Choices } from './choice-reward.ts';
