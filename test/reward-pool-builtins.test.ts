// Built-in rewards go to the workers by module path (their source alone would lack its imports): both ORZ's
// verdicts (mathReward) and the fixed variant give the same numbers in the pool as on the main thread.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { closeRewardPools, mathReward, mathRewardFixed, mathRewardWith, scoreSamples } from '../sdk/reward/index.ts';
import { math500Samples } from './support/math500-samples.ts';

after(() => closeRewardPools());

test('mathRewardFixed and mathRewardWith scored in the pool equal in-process scoring on MATH500 samples', async () => {
  const samples = math500Samples().slice(0, 200);
  const spaced = samples.map((s) => ({ ...s, response: s.response.replace('\\boxed{', '\\boxed {') }));
  for (const fn of [mathReward, mathRewardFixed, mathRewardWith({ quirks: 'fixed' })]) {
    for (const batch of [samples, spaced]) {
      const inThread = batch.map((s) => fn(s));
      assert.deepEqual(await scoreSamples(fn, batch), inThread, fn.name);
    }
  }
  // the two differ where ORZ's quirk does (\boxed {x} finds nothing for ORZ), so the comparison above has teeth
  const orz = spaced.map((s) => mathReward(s)).reduce((a, b) => a + b, 0);
  const fixed = spaced.map((s) => mathRewardFixed(s)).reduce((a, b) => a + b, 0);
  assert.ok(fixed > orz, `fixed ${fixed} vs orz ${orz}`);
});
