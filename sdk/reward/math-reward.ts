// ORZ's reward: binary, on the final answer only, and zero for responses cut off by the length limit.

import { mathAnswerEqual } from './equal.ts';
import { extractAnswer } from './extract.ts';
import type { Sample } from './types.ts';

/** 1 iff the response finished normally and its last boxed answer inside <answer> equals the ground truth. */
export function mathReward(sample: Sample): number {
  if (typeof sample.groundTruth !== 'string') {
    throw new TypeError(`mathReward: groundTruth must be a string, got ${typeof sample.groundTruth}`);
  }
  if (sample.finishReason !== 'stop') return 0;
  const answer = extractAnswer(sample.response);
  return answer !== null && mathAnswerEqual(answer, sample.groundTruth) ? 1 : 0;
}
