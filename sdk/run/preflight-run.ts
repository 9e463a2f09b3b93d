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
import { preflight, promptTokensOf, residentBytes, type PreflightResult } from './preflight.ts';

export interface RunPreflightOptions {
  backend: string;
  /** --memory-budget in bytes; default: the memory free now. */
  budgetBytes?: number;
  /** The longest prompt in tokens, when known; default: measured on rc.trainData with the model's tokenizer. */
  promptTokens?: number;
}

/** What the pre-flight read to measure the prompts, for trainerFromRunConfig to take instead of reading it again. */
export interface RunInputs { tokenizer: Tokenizer; dataset: ProblemRecord[]; evalDataset: ProblemRecord[] }

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
  const evaluation = evalDataset.length > 0 ? { samples: evalDataset.length * trainer.evalGeneration.n, promptTokens: longest(evalDataset) } : undefined;
  const result = preflight(rc, model, { ...base, promptTokens: longest(dataset), ...(evaluation ? { evaluation } : {}) });
  return { ...result, inputs: { tokenizer, dataset, evalDataset } };
}
