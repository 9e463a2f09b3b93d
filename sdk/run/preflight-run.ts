// The pre-flight of a run config as `orz train` needs it: the model's config.json, the longest templated
// training prompt in tokens, and this process's resident memory as the baseline (call it after the backend
// is selected and before any model loads), then preflight(). Reads files only; loads no weights. The tokenizer and datasets it reads are returned
// (RunPreflight.inputs) so that training does not read them a second time.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelConfig } from '../model/config.ts';
import { loadTokenizer, type Tokenizer } from '../tokenizer/index.ts';
import { resolveModelPath } from '../hub/index.ts';
import { applyTemplate, readDataset, resolveTemplate, type ProblemRecord } from '../data/index.ts';
import { resolveTrainerConfig } from '../ppo/config.ts';
import type { RunConfig } from './run-config.ts';
import { loadEvalSets, type EvalSets } from './eval-sets.ts';
import { recordPrompt, resolveBenchmarkTemplate } from '../eval/benchmark.ts';
import { preflight, promptTokensOf, residentBytes, type PreflightResult } from './preflight.ts';

export interface RunPreflightOptions {
  backend: string;
  /** --memory-budget in bytes; default: the memory free now. */
  budgetBytes?: number;
  /** The longest prompt in tokens, when known; default: measured on rc.trainData with the model's tokenizer. */
  promptTokens?: number;
  /** Names the config in errors about its eval sets (default: "run config <name>"). */
  configSource?: string;
}

/** What the pre-flight read to measure the prompts, for trainerFromRunConfig to take instead of reading it again. */
export interface RunInputs { tokenizer: Tokenizer; dataset: ProblemRecord[]; evalDataset: ProblemRecord[]; evalSets: EvalSets }

export interface RunPreflight extends PreflightResult {
  /** Absent when promptTokens was given (nothing was read). */
  inputs?: RunInputs;
}

export async function preflightRun(rc: RunConfig, opts: RunPreflightOptions): Promise<RunPreflight> {
  const baselineBytes = residentBytes();
  // a hub id is fetched into the HF cache here (training needs the files next anyway)
  const modelDir = await resolveModelPath(rc.model, 'all');
  const configPath = join(modelDir, 'config.json');
  let model: ModelConfig;
  try {
    model = JSON.parse(await readFile(configPath, 'utf8')) as ModelConfig;
  } catch (e) {
    throw new Error(`memory pre-flight: cannot read the model config ${configPath}: ${(e as Error).message}`);
  }
  const base = { backend: opts.backend, baselineBytes, ...(opts.budgetBytes !== undefined ? { budgetBytes: opts.budgetBytes } : {}) };
  if (opts.promptTokens !== undefined) return preflight(rc, model, { ...base, promptTokens: opts.promptTokens });
  const [tokenizer, dataset, allEval] = await Promise.all([
    loadTokenizer(modelDir), readDataset(rc.trainData), rc.evalData ? readDataset(rc.evalData) : Promise.resolve([]),
  ]);
  const evalDataset = rc.evalLimit === undefined ? allEval : allEval.slice(0, rc.evalLimit);
  const trainer = resolveTrainerConfig(rc.trainer, `run config ${rc.name}`, 'trainer');
  const template = resolveTemplate(trainer.template);
  const longest = (records: ProblemRecord[]) => promptTokensOf(records.map((r) => applyTemplate(template, r.prompt)), (t) => tokenizer.encode(t));
  const evalSets = await loadEvalSets(rc.evalSets ?? [], trainer, opts.configSource ?? `run config ${rc.name}`);
  const n = trainer.evalGeneration.n;
  const phases = [
    evalDataset.length > 0 ? { samples: evalDataset.length * n, promptTokens: longest(evalDataset) } : undefined,
    evalSetsPhase(evalSets, (t) => tokenizer.encode(t).length, model.max_position_embeddings, n),
  ].filter((p) => p !== undefined);
  // the eval dataset and the eval sets are evaluated one after the other: the larger of the two is the peak
  const size = (p: { samples: number; promptTokens: number }) => p.samples * (p.promptTokens + trainer.evalGeneration.maxNewTokens);
  const evaluation = phases.sort((a, b) => size(b) - size(a))[0];
  const result = preflight(rc, model, { ...base, promptTokens: longest(dataset), ...(evaluation ? { evaluation } : {}) });
  return { ...result, inputs: { tokenizer, dataset, evalDataset, evalSets } };
}

/**
 * What one evaluation of the eval sets generates: the harness runs all their records in one generate call, each
 * record's prompt as it builds it (choices listed for GPQA); a prompt with no room under the context is skipped.
 */
function evalSetsPhase(sets: EvalSets, tokens: (text: string) => number, context: number, n: number): { samples: number; promptTokens: number } | undefined {
  let records = 0, promptTokens = 0;
  for (const b of sets.benchmarks) {
    const template = resolveBenchmarkTemplate(b.template);
    b.records.forEach((r, i) => {
      const t = tokens(recordPrompt(r, template, i).prompt);
      if (t >= context) return;
      records++;
      promptTokens = Math.max(promptTokens, t);
    });
  }
  return records > 0 ? { samples: records * n, promptTokens } : undefined;
}
