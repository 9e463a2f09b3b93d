// `orz eval --model DIR --data FILE`: greedy accuracy of a model on a dataset with the math reward.
// Records whose prompt does not fit the model's context are listed and skipped; the rest are evaluated.

import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { commandHelp, parseFlags, UsageError, defineCommand } from '../util/flags.ts';
import type { PromptTemplate } from '../data/index.ts';
import type { RolloutEngine } from '../rollout/engine.ts';
import type { RolloutSample } from '../rollout/rollout-batch.ts';
import type { ContextSplit } from './eval-context.ts';

export const EVAL_COMMAND = defineCommand({
  name: 'orz eval',
  synopsis: '--model DIR --data FILE [options]',
  summary: 'Accuracy of a model on a dataset (ORZ or orz format) with the math reward; prints one JSON line.\n' +
    'Records whose prompt leaves no room for a response under the model\'s context are listed on stderr and skipped.',
  flags: {
    model: { type: 'string', arg: 'DIR', help: 'model directory (config.json, model.safetensors, tokenizer.json)' },
    data: { type: 'string', arg: 'FILE', help: 'dataset: .json (ORZ format) or .jsonl' },
    template: { type: 'string', arg: 'T', help: 'prompt template: orz, mini or a text containing {question} (default: mini for model_type "orz", else orz)' },
    limit: { type: 'int', min: 1, help: 'evaluate the first N records (default all)' },
    'max-new-tokens': { type: 'int', min: 1, default: 512, help: 'response token budget' },
    backend: { type: 'string', arg: 'B', help: 'tensor backend: auto, tensorflow, onnxruntime, wasm, cpu (default auto)' },
  },
});

/** Refuses before anything loads when a path is missing, naming the flag and the path. */
function checkPaths(model: string, data: string): void {
  if (!existsSync(model)) throw new Error(`--model ${model}: no such directory (nor a Hugging Face id owner/name)`);
  if (!statSync(model).isDirectory()) throw new Error(`--model ${model}: not a directory (expected a model directory with config.json, model.safetensors, tokenizer.json)`);
  for (const f of ['config.json', 'tokenizer.json']) {
    if (!existsSync(join(model, f))) throw new Error(`--model ${model}: no ${f} in it (expected config.json, model.safetensors, tokenizer.json)`);
  }
  if (!existsSync(data)) throw new Error(`--data ${data}: no such file`);
  if (statSync(data).isDirectory()) throw new Error(`--data ${data}: is a directory, expected a .json or .jsonl file`);
}

/** The template --template names, or undefined when it names none (then the model's default applies). */
async function namedTemplate(flag: string | undefined): Promise<PromptTemplate | undefined> {
  if (flag === undefined) return undefined;
  const { resolveTemplate } = await import('../data/index.ts');
  try {
    return resolveTemplate(flag);
  } catch (e) {
    throw new UsageError(`orz eval: --template: ${(e as Error).message}`, commandHelp(EVAL_COMMAND));
  }
}

/** Greedy samples for the records that fit, one engine call per response budget, in the records' order. */
async function generateByBudget(engine: RolloutEngine, fits: ContextSplit['fits'], maxNew: number, maxPositions: number): Promise<RolloutSample[]> {
  const { budgetGroups } = await import('./eval-context.ts');
  const groups = budgetGroups(fits, maxNew, maxPositions);
  const capped = fits.length - (groups.find((g) => g.budget === maxNew)?.members.length ?? 0);
  if (capped > 0) {
    process.stderr.write(`orz eval: ${capped} of ${fits.length} evaluated records leave room for fewer than --max-new-tokens=${maxNew} response tokens; each gets ${maxPositions} minus its prompt tokens\n`);
  }
  const samples: RolloutSample[] = new Array(fits.length);
  let done = 0;
  for (const { budget, members } of groups) {
    const batch = await engine.generate(
      members.map((i) => ({ prompt: fits[i]!.prompt, groundTruth: fits[i]!.record.groundTruth })),
      { temperature: 0, n: 1, maxNewTokens: budget },
      { onProgress: (p) => process.stderr.write(`\r${done + p.finished}/${fits.length} samples`) },
    );
    batch.samples().forEach((sample, j) => { samples[members[j]!] = sample; });
    done += members.length;
  }
  process.stderr.write('\n');
  return samples;
}

export async function evalCommand(argv: string[]): Promise<number> {
  const parsed = parseFlags(EVAL_COMMAND, argv);
  if (!parsed) return 0;
  const { values } = parsed;
  for (const flag of ['model', 'data'] as const) {
    if (!values[flag]) throw new UsageError(`orz eval: --${flag} is required`, commandHelp(EVAL_COMMAND));
  }
  const dataPath = values.data!;
  const named = await namedTemplate(values.template);
  // a hub id (owner/name[@rev]) that is not a local directory is fetched into the HF cache first
  const { resolveModelPath } = await import('../hub/index.ts');
  const modelDir = await resolveModelPath(values.model!, 'all');
  checkPaths(modelDir, dataPath);
  const { selectBackend } = await import('../engine/backend.ts');
  const { loadModel } = await import('../model/index.ts');
  const { loadTokenizer } = await import('../tokenizer/index.ts');
  const { defaultTemplateFor, readDataset } = await import('../data/index.ts');
  const { RolloutEngine } = await import('../rollout/engine.ts');
  const { mathReward, scoreSamples } = await import('../reward/index.ts');
  const { splitByContext, skipReport } = await import('./eval-context.ts');
  const backend = await selectBackend(values.backend);
  const [model, tokenizer, records] = await Promise.all([loadModel(modelDir), loadTokenizer(modelDir), readDataset(dataPath)]);
  const { model_type: modelType, max_position_embeddings: maxPositions } = model.config;
  const template = named ?? defaultTemplateFor(modelType);
  process.stderr.write(named
    ? `orz eval: template ${template.name} (--template)\n`
    : `orz eval: template ${template.name} (from the model: model_type "${modelType}"; --template to change)\n`);

  const chosen = records.slice(0, values.limit ?? records.length);
  const split = splitByContext(chosen, template, tokenizer, maxPositions);
  if (split.tooLong.length > 0) process.stderr.write(skipReport(split, chosen.length, template, tokenizer, maxPositions));
  if (split.fits.length === 0) {
    throw new Error(`nothing to evaluate: none of the ${chosen.length} records of ${dataPath} fits the model's context (max_position_embeddings=${maxPositions})`);
  }
  const t0 = performance.now();
  const samples = await generateByBudget(new RolloutEngine(model, tokenizer), split.fits, values['max-new-tokens'], maxPositions);
  const rewards = await scoreSamples(mathReward, samples);
  console.log(JSON.stringify({
    model: values.model!, data: dataPath, backend: backend.name, template: template.name,
    records: chosen.length, evaluated: rewards.length, skipped: split.tooLong.length,
    accuracy: rewards.reduce((a, b) => a + b, 0) / rewards.length, // over the evaluated records
    seconds: (performance.now() - t0) / 1000,
  }));
  return 0;
}
