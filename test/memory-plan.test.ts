// The memory pre-flight: the estimate's arithmetic on a model small enough to count by hand, the refusal
// with settings that fit, and one real measured peak (a fresh process running Trainer.step()).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveTrainerConfig, type TrainerConfigInput } from '../sdk/ppo/config.ts';
import type { ModelConfig } from '../sdk/model/index.ts';
import type { RunConfig } from '../sdk/run/run-config.ts';
import { kvCapacities, kvPeakSlots, memoryPlan, parameterCount } from '../sdk/run/memory-plan.ts';
import { preflight } from '../sdk/run/preflight.ts';
import { preflightRun } from '../sdk/run/preflight-run.ts';
import { readRunConfig } from '../sdk/run/run-config.ts';
import { loadTokenizer } from '../sdk/tokenizer/index.ts';
import { applyTemplate, readDataset, resolveTemplate } from '../sdk/data/index.ts';
import { fileURLToPath } from 'node:url';
import { parseModelConfig } from '../sdk/model/config.ts';
import { estimateCase, measureInSubprocess } from '../bench/memory-plan.ts';
import type { MeasureCase } from '../bench/memory-measure.ts';

// vocab 10, hidden 4, 2 heads of 2 (one KV head), intermediate 8, one gated layer, tied head:
//   embed 10x4 = 40; layer: norms 4 + 4, q 4x4 = 16, k 2x4 = 8, v 8, o 16, gate/up 8x4 = 32 each, down 32 -> 152;
//   final norm 4. Total 196; the critic adds a value head of 4.
const TINY: ModelConfig = {
  model_type: 'orz', vocab_size: 10, hidden_size: 4, intermediate_size: 8, num_hidden_layers: 1,
  num_attention_heads: 2, num_key_value_heads: 1, head_dim: 2, max_position_embeddings: 64, tie_word_embeddings: true, hidden_act: 'silu',
};
// 2 prompts x 2 samples = 4 rows, prompt 3 + 5 new tokens: T = 7
const TINY_TRAINER: TrainerConfigInput = {
  promptsPerIteration: 2, samplesPerPrompt: 2, generation: { maxNewTokens: 5 }, policyUpdateSteps: 1, criticUpdateSteps: 2, kl: { log: true },
};

function tinyPlan(backend: string, trainer: TrainerConfigInput = TINY_TRAINER) {
  return memoryPlan({ model: TINY, trainer: resolveTrainerConfig(trainer), backend, promptTokens: 3, baselineBytes: 1000, poolBytes: 0 });
}

function term(plan: ReturnType<typeof memoryPlan>, phase: string, name: string): number {
  const t = plan.allTerms.find((x) => x.phase === phase && x.name === name);
  assert.ok(t, `no term "${name}" in phase ${phase}: ${plan.allTerms.map((x) => `${x.phase}/${x.name}`).join(', ')}`);
  return t.bytes;
}

test('parameters and the run-long terms: weights of policy, critic and reference, Adam m and v', () => {
  assert.equal(parameterCount(parseModelConfig(TINY)), 196);
  const plan = tinyPlan('onnxruntime');
  assert.equal(term(plan, 'run', 'runtime baseline'), 1000);
  assert.equal(term(plan, 'run', 'policy weights'), 196 * 4);
  assert.equal(term(plan, 'run', 'critic weights'), 200 * 4);
  assert.equal(term(plan, 'run', 'reference weights'), 196 * 4);
  assert.equal(term(plan, 'run', 'Adam moments'), 2 * (196 + 200) * 4);
  const noRef = tinyPlan('onnxruntime', { ...TINY_TRAINER, kl: { log: false, coef: 0 } });
  assert.equal(noRef.allTerms.some((t) => t.name === 'reference weights'), false, 'no reference without kl');
  const grpo = tinyPlan('onnxruntime', { ...TINY_TRAINER, advantageEstimator: 'grpo' });
  assert.equal(grpo.allTerms.some((t) => t.name === 'critic weights' || t.phase === 'critic update'), false, 'no critic under GRPO');
  assert.equal(term(grpo, 'run', 'Adam moments'), 2 * 196 * 4);
  assert.equal(plan.allTerms.some((t) => t.name === 'behaviour policy'), false, 'no behaviour policy on-policy');
  const stale = tinyPlan('onnxruntime', { ...TINY_TRAINER, asyncRollouts: { maxStaleness: 2 } });
  assert.equal(term(stale, 'run', 'behaviour policy'), 4 * 196 * 4, 'a model and 3 host copies at maxStaleness 2');
});

