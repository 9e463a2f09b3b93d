// `orz eval --model DIR --data FILE[,FILE...]`: a model on ORZ's eval files (or any dataset) through the eval
// harness: one benchmark per file, n samples per question at a temperature (greedy by default), mean@n and pass@k.
// Records whose prompt does not fit the model's context are listed and skipped; the rest are evaluated, each
// with the response budget its prompt leaves (the harness's overlong 'shorten').

import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { commandHelp, parseFlags, UsageError, defineCommand, type FlagValues } from '../util/flags.ts';
import type { ProblemRecord, PromptTemplate } from '../data/index.ts';
import type { EvalBenchmark, EvalProgress, EvalReport } from '../eval/index.ts';
import type { Tokenizer } from '../tokenizer/index.ts';

export const EVAL_COMMAND = defineCommand({
  name: 'orz eval',
  synopsis: '--model DIR --data FILE[,FILE...] [options]',
  summary: 'mean@n and pass@k of a model on eval files (ORZ or orz format), one benchmark per file: multiple choice\n' +
    '(GPQA) when the records carry "choices", else the math reward. Greedy by default; --n 16 --temperature 1 is ORZ\'s\n' +
    '16-sample average. Records whose prompt leaves no room for a response are listed on stderr and skipped.\n' +
    'Prints the report table on stderr and one JSON line on stdout.',
  flags: {
    model: { type: 'string', arg: 'DIR', help: 'model directory (config.json, model.safetensors, tokenizer.json) or Hugging Face id' },
    data: { type: 'string', arg: 'FILES', help: 'eval files, comma-separated: .json (ORZ format) or .jsonl' },
    n: { type: 'int', min: 1, default: 1, help: 'samples per question' },
    temperature: { type: 'number', min: 0, default: 0, help: 'sampling temperature; 0 is greedy, with --n 1' },
    seed: { type: 'int', min: 0, default: 0, help: 'sampling seed' },
    template: { type: 'string', arg: 'T', help: 'prompt template: orz, mini or a text containing {question} (default: mini for model_type "orz", else orz)' },
    limit: { type: 'int', min: 1, help: 'evaluate the first N records of each file (default all)' },
    'max-new-tokens': { type: 'int', min: 1, default: 512, help: 'response token budget' },
    backend: { type: 'string', arg: 'B', help: 'tensor backend: auto, tensorflow, onnxruntime, wasm, cpu (default auto)' },
  },
});

type EvalFlags = FlagValues<typeof EVAL_COMMAND.flags>;

const usage = (message: string) => new UsageError(`orz eval: ${message}`, commandHelp(EVAL_COMMAND));

/** The --data files, checked: none empty, no two that would be the same benchmark. */
async function dataFiles(flag: string): Promise<string[]> {
  const files = flag.split(',').map((f) => f.trim());
  if (files.some((f) => f === '')) throw usage(`--data ${JSON.stringify(flag)}: an empty file name in the list`);
  const { basename, extname } = await import('node:path');
  const byName = new Map<string, string>();
  for (const f of files) {
    const name = basename(f, extname(f));
    const other = byName.get(name);
    if (other !== undefined) throw usage(`--data: ${other} and ${f} would both be benchmark "${name}" (benchmarks are named after their file)`);
    byName.set(name, f);
  }
  return files;
}

/** Refuses before anything loads when a path is missing, naming the flag and the path. */
function checkPaths(model: string, files: string[]): void {
  if (!existsSync(model)) throw new Error(`--model ${model}: no such directory (nor a Hugging Face id owner/name)`);
  if (!statSync(model).isDirectory()) throw new Error(`--model ${model}: not a directory (expected a model directory with config.json, model.safetensors, tokenizer.json)`);
  for (const f of ['config.json', 'tokenizer.json']) {
    if (!existsSync(join(model, f))) throw new Error(`--model ${model}: no ${f} in it (expected config.json, model.safetensors, tokenizer.json)`);
  }
  for (const data of files) {
    if (!existsSync(data)) throw new Error(`--data ${data}: no such file`);
    if (statSync(data).isDirectory()) throw new Error(`--data ${data}: is a directory, expected a .json or .jsonl file`);
  }
}

/** The template --template names, or undefined when it names none (then the model's default applies). */
async function namedTemplate(flag: string | undefined): Promise<PromptTemplate | undefined> {
  if (flag === undefined) return undefined;
  const { resolveTemplate } = await import('../data/index.ts');
  try {
    return resolveTemplate(flag);
  } catch (e) {
    throw usage(`--template: ${(e as Error).message}`);
  }
}

function checkSampling(values: EvalFlags): void {
  if (values.temperature === 0 && values.n > 1) {
    throw usage(`--n ${values.n} at --temperature 0 gives ${values.n} identical samples per question; use --n 1 for greedy, or a temperature > 0 (ORZ samples at 1)`);
  }
}

interface FileContext { file: string; records: number; fits: number; skipped: number }

/** Per file, before generation: the records that do not fit (listed with their fixes) and the ones that get less room. */
async function reportContext(
  benchmarks: { file: string; benchmark: EvalBenchmark }[], values: EvalFlags, template: PromptTemplate, tokenizer: Tokenizer, maxPositions: number,
): Promise<FileContext[]> {
  const { splitByContext, skipReport, shortenedCount } = await import('./eval-context.ts');
  const maxNew = values['max-new-tokens'];
  const several = benchmarks.length > 1;
  return benchmarks.map(({ file, benchmark }) => {
    const chosen: ProblemRecord[] = benchmark.records.slice(0, values.limit ?? benchmark.records.length);
    const split = splitByContext(chosen, template, tokenizer, maxPositions);
    const head = `orz eval: ${several ? `${file}: ` : ''}`;
    if (split.tooLong.length > 0) process.stderr.write(skipReport(split, chosen.length, template, tokenizer, maxPositions, several ? file : undefined));
    const capped = shortenedCount(split, maxNew, maxPositions);
    if (capped > 0) {
      process.stderr.write(`${head}${capped} of ${split.fits.length} evaluated records leave room for fewer than --max-new-tokens=${maxNew} response tokens; each gets ${maxPositions} minus its prompt tokens\n`);
    }
    return { file, records: chosen.length, fits: split.fits.length, skipped: split.tooLong.length };
  });
}

