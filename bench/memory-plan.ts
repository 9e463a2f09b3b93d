// The memory pre-flight from the command line, and its check against measured peaks.
//
//   tsx bench/memory-plan.ts <run-config.json> [--prompt-tokens N] [--memory-budget GB] [--backend B]
//       prints the estimate for a run config (prompt length measured on its training data) and the verdict
//   tsx bench/memory-plan.ts --check [--cases small,medium,large]
//       estimate vs measured peak RSS (VmHWM of one Trainer.step() in a fresh process per case, random
//       weights), written to bench/results/memory-plan-<date>.json

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveTrainerConfig } from '../sdk/ppo/config.ts';
import { fmtBytes, fmtCount, memoryPlan, parameterCount } from '../sdk/run/memory-plan.ts';
import { writeFileAtomic } from '../sdk/util/atomic-write.ts';
import { parseModelConfig } from '../sdk/model/config.ts';
import type { MeasureCase, MeasureResult } from './memory-measure.ts';

const silu = { model_type: 'orz', hidden_act: 'silu' } as const;

/** The checked sizes: the bundled model's shape, ~24M (large vocab: the LM head matters; also with micro-batches and GRPO), ~112M (weights and Adam dominate). */
export const CHECK_CASES: Record<string, MeasureCase> = {
  small: {
    model: { ...silu, vocab_size: 384, hidden_size: 96, intermediate_size: 288, num_hidden_layers: 3, num_attention_heads: 4, head_dim: 24, max_position_embeddings: 128, tie_word_embeddings: true },
    trainer: { promptsPerIteration: 16, samplesPerPrompt: 8, generation: { maxNewTokens: 64 }, policyUpdateSteps: 1, criticUpdateSteps: 4 },
    promptTokens: 40,
  },
  medium: {
    model: { ...silu, vocab_size: 8192, hidden_size: 512, intermediate_size: 1408, num_hidden_layers: 6, num_attention_heads: 8, max_position_embeddings: 512, tie_word_embeddings: true },
    trainer: { promptsPerIteration: 4, samplesPerPrompt: 4, generation: { maxNewTokens: 64 }, policyUpdateSteps: 1, criticUpdateSteps: 2 },
    promptTokens: 32,
  },
  // the medium model with micro-batches (accumulated gradients), GRPO (no critic) and no reference
  'medium-micro-grpo': {
    model: { ...silu, vocab_size: 8192, hidden_size: 512, intermediate_size: 1408, num_hidden_layers: 6, num_attention_heads: 8, max_position_embeddings: 512, tie_word_embeddings: true },
    trainer: { promptsPerIteration: 4, samplesPerPrompt: 4, generation: { maxNewTokens: 64 }, policyUpdateSteps: 1, microBatchRows: 4, advantageEstimator: 'grpo', kl: { log: false } },
    promptTokens: 32,
  },
  large: {
    model: { ...silu, vocab_size: 32000, hidden_size: 768, intermediate_size: 2048, num_hidden_layers: 10, num_attention_heads: 12, num_key_value_heads: 4, max_position_embeddings: 512, tie_word_embeddings: false },
    trainer: { promptsPerIteration: 2, samplesPerPrompt: 2, generation: { maxNewTokens: 32 }, policyUpdateSteps: 1, criticUpdateSteps: 1 },
    promptTokens: 16,
  },
};

/** Runs one case in a fresh process (its own VmHWM) and returns what it measured. */
export function measureInSubprocess(c: MeasureCase, env: NodeJS.ProcessEnv = process.env): MeasureResult {
  const script = join(import.meta.dirname, 'memory-measure.ts');
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, JSON.stringify(c)], { encoding: 'utf8', env, maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`bench/memory-measure.ts exited ${r.status}: ${r.stderr.slice(-2000)}`);
  const line = r.stdout.trim().split('\n').pop()!;
  return JSON.parse(line) as MeasureResult;
}

/** The estimate for a measured case, with the baseline the child measured (as the CLI measures its own). */
export function estimateCase(c: MeasureCase, baselineBytes: number, backend: string) {
  const trainer = resolveTrainerConfig({ template: '{question}', ...c.trainer, generation: { stop: [], ...c.trainer.generation } });
  return memoryPlan({ model: c.model, trainer, backend, promptTokens: c.promptTokens, baselineBytes });
}

