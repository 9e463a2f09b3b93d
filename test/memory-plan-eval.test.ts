// The pre-flight's evaluate phase (the eval set decoded with its own rows and maxNewTokens), the note on
// backends other than the one the formulas were fitted on, and `orz train`'s inputs read once (the
// pre-flight's tokenizer and datasets go on to the trainer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { resolveTrainerConfig, type TrainerConfigInput } from '../sdk/ppo/config.ts';
import type { ModelConfig } from '../sdk/model/index.ts';
import { kvPeakSlots, memoryPlan } from '../sdk/run/memory-plan.ts';
import { preflight } from '../sdk/run/preflight.ts';
import { preflightRun } from '../sdk/run/preflight-run.ts';
import { readRunConfig, trainerFromRunConfig } from '../sdk/run/run-config.ts';
import { selectBackend } from '../sdk/engine/backend.ts';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { recordPrompt, resolveBenchmarkTemplate } from '../sdk/eval/benchmark.ts';
import { evalSetsOf } from '../sdk/run/eval-sets.ts';

// the tiny model of memory-plan.test.ts: 1 layer, 1 KV head of head_dim 2, hidden 4
const TINY: ModelConfig = {
  model_type: 'orz', vocab_size: 10, hidden_size: 4, intermediate_size: 8, num_hidden_layers: 1,
  num_attention_heads: 2, num_key_value_heads: 1, head_dim: 2, max_position_embeddings: 4096, tie_word_embeddings: true, hidden_act: 'silu',
};
// training: 4 rows of 3 + 5 tokens; evaluation: 40 greedy samples of up to 2000 new tokens
const TRAINER: TrainerConfigInput = {
  promptsPerIteration: 2, samplesPerPrompt: 2, generation: { maxNewTokens: 5 }, evalEvery: 5,
  evalGeneration: { temperature: 0, maxNewTokens: 2000, n: 1 }, kl: { log: false, coef: 0 },
};
const plan = (trainer: TrainerConfigInput, evaluation?: { samples: number; promptTokens: number }) => memoryPlan({
  model: TINY, trainer: resolveTrainerConfig(trainer), backend: 'onnxruntime', promptTokens: 3, baselineBytes: 1000, poolBytes: 0,
  ...(evaluation ? { evaluation } : {}),
});

test('evaluation with a long maxNewTokens is the peak: its KV cache at the eval rows and lengths', () => {
  const p = plan(TRAINER, { samples: 40, promptTokens: 7 });
  assert.equal(p.peakPhase, 'evaluate');
  const kv = p.terms.find((t) => t.name === 'eval KV cache')!;
  // 40 rows x slots x 1 layer x (K and V) x 1 KV head x head_dim 2 x 4 B
  assert.equal(kv.bytes, 40 * kvPeakSlots(7, 1999) * 2 * 2 * 4);
  assert.ok(p.terms.some((t) => t.name === 'training layer kernel scratch'), 'training scratch is still kept when evaluation runs');
  // the eval rows are capped by the generation chunk, as the engine decodes them
  const capped = memoryPlan({ model: TINY, trainer: resolveTrainerConfig(TRAINER), backend: 'onnxruntime', promptTokens: 3, baselineBytes: 1000, poolBytes: 0, generationRows: 8, evaluation: { samples: 40, promptTokens: 7 } });
  assert.equal(capped.allTerms.find((t) => t.name === 'eval KV cache')!.bytes, 8 * kvPeakSlots(7, 1999) * 2 * 2 * 4);
});

test('no evaluate phase without an eval set or with evalEvery 0', () => {
  assert.equal(plan(TRAINER).phases.some((x) => x.phase === 'evaluate'), false);
  assert.equal(plan({ ...TRAINER, evalEvery: 0 }, { samples: 40, promptTokens: 7 }).phases.some((x) => x.phase === 'evaluate'), false);
});

test('the report says which backend the formulas were fitted on when another runs', () => {
  const rc = { name: 'tiny', model: 'x', trainData: 'x', iterations: 1, trainer: TRAINER };
  const cpu = preflight(rc, TINY, { backend: 'cpu', promptTokens: 3, baselineBytes: 1000, budgetBytes: 2 ** 40 });
  assert.ok(cpu.lines.some((l) => /fitted and checked against measured peaks on onnxruntime only; on cpu the estimate is unchecked/.test(l)), cpu.lines.join('\n'));
  const ort = preflight(rc, TINY, { backend: 'onnxruntime', promptTokens: 3, baselineBytes: 1000, budgetBytes: 2 ** 40 });
  assert.equal(ort.lines.some((l) => /fitted/.test(l)), false);
});

