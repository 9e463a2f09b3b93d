// Reward samples from the 500 MATH500 answers of ../shared/data/orz-eval (ORZ's eval set): per problem one
// correct response and one perturbed one, so the math checker does real work both ways. Shared by the reward-pool
// test and bench.

import { readFileSync } from 'node:fs';
import type { Sample } from '../../sdk/reward/index.ts';

import { fileURLToPath } from 'node:url';

/** ../shared beside the repository (where CI and developers have it). */
export const MATH500_PATH = fileURLToPath(new URL('../../../shared/data/orz-eval/math500.json', import.meta.url));

interface Math500Record { prompt: Array<{ from: string; value: string }>; final_answer: string }

/** A wrong answer that still looks like one: a digit changed, else another problem's answer, else a suffix. */
function perturb(answer: string, other: string): string {
  const digit = /\d/.exec(answer);
  if (digit) return answer.slice(0, digit.index) + String((Number(digit[0]) + 1) % 10) + answer.slice(digit.index + 1);
  return other !== answer ? other : `${answer}+1`;
}

export function math500Samples(path = MATH500_PATH): Sample[] {
  const records = JSON.parse(readFileSync(path, 'utf8')) as Math500Record[];
  const out: Sample[] = [];
  records.forEach((r, i) => {
    const prompt = r.prompt.map((m) => m.value).join('\n');
    const answer = r.final_answer;
    const other = records[(i + 1) % records.length]!.final_answer;
    const base = { prompt, groundTruth: answer, problem: i };
    out.push({ ...base, response: `Let me think. <answer> The answer is \\boxed{${answer}}. </answer>`, finishReason: 'stop' });
    // Every seventh perturbed response is cut off by the length limit (scored 0 whatever it says).
    out.push({ ...base, response: `Hmm. <answer> \\boxed{${perturb(answer, other)}} </answer>`, finishReason: i % 7 === 0 ? 'length' : 'stop' });
  });
  return out;
}