test('KV cache: capacities follow the cache growth (prefill rounded to 16, then doubling), old + new while growing', () => {
  assert.deepEqual(kvCapacities(3, 4), [16]);
  assert.deepEqual(kvCapacities(20, 30), [32, 64]); // 32 slots fill at step 12; then max(33, 64)
  assert.equal(kvPeakSlots(20, 30), 96);
  // 4 rows x 16 slots x 1 layer x (K and V) x 1 kv head x head_dim 2 x 4 B
  assert.equal(term(tinyPlan('onnxruntime'), 'generate', 'KV cache'), 4 * 16 * 1 * 2 * 1 * 2 * 4);
});

test('training terms per micro-batch: tape, gradients (x2 when accumulating), LM head buffers', () => {
  const plan = tinyPlan('onnxruntime');
  // saved per row-token: x, x1 (2 x 4), q, o (2 x 4), k, v (2 x 2), gate, up (2 x 8) = 36; + its gradient 4; + 6 x hidden
  const perToken = 1 * (36 + 4) + 6 * 4;
  assert.equal(term(plan, 'policy update', 'activations (tape)'), (4 * 7 * perToken + 4 * 7 * 7) * 4); // 4 rows, T = 7, mask 4 x 7 x 7
  assert.equal(term(plan, 'critic update', 'activations (tape)'), (2 * 7 * perToken + 2 * 7 * 7) * 4); // 4 rows / 2 critic steps
  assert.equal(term(plan, 'policy update', 'gradients'), 196 * 4);
  assert.equal(term(plan, 'critic update', 'gradients'), 200 * 4);
  assert.equal(term(tinyPlan('onnxruntime', { ...TINY_TRAINER, microBatchRows: 1 }), 'policy update', 'gradients'), 2 * 196 * 4);
  // fused LM head: 4 rows x 5 tokens x vocab 10 x 5 buffers; the composite path keeps 8 on the tape
  assert.equal(term(plan, 'policy update', 'LM head kernel scratch'), 4 * 5 * 10 * 5 * 4);
  assert.equal(term(tinyPlan('cpu'), 'policy update', 'LM head logits (tape)'), 4 * 5 * 10 * 8 * 4);
  assert.equal(tinyPlan('cpu').allTerms.some((t) => t.name.endsWith('kernel scratch')), false, 'only onnxruntime has fused-kernel scratch');
});

test('the peak is the largest phase, and its terms add up to it', () => {
  const plan = tinyPlan('onnxruntime');
  const max = Math.max(...plan.phases.map((p) => p.bytes));
  assert.equal(plan.peakBytes, max);
  assert.equal(plan.terms.reduce((a, t) => a + t.bytes, 0), plan.peakBytes);
  // the pool holds earlier phases' freed working sets and the buffers the optimizer step replaced, up to its cap
  const pooled = memoryPlan({ model: TINY, trainer: resolveTrainerConfig(TINY_TRAINER), backend: 'onnxruntime', promptTokens: 3, baselineBytes: 1000, poolBytes: 2 ** 30 });
  assert.equal(pooled.peakPhase, 'policy update');
  const earlier = pooled.allTerms.filter((t) => ['generate', 'advantages', 'critic update'].includes(t.phase) && !t.name.endsWith('kernel scratch'));
  const poolTerm = pooled.terms.find((t) => t.name === 'buffer pool')!;
  assert.equal(poolTerm.bytes, earlier.reduce((a, t) => a + t.bytes, 0) + 3 * 196 * 4);
  const capped = memoryPlan({ model: TINY, trainer: resolveTrainerConfig(TINY_TRAINER), backend: 'onnxruntime', promptTokens: 3, baselineBytes: 1000, poolBytes: 100 });
  assert.equal(capped.terms.find((t) => t.name === 'buffer pool')!.bytes, 100);
});

