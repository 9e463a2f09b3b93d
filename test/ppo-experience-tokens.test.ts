// experienceTokens: an iteration's experience token by token (critic value, advantage, return), from a real
// rollout of the bundled base model; the Arrow table and the display hold exactly the experience's numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { readRunConfig, trainerFromRunConfig } from '../sdk/run/run-config.ts';
import { experienceTokens } from '../sdk/ppo/experience-table.ts';
import { JUPYTER_DISPLAY } from '../sdk/viz/index.ts';

const MINI = fileURLToPath(new URL('../data/mini/', import.meta.url));

async function experience(advantageEstimator: 'gae' | 'grpo') {
  const rc = await readRunConfig(join(MINI, 'train-config.json'));
  rc.trainer = { ...rc.trainer, promptsPerIteration: 2, samplesPerPrompt: 3, generation: { maxNewTokens: 12 }, advantageEstimator };
  rc.evalData = undefined;
  const trainer = await trainerFromRunConfig(rc);
  return { trainer, exp: trainer.makeExperience(await trainer.score(await trainer.generate())) };
}

test('experienceTokens: one row per response token with its value, advantage and return; coloured strips', async () => {
  const { trainer, exp } = await experience('gae');
  const samples = [4, 1];
  const tokens = experienceTokens(exp, trainer.tokenizer, { samples });
  assert.equal(tokens.table.numRows, exp.lengths[4]! + exp.lengths[1]!);
  const col = (name: string) => Array.from(tokens.table.getChild(name)!.toArray() as Float64Array);
  const want = (column: Float32Array) => samples.flatMap((i) => Array.from(column.subarray(i * exp.R, i * exp.R + exp.lengths[i]!)));
  assert.deepEqual(col('advantage'), want(exp.advantages));
  assert.deepEqual(col('value'), want(exp.values!));
  assert.deepEqual(col('return'), want(exp.returns!));
  assert.deepEqual(col('sample'), samples.flatMap((i) => Array(exp.lengths[i]!).fill(i)));
  // the tokens decode back to the responses
  const text = (i: number) => tokens.table.toArray().filter((r) => r['sample'] === i).map((r) => r['token']).join('');
  assert.equal(text(4), trainer.tokenizer.decode(Array.from(exp.responseIds.subarray(4 * exp.R, 4 * exp.R + exp.lengths[4]!))));
  const bundle = tokens[JUPYTER_DISPLAY]();
  assert.equal((String(bundle['text/html']).match(/<span style="background:/g) ?? []).length, tokens.table.numRows);
  assert.match(String(bundle['text/html']), /title="A=-?\d\.\d{3} V=-?\d\.\d{3}"/);
  assert.ok(bundle['application/vnd.dataresource+json']);
  assert.throws(() => experienceTokens(exp, trainer.tokenizer, { samples: [6] }), /sample 6 is not in the experience \(0\.\.5\)/);
});

test('experienceTokens without a critic (GRPO): values and returns are missing, advantages are there', async () => {
  const { trainer, exp } = await experience('grpo');
  const tokens = experienceTokens(exp, trainer.tokenizer);
  assert.ok(Array.from(tokens.table.getChild('value')!.toArray() as Float64Array).every(Number.isNaN));
  assert.ok(Array.from(tokens.table.getChild('advantage')!.toArray() as Float64Array).every(Number.isFinite));
});