async function check(names: string[]): Promise<void> {
  const rows = [];
  for (const name of names) {
    const c = CHECK_CASES[name];
    if (!c) throw new Error(`bench/memory-plan: unknown case "${name}"; known: ${Object.keys(CHECK_CASES).join(', ')}`);
    process.stderr.write(`== ${name}: measuring one Trainer.step() in a fresh process\n`);
    const measured = measureInSubprocess(c);
    const plan = estimateCase(c, measured.baselineBytes, measured.backend);
    const ratio = plan.peakBytes / measured.peakBytes;
    rows.push({
      case: name, params: parameterCount(parseModelConfig(c.model)), model: c.model, trainer: c.trainer, promptTokens: c.promptTokens,
      measured, estimate: { peakBytes: plan.peakBytes, peakPhase: plan.peakPhase, phases: plan.phases, terms: plan.terms.map((t) => ({ name: t.name, bytes: t.bytes })) },
      estimateOverMeasured: ratio,
    });
    process.stderr.write(`   ${fmtCount(rows.at(-1)!.params)} params: estimate ${fmtBytes(plan.peakBytes)}, measured ${fmtBytes(measured.peakBytes)} (baseline ${fmtBytes(measured.baselineBytes)}), ratio ${ratio.toFixed(3)}, step ${measured.seconds.toFixed(1)} s\n`);
  }
  const day = new Date().toISOString().slice(0, 10);
  const out = join(import.meta.dirname, 'results', `memory-plan-${day}.json`);
  await writeFileAtomic(out, `${JSON.stringify({ bench: 'memory-plan', date: new Date().toISOString(), tolerance: 0.25, cases: rows }, null, 1)}\n`);
  console.log('| case | params | estimate | measured peak RSS | estimate / measured |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.case} | ${fmtCount(r.params)} | ${fmtBytes(r.estimate.peakBytes)} | ${fmtBytes(r.measured.peakBytes)} | ${r.estimateOverMeasured.toFixed(2)} |`);
  console.log(`written ${out}`);
}

async function planForRunConfig(path: string, flags: { 'prompt-tokens'?: string; 'memory-budget'?: string; backend?: string }): Promise<number> {
  const { selectBackend } = await import('../sdk/engine/backend.ts');
  const { readRunConfig } = await import('../sdk/run/run-config.ts');
  const { preflightRun } = await import('../sdk/run/preflight-run.ts');
  const rc = await readRunConfig(path);
  const backend = await selectBackend(flags.backend ?? rc.backend);
  const promptTokens = flags['prompt-tokens'] === undefined ? undefined : Number(flags['prompt-tokens']);
  if (promptTokens !== undefined && !(Number.isInteger(promptTokens) && promptTokens > 0)) throw new Error(`--prompt-tokens must be a positive integer, got "${flags['prompt-tokens']}"`);
  const budget = flags['memory-budget'] === undefined ? undefined : Number(flags['memory-budget']) * 2 ** 30;
  if (budget !== undefined && !(budget > 0)) throw new Error(`--memory-budget must be a positive number of GB, got "${flags['memory-budget']}"`);
  const result = await preflightRun(rc, { backend: backend.name, ...(promptTokens !== undefined ? { promptTokens } : {}), ...(budget !== undefined ? { budgetBytes: budget } : {}) });
  for (const line of result.lines) console.log(line);
  return result.fits ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { check: { type: 'boolean' }, cases: { type: 'string' }, 'prompt-tokens': { type: 'string' }, 'memory-budget': { type: 'string' }, backend: { type: 'string' } },
  });
  if (values.check) await check((values.cases ?? Object.keys(CHECK_CASES).join(',')).split(','));
  else if (positionals[0]) process.exitCode = await planForRunConfig(positionals[0], values);
  else throw new Error('usage: bench/memory-plan.ts <run-config.json> [--prompt-tokens N] [--memory-budget GB] | --check [--cases small,medium,large]');
}