const BIG: ModelConfig = {
  model_type: 'orz', vocab_size: 32000, hidden_size: 512, intermediate_size: 1408, num_hidden_layers: 6,
  num_attention_heads: 8, max_position_embeddings: 4096, tie_word_embeddings: true, hidden_act: 'silu',
};
const BIG_RUN: RunConfig = {
  name: 'too-big', model: 'unused', trainData: 'unused', iterations: 1,
  trainer: { promptsPerIteration: 8, samplesPerPrompt: 16, generation: { maxNewTokens: 1024 }, policyUpdateSteps: 1, criticUpdateSteps: 4 },
};

test('a run that cannot fit is refused with settings that fit when estimated again', () => {
  const opts = { backend: 'onnxruntime', promptTokens: 200, baselineBytes: 200 * 2 ** 20 };
  const full = preflight(BIG_RUN, BIG, opts);
  const budget = full.estimate / 4;
  const r = preflight(BIG_RUN, BIG, { ...opts, budgetBytes: budget });
  assert.equal(r.fits, false);
  assert.match(r.summary, /^memory: estimated peak .* does not fit$/);
  assert.ok(r.suggestions.length >= 2 && r.suggestions.length <= 3, `suggestions: ${JSON.stringify(r.suggestions)}`);
  assert.match(r.lines.at(-r.suggestions.length - 1)!, /does not fit/);
  const settings = new Map(r.suggestions.map((s) => [s.changes[0]!.setting, s.changes[0]!.value]));
  for (const s of r.suggestions) {
    assert.equal(s.changes.length, 1, 'here one setting alone fits');
    const again = preflight(withChanges(BIG_RUN, s.changes), BIG, { ...opts, budgetBytes: budget });
    const { setting, value } = s.changes[0]!;
    assert.ok(again.fits, `${setting} ${value}: re-estimated ${again.estimate} > budget ${budget}`);
    assert.equal(again.estimate, s.peakBytes);
    assert.ok(r.lines.some((l) => l.includes(`${setting} ${value} (peak`)), `the report names ${setting} ${value}`);
  }
  // the largest value that fits: one more does not
  const rows = settings.get('trainer.microBatchRows');
  assert.ok(rows !== undefined, 'micro-batch rows is among the suggestions');
  const oneMore = preflight({ ...BIG_RUN, trainer: { ...BIG_RUN.trainer, microBatchRows: rows + 1 } }, BIG, { ...opts, budgetBytes: budget });
  assert.equal(oneMore.fits, false);
  // fits with room: no suggestions, and the verdict line says so
  const roomy = preflight(BIG_RUN, BIG, { ...opts, budgetBytes: full.estimate * 2 });
  assert.equal(roomy.fits, true);
  assert.deepEqual(roomy.suggestions, []);
  assert.match(roomy.lines.at(-1)!, /^fits:/);
});

function withChanges(rc: RunConfig, changes: { setting: string; value: number }[]): RunConfig {
  const trainer = structuredClone(rc.trainer!) as Record<string, unknown>;
  for (const { setting, value } of changes) {
    const [, ...path] = setting.split('.');
    if (path.length === 2) trainer[path[0]!] = { ...(trainer[path[0]!] as object), [path[1]!]: value };
    else trainer[path[0]!] = value;
  }
  return { ...rc, trainer };
}

