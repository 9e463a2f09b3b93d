// Reward functions written in a notebook cell, compiled by the kernel's own cell compiler (loop checks, live
// checks, import helpers) and shipped to the reward workers as the source V8 hands back for them.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import inspector from 'node:inspector';
import { fileURLToPath } from 'node:url';
import { compileCell } from '../kernel/ts/compile.ts';
import { INTERRUPT_CHECK_EXPRESSION } from '../kernel/exec/interrupt.ts';
import { LIVE_CHECK_FUNCTION } from '../kernel/exec/cell-context.ts';
import { closeRewardPools, mathReward, RewardError, scoreSamples, type Sample } from '../sdk/reward/index.ts';

after(closeRewardPools);

const REPO = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
// The checks the compiled cell calls on this thread; in the kernel they interrupt, here they only let it run.
for (const name of [INTERRUPT_CHECK_EXPRESSION.replace(/\(\)$/, ''), LIVE_CHECK_FUNCTION]) {
  Object.defineProperty(globalThis, name, { value: <T>(v?: T) => v, configurable: true, enumerable: false });
}

const session = new inspector.Session();
session.connect();
after(() => session.disconnect());

/** Runs a cell as the kernel does (V8 REPL mode) and returns its completion value. */
async function runCell(source: string): Promise<unknown> {
  const cell = compileCell(source, { baseDir: REPO, interruptCheck: INTERRUPT_CHECK_EXPRESSION, liveCheck: LIVE_CHECK_FUNCTION });
  const reply = await new Promise<inspector.Runtime.EvaluateReturnType>((resolve, reject) => {
    session.post('Runtime.evaluate', { expression: cell.js, replMode: true, awaitPromise: true, returnByValue: false }, (err, r) => (err ? reject(err) : resolve(r as inspector.Runtime.EvaluateReturnType)));
  });
  if (reply.exceptionDetails) assert.fail(`cell failed: ${reply.exceptionDetails.exception?.description ?? reply.exceptionDetails.text}`);
  return (globalThis as Record<string, unknown>)['cellResult'];
}

const samples: Sample[] = [0, 1, 2, 3].map((i) => ({
  prompt: `q${i}`, response: `<answer> \\boxed{${i}} </answer>`, groundTruth: String(i % 2 === 0 ? i : i + 1), finishReason: 'stop' as const,
}));

test('a reward written in a cell, with loops, awaits and an import inside it, runs in the workers', async () => {
  const reward = await runCell([
    'const cellReward = async (s: { response: string; groundTruth: string; finishReason: "stop" | "length" }): Promise<number> => {',
    '  const { mathReward } = await import("./sdk/reward/index.ts");',
    '  let braces = 0;',
    '  for (const ch of s.response) if (ch === "{") braces++;',
    '  await new Promise((r) => setTimeout(r, 1));',
    '  return mathReward(s as never) + braces * 10;',
    '};',
    '(globalThis as Record<string, unknown>).cellResult = cellReward;',
  ].join('\n')) as (s: Sample) => Promise<number>;
  const source = String(reward);
  assert.ok(source.includes(LIVE_CHECK_FUNCTION) && source.includes(INTERRUPT_CHECK_EXPRESSION), source);
  const inProcess = await scoreSamples(mathReward, samples, { rewardWorkers: 0 });
  assert.deepEqual(await scoreSamples(reward, samples), inProcess.map((r) => r + 10));
});

test('a cell reward using an import of the cell gets the clear error naming it', async () => {
  const reward = await runCell([
    'import { mathAnswerEqual } from "./sdk/reward/index.ts";',
    'const usesImport = (s: { response: string; groundTruth: string }): number => (mathAnswerEqual(s.response, s.groundTruth) ? 1 : 0);',
    '(globalThis as Record<string, unknown>).cellResult = usesImport;',
  ].join('\n')) as (s: Sample) => number;
  await assert.rejects(scoreSamples(reward, samples), (e: unknown) => {
    assert.ok(e instanceof RewardError);
    assert.match(e.message, /usesImport failed: it uses `mathAnswerEqual` from its enclosing scope/);
    return true;
  });
});