function nothingFits(contexts: FileContext[], maxPositions: number): Error {
  const what = contexts.length === 1
    ? `none of the ${contexts[0]!.records} records of ${contexts[0]!.file}`
    : `none of the records of ${contexts.map((c) => `${c.file} (${c.records})`).join(', ')}`;
  return new Error(`nothing to evaluate: ${what} fits the model's context (max_position_embeddings=${maxPositions})`);
}

/** "\rmath500: 12/40 samples" while generating, a newline when a benchmark is done. */
function progressLine(p: EvalProgress): void {
  if (p.phase === 'generate') process.stderr.write(`\r${p.benchmark}: ${p.finished}/${p.total} samples`);
  else if (p.phase === 'done') process.stderr.write('\n');
}

/** The stdout line: the report with each benchmark's file, and the totals earlier consumers read. */
function resultLine(values: EvalFlags, backend: string, template: string, contexts: FileContext[], names: string[], report: EvalReport) {
  const byName = new Map(names.map((name, i) => [name, contexts[i]!]));
  const benchmarks = report.benchmarks.map((b) => ({ file: byName.get(b.name)!.file, records: byName.get(b.name)!.records, ...b }));
  const unevaluated = report.unevaluated.map((u) => ({ file: byName.get(u.name)!.file, records: byName.get(u.name)!.records, ...u }));
  const accuracyOf = (name: string) => report.benchmarks.find((b) => b.name === name)?.meanAtN ?? null;
  const sum = (f: (c: FileContext) => number) => contexts.reduce((a, c) => a + f(c), 0);
  return {
    model: values.model!, data: values.data!, backend, template,
    records: sum((c) => c.records), evaluated: sum((c) => c.fits), skipped: sum((c) => c.skipped),
    shortened: report.benchmarks.reduce((a, b) => a + b.shortened.length, 0),
    // mean@n over the evaluated records: one number for one file, by benchmark for several
    accuracy: names.length === 1 ? accuracyOf(names[0]!) : Object.fromEntries(names.map((n) => [n, accuracyOf(n)])),
    sampling: report.sampling, limit: report.limit, benchmarks, unevaluated,
    seconds: report.timing.seconds, timing: report.timing,
  };
}

export async function evalCommand(argv: string[]): Promise<number> {
  const parsed = parseFlags(EVAL_COMMAND, argv);
  if (!parsed) return 0;
  const { values } = parsed;
  for (const flag of ['model', 'data'] as const) {
    if (!values[flag]) throw usage(`--${flag} is required`);
  }
  checkSampling(values);
  const files = await dataFiles(values.data!);
  const named = await namedTemplate(values.template);
  // a hub id (owner/name[@rev]) that is not a local directory is fetched into the HF cache first
  const { resolveModelPath } = await import('../hub/index.ts');
  const modelDir = await resolveModelPath(values.model!, 'all');
  checkPaths(modelDir, files);
  const { selectBackend } = await import('../engine/backend.ts');
  const { loadModel } = await import('../model/index.ts');
  const { loadTokenizer } = await import('../tokenizer/index.ts');
  const { defaultTemplateFor } = await import('../data/index.ts');
  const { benchmarkFromFile, evaluate, formatEvalReport, closeRewardPools } = await loadEval();
  const backend = await selectBackend(values.backend);
  const [model, tokenizer, benchmarks] = await Promise.all([
    loadModel(modelDir), loadTokenizer(modelDir), Promise.all(files.map((f) => benchmarkFromFile(f))),
  ]);
  const { model_type: modelType, max_position_embeddings: maxPositions } = model.config;
  const template = named ?? defaultTemplateFor(modelType);
  process.stderr.write(named
    ? `orz eval: template ${template.name} (--template)\n`
    : `orz eval: template ${template.name} (from the model: model_type "${modelType}"; --template to change)\n`);

  const withFiles = benchmarks.map((benchmark, i) => ({ file: files[i]!, benchmark: { ...benchmark, template } }));
  const contexts = await reportContext(withFiles, values, template, tokenizer, maxPositions);
  if (contexts.every((c) => c.fits === 0)) throw nothingFits(contexts, maxPositions);
  try {
    const report = await evaluate({
      model, tokenizer, benchmarks: withFiles.map((b) => b.benchmark),
      sampling: { n: values.n, temperature: values.temperature, maxNewTokens: values['max-new-tokens'], seed: values.seed },
      ...(values.limit === undefined ? {} : { limit: values.limit }),
      overlong: 'shorten', onProgress: progressLine,
    });
    process.stderr.write(`${formatEvalReport(report)}\n`);
    console.log(JSON.stringify(resultLine(values, backend.name, template.name, contexts, benchmarks.map((b) => b.name), report)));
  } finally {
    await closeRewardPools();
  }
  return 0;
}

async function loadEval() {
  const [{ benchmarkFromFile, evaluate, formatEvalReport }, { closeRewardPools }] = await Promise.all([
    import('../eval/index.ts'), import('../reward/index.ts'),
  ]);
  return { benchmarkFromFile, evaluate, formatEvalReport, closeRewardPools };
}