test('when no setting alone fits, one-row micro-batches together with another setting are offered, and fit', () => {
  const opts = { backend: 'onnxruntime', promptTokens: 200, baselineBytes: 200 * 2 ** 20 };
  // a budget that one-row micro-batches with 4 samples per prompt fit exactly
  const budget = preflight(withChanges(BIG_RUN, [{ setting: 'trainer.microBatchRows', value: 1 }, { setting: 'trainer.samplesPerPrompt', value: 4 }]), BIG, opts).estimate;
  const r = preflight(BIG_RUN, BIG, { ...opts, budgetBytes: budget });
  assert.equal(r.fits, false);
  assert.ok(r.suggestions.length >= 1, r.lines.join('\n'));
  for (const s of r.suggestions) {
    assert.deepEqual(s.changes[0], { setting: 'trainer.microBatchRows', value: 1 });
    assert.equal(s.changes.length, 2);
    const again = preflight(withChanges(BIG_RUN, s.changes), BIG, { ...opts, budgetBytes: budget });
    assert.ok(again.fits, `${JSON.stringify(s.changes)}: re-estimated ${again.estimate} > ${budget}`);
  }
  assert.ok(r.suggestions.some((s) => s.changes[1]!.setting === 'trainer.samplesPerPrompt' && s.changes[1]!.value === 4), 'the largest samples per prompt that fits with one-row micro-batches');
  assert.ok(r.lines.some((l) => l.startsWith('  trainer.microBatchRows 1 + ')), r.lines.join('\n'));
});

test('a budget below the weights and optimizer state alone: refused, and no setting fits', () => {
  const r = preflight(BIG_RUN, BIG, { backend: 'onnxruntime', promptTokens: 200, baselineBytes: 200 * 2 ** 20, budgetBytes: 300 * 2 ** 20 });
  assert.equal(r.fits, false);
  assert.deepEqual(r.suggestions, []);
  assert.match(r.lines.at(-1)!, /no setting fits/);
});

// The bundled model's shape at a size that runs in a few seconds (one real PPO iteration in its own process).
const SMALL: MeasureCase = {
  model: { model_type: 'orz', vocab_size: 384, hidden_size: 96, intermediate_size: 288, num_hidden_layers: 3, num_attention_heads: 4, head_dim: 24, max_position_embeddings: 128, tie_word_embeddings: true, hidden_act: 'silu' },
  trainer: { promptsPerIteration: 8, samplesPerPrompt: 4, generation: { maxNewTokens: 48 }, policyUpdateSteps: 1, criticUpdateSteps: 2 },
  promptTokens: 32,
};

test('the estimate is within 25% of the measured peak RSS of one real Trainer.step() (bundled model shape)', () => {
  const measured = measureInSubprocess(SMALL, { ...process.env, ORZ_BACKEND: 'onnxruntime' });
  assert.equal(measured.responseTokens, 48, 'every response runs to maxNewTokens, as the estimate assumes');
  assert.equal(measured.promptTokens, 32);
  const plan = estimateCase(SMALL, measured.baselineBytes, measured.backend);
  const ratio = plan.peakBytes / measured.peakBytes;
  process.stderr.write(`memory-plan: estimate/measured ${ratio.toFixed(3)}\n`);
  assert.ok(Math.abs(ratio - 1) <= 0.25, `estimate ${plan.peakBytes} vs measured ${measured.peakBytes} (ratio ${ratio.toFixed(3)}, baseline ${measured.baselineBytes})`);
  assert.ok(measured.peakBytes > measured.baselineBytes * 1.2, 'the model-dependent part is measurable over the baseline');
});

test('preflightRun reads the run\'s model config and measures its longest templated prompt', async () => {
  const path = fileURLToPath(new URL('../data/mini/train-config.json', import.meta.url));
  const rc = await readRunConfig(path);
  const r = await preflightRun(rc, { backend: 'onnxruntime', budgetBytes: 64 * 2 ** 30 });
  const [tokenizer, records] = await Promise.all([loadTokenizer(rc.model), readDataset(rc.trainData)]);
  const longest = Math.max(...records.map((x) => tokenizer.encode(applyTemplate(resolveTemplate('mini'), x.prompt)).length));
  assert.equal(r.plan.shapes.promptTokens, longest);
  assert.equal(r.plan.shapes.samples, 16 * 8);
  assert.equal(r.fits, true);
  assert.match(r.lines[0]!, /^memory pre-flight \(mini\)/);
  await assert.rejects(preflightRun({ ...rc, model: '/nonexistent-model-dir' }, { backend: 'onnxruntime', promptTokens: 10 }), /nonexistent-model-dir.config\.json/);
});
