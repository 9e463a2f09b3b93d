// The remote Trainer API comes from one allow-list (sdk/session/trainer-api.ts): every entry is an operation
// of the fixed table with the entry's argument checks, and a method of RemoteTrainer; names that are not
// Trainer members, and results that differ from the in-process ones, do not compile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArgumentError, parseArgs } from '../sdk/session/args.ts';
import { OPERATIONS } from '../sdk/session/operations.ts';
import { RemoteTrainer, type HandleHost } from '../sdk/session/remote-handles.ts';
import { TRAINER_API, type TrainerApiTable, type TrainerCalls } from '../sdk/session/trainer-api.ts';
import type { RolloutBatch } from '../sdk/rollout/rollout-batch.ts';
import type { EvalResult } from '../sdk/ppo/trainer.ts';

const noCall = { queued: false, args: {}, request: () => ({ args: {} }) };
// @ts-expect-error a name that is neither a Trainer member nor a session addition is refused
const misnamed = { scoreBatch: noCall } satisfies TrainerApiTable;
// @ts-expect-error a remote call resolves to the in-process result type (score gives a RolloutBatch)
const wrongResult: (b: RolloutBatch) => Promise<number[]> = null as unknown as TrainerCalls['score'];
const evalResult: () => Promise<EvalResult> = null as unknown as TrainerCalls['evaluate'];

test('every allow-list entry is a trainer operation with its checks, and a RemoteTrainer method that sends what they accept', async () => {
  void misnamed; void wrongResult; void evalResult;
  const trainerOps = Object.keys(OPERATIONS).filter((op) => op.startsWith('trainer.')).sort();
  assert.deepEqual(trainerOps, Object.keys(TRAINER_API).map((n) => `trainer.${n}`).sort());
  for (const [name, api] of Object.entries(TRAINER_API)) {
    const op = OPERATIONS[`trainer.${name}`]!;
    assert.equal(op.kind, 'trainer');
    assert.equal(op.queued, api.queued, name);
    assert.equal(op.spec, api.args, name);
  }
  assert.throws(() => parseArgs('trainer.run', { iterations: -1 }, OPERATIONS['trainer.run']!.spec), (e: unknown) =>
    e instanceof ArgumentError && /trainer\.run: argument "iterations" must be an integer >= 0/.test(e.message));

  const calls: { op: string; handle: string | null; args: object }[] = [];
  const host: HandleHost = { call: async (op, handle, args) => { calls.push({ op, handle, args }); return null; }, setReward: () => {} };
  const t = new RemoteTrainer(host, 'trainer-1', 'mini', 'math');
  await t.run({ iterations: 3, log: null });
  await t.update({ id: 'exp-7' } as Parameters<RemoteTrainer['update']>[0]);
  await t.evaluate({ limit: 2 });
  await t.generate(['1+1=']);
  assert.deepEqual(calls, [
    { op: 'trainer.run', handle: 'trainer-1', args: { iterations: 3 } },
    { op: 'trainer.update', handle: 'trainer-1', args: { experience: 'exp-7' } },
    { op: 'trainer.evaluate', handle: 'trainer-1', args: { limit: 2 } },
    { op: 'trainer.generate', handle: 'trainer-1', args: { prompts: ['1+1='] } },
  ]);
  for (const c of calls) parseArgs(c.op, c.args, OPERATIONS[c.op]!.spec); // what the client sends passes the checks
  assert.throws(() => t.run({ iterations: 1, runDir: 'x' } as Parameters<RemoteTrainer['run']>[0]), /runDir is not an option here/);
  assert.equal(RemoteTrainer.prototype.score.name, 'score');
});
