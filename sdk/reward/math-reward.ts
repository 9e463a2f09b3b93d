// The math reward: binary, on the final answer only, and zero for responses cut off by the length
// limit. Two variants, both plain (sample) => number functions so that a trainer or a worker pool
// can import them by name:
//   mathReward       ORZ's verdicts (its extraction and its equality, quirks included), so that
//                    ORZ's training curves can be reproduced; the default everywhere.
//   mathRewardFixed  ORZ's quirks fixed: `\boxed {x}` is found, permuted solution lists, `\pm`
//                    lists, mixed numbers, equal expressions in any form and equivalent equations
//                    count as correct.
// The deliberate differences of mathReward from ORZ are listed in README.md ("Reward and ORZ").

import { mathAnswerEqual } from './equal.ts';
import { extractAnswer, extractAnswerOrz } from './extract.ts';
import { orzAnswerEqual } from './orz-equal.ts';
import { orzUnbox } from './orz-strings.ts';
import type { Sample } from './types.ts';

function checkedTruth(sample: Sample, name: string): string {
  if (typeof sample.groundTruth !== 'string') {
    throw new TypeError(`${name}: groundTruth must be a string, got ${typeof sample.groundTruth}`);
  }
  return sample.groundTruth;
}

/** ORZ's reward: 1 iff the response stopped normally and its last boxed answer inside <answer>, as ORZ's checker reads it, equals the ground truth. */
export function mathReward(sample: Sample): number {
  const truth = checkedTruth(sample, 'mathReward');
  if (sample.finishReason !== 'stop') return 0;
  // ORZ takes the reference through the same unboxing as the prediction.
  return orzAnswerEqual(orzUnbox(truth), extractAnswerOrz(sample.response)) ? 1 : 0;
}

/** mathReward with ORZ's quirks fixed (see the top of this file). */
export function mathRewardFixed(sample: Sample): number {
  const truth = checkedTruth(sample, 'mathRewardFixed');
  if (sample.finishReason !== 'stop') return 0;
  const answer = extractAnswer(sample.response);
  return answer !== null && mathAnswerEqual(answer, truth) ? 1 : 0;
}

/** 'orz': ORZ's verdicts (mathReward); 'fixed': its quirks fixed (mathRewardFixed). */
export type RewardQuirks = 'orz' | 'fixed';

/** The math reward for a choice of quirks, for configuration that names it by a string. */
export function mathRewardWith(opts: { quirks: RewardQuirks }): (sample: Sample) => number {
  switch (opts.quirks) {
    case 'orz': return mathReward;
    case 'fixed': return mathRewardFixed;
    default: throw new RangeError(`mathRewardWith: quirks must be 'orz' or 'fixed', got ${String(opts.quirks)}`);
  }
}