test('preflightRun measures the eval set too and hands its reads to trainerFromRunConfig, which reads nothing again', async () => {
  await selectBackend('cpu');
  const rc = await readRunConfig(fileURLToPath(new URL('../data/mini/train-config.json', import.meta.url)));
  const pf = await preflightRun(rc, { backend: 'cpu', budgetBytes: 64 * 2 ** 30 });
  assert.ok(pf.inputs, 'the pre-flight returns what it read');
  assert.equal(pf.inputs.evalDataset.length, 113);
  assert.ok(pf.plan.phases.some((x) => x.phase === 'evaluate'), 'the mini run evaluates every 5 iterations');
  // files that do not exist: a second read would fail
  const trainer = await trainerFromRunConfig({ ...rc, trainData: '/nonexistent/train.json', evalData: '/nonexistent/eval.jsonl' }, { inputs: pf.inputs });
  try {
    assert.equal(trainer.tokenizer, pf.inputs.tokenizer);
    assert.equal(trainer.dataset.length, pf.inputs.dataset.length);
    assert.equal(trainer.evalDataset.length, 113);
  } finally {
    trainer.dispose();
    trainer.policy.dispose();
  }
});

test('the eval sets are in the evaluate phase too: their records as the harness prompts them, the larger evaluation the peak, read once', async () => {
  await selectBackend('cpu');
  const rc = await readRunConfig(fileURLToPath(new URL('../data/mini/train-config.json', import.meta.url)));
  const sets = [{ path: resolve('../shared/data/orz-eval/math500.json'), limit: 40 }, { path: resolve('../shared/data/orz-eval/gpqa_diamond.json'), limit: 40 }];
  const pf = await preflightRun({ ...rc, evalSets: sets }, { backend: 'cpu', budgetBytes: 64 * 2 ** 30 });
  const only = await preflightRun({ ...rc, evalData: undefined, evalSets: sets }, { backend: 'cpu', budgetBytes: 64 * 2 ** 30 });
  const mini = await preflightRun(rc, { backend: 'cpu', budgetBytes: 64 * 2 ** 30 });

  // expected, from the public pieces: every record that leaves room under the 128-token context, n samples each
  const tok = pf.inputs!.tokenizer;
  const trainer = resolveTrainerConfig(rc.trainer);
  const fitting = pf.inputs!.evalSets.benchmarks.flatMap((b) => b.records.map((r, i) => tok.encode(recordPrompt(r, resolveBenchmarkTemplate(b.template), i).prompt).length)).filter((t) => t < 128);
  assert.ok(fitting.length > 0 && fitting.length < 80, `${fitting.length} of 80 records fit`);
  const evalTerms = (p: { plan: { allTerms: { phase: string; name: string; bytes: number }[] } }) => p.plan.allTerms.filter((t) => t.phase === 'evaluate').map((t) => [t.name, t.bytes]);
  const expected = memoryPlan({
    model: JSON.parse(await readFile(join(rc.model, 'config.json'), 'utf8')) as ModelConfig, trainer, backend: 'cpu', promptTokens: 1, baselineBytes: 0,
    evaluation: { samples: fitting.length * trainer.evalGeneration.n, promptTokens: Math.max(...fitting) },
  });
  assert.deepEqual(evalTerms(only), evalTerms({ plan: expected }), 'eval sets alone');
  // with the eval dataset as well, the larger evaluation is the phase: here the 113 eval records (rows x length)
  // outweigh the eval sets' few records that fit, though those are longer
  assert.notDeepEqual(evalTerms(only), evalTerms(mini));
  assert.deepEqual(evalTerms(pf), evalTerms(mini));
  const few = await preflightRun({ ...rc, evalLimit: 2, evalSets: sets }, { backend: 'cpu', budgetBytes: 64 * 2 ** 30 });
  assert.deepEqual(evalTerms(few), evalTerms(only), 'with 2 eval records the eval sets are the larger evaluation');

  // what the pre-flight read goes on to the trainer: the set files are not read again
  const t = await trainerFromRunConfig({ ...rc, evalSets: sets.map((s, i) => ({ ...s, path: `/nonexistent/set-${i}.json` })) }, { inputs: pf.inputs! });
  try {
    assert.equal(evalSetsOf(t)?.benchmarks.length, 2);
  } finally {
    t.dispose();
    t.policy.dispose();
  }
});
