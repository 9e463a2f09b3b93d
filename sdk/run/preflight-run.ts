// The pre-flight of a run config as `orz train` needs it: the model's config.json, the longest templated
// training prompt in tokens, and this process's resident memory as the baseline (call it after the backend
// is selected and before any model loads), then preflight(). Reads files only; loads no weights.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelConfig } from '../model/config.ts';
import { loadTokenizer } from '../tokenizer/index.ts';
import { resolveModelPath } from '../hub/index.ts';
import { applyTemplate, readDataset, resolveTemplate } from '../data/index.ts';
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

export async function preflightRun(rc: RunConfig, opts: RunPreflightOptions): Promise<PreflightResult> {
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
  let promptTokens = opts.promptTokens;
  if (promptTokens === undefined) {
    const [tokenizer, records] = await Promise.all([loadTokenizer(modelDir), readDataset(rc.trainData)]);
    const template = resolveTemplate(resolveTrainerConfig(rc.trainer, `run config ${rc.name}`, 'trainer').template);
    promptTokens = promptTokensOf(records.map((r) => applyTemplate(template, r.prompt)), (t) => tokenizer.encode(t));
  }
  return preflight(rc, model, {
    backend: opts.backend, promptTokens, baselineBytes,
    ...(opts.budgetBytes !== undefined ? { budgetBytes: opts.budgetBytes } : {}),
  });
}
