// evaluate(suite): n samples per question of every benchmark, scored by its reward, summarised as an EvalReport.
// Deterministic by seed: each benchmark draws from a seed of (sampling seed, benchmark name), and each sample's
// stream depends only on that seed, its record's index in the benchmark and its sample index (RolloutEngine.rowSeed
// with promptIndices), so a benchmark's samples do not change when other benchmarks are added, when records before
// it are skipped, or when records are generated in groups by response budget (nor, up to the float round-off some
// backends have across batch sizes, when `limit` grows).

import { Rng } from '../engine/rng.ts';
import type { TransformerLM } from '../model/index.ts';
import { ORZ_STOP, RolloutEngine, type PromptInput } from '../rollout/engine.ts';
import { RolloutBatch, type RolloutSample } from '../rollout/rollout-batch.ts';
import { extractAnswer } from '../reward/extract.ts';
import { scoreSamples, type ScoreOptions } from '../reward/score.ts';
import type { RewardFn, Sample } from '../reward/types.ts';
import type { PromptTemplate } from '../data/template.ts';
import type { Tokenizer } from '../tokenizer/index.ts';
import { checkBenchmarkName, recordLevel, recordPrompt, resolveBenchmarkTemplate, resolveReward, type EvalBenchmark } from './benchmark.ts';
import { responseBudget } from './budget.ts';
import { accuracyMetrics, isCorrect, lengthMetrics, metricsByLevel, questionOutcomes, type ScoredSample } from './metrics.ts';
import { withDisplay, type BenchmarkReport, type EvalReport, type EvalSampleView, type ShortenedRecord, type SkippedRecord } from './report.ts';

export interface EvalSampling {
  /** Samples per question (ORZ reports mean@16). Default 1. */
  n: number;
  /** Default 0 (greedy); ORZ samples at 1. */
  temperature: number;
  topP: number;
  maxNewTokens: number;
  seed: number;
  stop: string[];
}

export const DEFAULT_EVAL_SAMPLING: EvalSampling = { n: 1, temperature: 0, topP: 1, maxNewTokens: 512, seed: 0, stop: ORZ_STOP };

export interface EvalProgress {
  benchmark: string;
  /** 0-based position of the benchmark in the suite. */
  benchmarkIndex: number;
  benchmarks: number;
  phase: 'generate' | 'score' | 'done';
  /** Samples generated so far (phase 'generate') of `total`. */
  finished: number;
  total: number;
  tokens: number;
  elapsedSec: number;
}

export type OverlongMode = 'error' | 'skip' | 'shorten';
const OVERLONG_MODES: readonly OverlongMode[] = ['error', 'skip', 'shorten'];

export interface EvalSuite {
  /** The engine to sample with; or give `model` and `tokenizer`. */
  engine?: RolloutEngine;
  model?: TransformerLM;
  tokenizer?: Tokenizer;
  benchmarks: EvalBenchmark[];
  sampling?: Partial<EvalSampling>;
  /** Evaluate the first `limit` records of each benchmark. */
  limit?: number;
  /**
   * A record whose prompt tokens plus maxNewTokens exceed the model's context: 'error' (default) stops with the
   * record named; 'skip' leaves it out and lists it in the report's `skipped`; 'shorten' gives it the room its
   * prompt leaves, min(maxNewTokens, context - prompt tokens), listed in `shortened`, and skips it only when its
   * prompt leaves no room at all.
   */
  overlong?: OverlongMode;
  onProgress?: (p: EvalProgress) => void;
  /** Stops generation (at the next token step) and scoring; evaluate rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Reward scoring options (workers, timeout); the suite's signal is passed on. */
  score?: Omit<ScoreOptions, 'signal'>;
  /**
   * Each benchmark's scored samples, as a RolloutBatch with a reward column (for tables in a notebook), in record
   * order; a sample's promptIndex is its record's index in the benchmark.
   */
  onBatch?: (benchmark: string, batch: RolloutBatch) => void;
}

function resolveSampling(s: Partial<EvalSampling> = {}): EvalSampling {
  const out = { ...DEFAULT_EVAL_SAMPLING, ...s };
  if (!(Number.isInteger(out.n) && out.n > 0)) throw new RangeError(`evaluate: sampling.n must be a positive integer, got ${out.n}`);
  if (out.temperature === 0 && out.n > 1) {
    throw new RangeError(`evaluate: temperature 0 gives ${out.n} identical samples per question; use n=1 for greedy, or a temperature > 0`);
  }
  if (!(Number.isInteger(out.seed) && out.seed >= 0)) throw new RangeError(`evaluate: sampling.seed must be an integer >= 0, got ${out.seed}`);
  return out;
}

/** The seed of one benchmark's samples: the sampling seed mixed with a hash of its name (FNV-1a). */
export function benchmarkSeed(seed: number, name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return new Rng((seed ^ h) >>> 0).nextU32();
}

function engineOf(suite: EvalSuite): RolloutEngine {
  if (suite.engine) return suite.engine;
  if (suite.model && suite.tokenizer) return new RolloutEngine(suite.model, suite.tokenizer);
  throw new TypeError('evaluate: give an engine, or a model and a tokenizer');
}

function checkSuite(suite: EvalSuite): void {
  if (!Array.isArray(suite.benchmarks) || suite.benchmarks.length === 0) throw new RangeError('evaluate: no benchmarks');
  const names = new Set<string>();
  for (const b of suite.benchmarks) {
    checkBenchmarkName(b.name);
    if (names.has(b.name)) throw new RangeError(`evaluate: two benchmarks are named ${JSON.stringify(b.name)}`);
    names.add(b.name);
    if (!Array.isArray(b.records) || b.records.length === 0) throw new RangeError(`evaluate: benchmark ${b.name} has no records`);
  }
  const l = suite.limit;
  if (l !== undefined && !(Number.isInteger(l) && l > 0)) throw new RangeError(`evaluate: limit must be a positive integer, got ${l}`);
  if (suite.overlong !== undefined && !OVERLONG_MODES.includes(suite.overlong)) {
    throw new RangeError(`evaluate: overlong must be ${OVERLONG_MODES.map((m) => `'${m}'`).join(', ')}, got ${JSON.stringify(suite.overlong)}`);
  }
}

/** Evaluates every benchmark of the suite in turn. */
export async function evaluate(suite: EvalSuite): Promise<EvalReport> {
  checkSuite(suite);
  const sampling = resolveSampling(suite.sampling);
  const engine = engineOf(suite);
  const start = performance.now();
  const report: EvalReport = {
    sampling: { n: sampling.n, temperature: sampling.temperature, topP: sampling.topP, maxNewTokens: sampling.maxNewTokens, seed: sampling.seed },
    limit: suite.limit ?? null,
    benchmarks: [],
    unevaluated: [],
    timing: { seconds: 0, byBenchmark: {} },
  };
  // every benchmark is checked (reward, template, prompts that do not fit) before anything is generated
  const planned = suite.benchmarks.map((b) => plan(engine, b, suite, sampling));
  for (const [i, p] of planned.entries()) {
    suite.signal?.throwIfAborted();
    if (p.prepared.inputs.length === 0) report.unevaluated.push({ name: p.benchmark.name, skipped: p.prepared.skipped });
    else report.benchmarks.push(await evaluateBenchmark(engine, p, i, suite, sampling, report));
  }
  report.timing.seconds = (performance.now() - start) / 1000;
  return withDisplay(report);
}

interface Prepared {
  inputs: PromptInput[];
  recordIndices: number[];
  /** Response tokens each input gets: maxNewTokens, or less with overlong 'shorten'. */
  budgets: number[];
  promptTokens: number[];
  levels: (string | undefined)[];
  skipped: SkippedRecord[];
  shortened: ShortenedRecord[];
}

/** Prompts of the benchmark's first `limit` records, with the ones that do not fit the context set aside or shortened. */
function prepare(engine: RolloutEngine, b: EvalBenchmark, template: PromptTemplate, suite: EvalSuite, sampling: EvalSampling): Prepared {
  const context = engine.model.config.max_position_embeddings;
  const mode = suite.overlong ?? 'error';
  const out: Prepared = { inputs: [], recordIndices: [], budgets: [], promptTokens: [], levels: [], skipped: [], shortened: [] };
  b.records.slice(0, suite.limit ?? b.records.length).forEach((r, recordIndex) => {
    if (b.reward === 'gpqa' && r['choices'] === undefined) {
      throw new TypeError(`evaluate: benchmark ${b.name}, record ${recordIndex} (${r.source.file}) has no "choices" for the 'gpqa' reward`);
    }
    const input = recordPrompt(r, template, recordIndex);
    const promptTokens = engine.tokenizer.encode(input.prompt).length;
    const budget = responseBudget(promptTokens, sampling.maxNewTokens, context);
    if (budget < sampling.maxNewTokens) {
      if (mode === 'error') {
        throw new RangeError(`evaluate: benchmark ${b.name}, record ${recordIndex} (${r.source.file}): its prompt of ${promptTokens} tokens `
          + `and maxNewTokens=${sampling.maxNewTokens} exceed the model's context of ${context} tokens; lower maxNewTokens, or pass overlong: 'skip' or 'shorten'`);
      }
      if (mode === 'skip' || budget === 0) {
        out.skipped.push({ recordIndex, promptTokens });
        return;
      }
      out.shortened.push({ recordIndex, promptTokens, budget });
    }
    out.inputs.push(input);
    out.recordIndices.push(recordIndex);
    out.budgets.push(budget);
    out.promptTokens.push(promptTokens);
    out.levels.push(recordLevel(r));
  });
  return out;
}

interface Planned { benchmark: EvalBenchmark; reward: { fn: RewardFn; name: string }; template: PromptTemplate; prepared: Prepared }

function plan(engine: RolloutEngine, benchmark: EvalBenchmark, suite: EvalSuite, sampling: EvalSampling): Planned {
  const template = resolveBenchmarkTemplate(benchmark.template);
  const reward = resolveReward(benchmark.reward, benchmark.name);
  return { benchmark, reward, template, prepared: prepare(engine, benchmark, template, suite, sampling) };
}

/** Generates and scores one benchmark's samples; the wall-clock figures go to `report.timing`. */
async function evaluateBenchmark(
  engine: RolloutEngine, p: Planned, benchmarkIndex: number, suite: EvalSuite, sampling: EvalSampling, report: EvalReport,
): Promise<BenchmarkReport> {
  const { benchmark: b, reward, template, prepared } = p;
  const where = { benchmark: b.name, benchmarkIndex, benchmarks: suite.benchmarks.length };
  const total = prepared.inputs.length * sampling.n;
  const t0 = performance.now();
  const since = () => (performance.now() - t0) / 1000;
  let tokens = 0;
  const progress = (phase: EvalProgress['phase'], finished: number) =>
    suite.onProgress?.({ ...where, phase, finished, total, tokens, elapsedSec: since() });
  const signal = suite.signal ? { signal: suite.signal } : {};

  progress('generate', 0);
  // one call: the engine gives each row its own budget, min(maxNewTokens, context - its prompt), and each row
  // the stream of its record (promptIndices), so a record draws the same samples whatever else is evaluated
  const generated = await engine.generate(prepared.inputs, {
    n: sampling.n, temperature: sampling.temperature, topP: sampling.topP, maxNewTokens: sampling.maxNewTokens,
    stop: sampling.stop, seed: benchmarkSeed(sampling.seed, b.name),
  }, {
    ...signal, promptIndices: prepared.recordIndices,
    onProgress: (p) => { tokens = p.tokens; progress('generate', p.finished); },
  });
  const generateSec = since();
  progress('score', total);
  const samples = generated.samples();
  const rewards = await scoreSamples(reward.fn, samples as Sample[], { ...suite.score, ...signal });
  report.timing.byBenchmark[b.name] = { generateSec, scoreSec: since() - generateSec, tokens };
  suite.onBatch?.(b.name, generated.withRewards(rewards));
  progress('done', total);
  const scored = samples.map((s, i) => ({ ...s, reward: rewards[i]! }));
  return summarize(b.name, reward.name, template.name, sampling, prepared, scored);
}

function view(s: RolloutSample, recordIndex: number, question: string): EvalSampleView {
  return {
    recordIndex, sampleIndex: s.sampleIndex, question, response: s.response, answer: extractAnswer(s.response),
    groundTruth: s.groundTruth, reward: s.reward!, finishReason: s.finishReason, responseTokens: s.responseIds.length,
  };
}

function summarize(
  name: string, reward: string, template: string, sampling: EvalSampling, prepared: Prepared, samples: RolloutSample[],
): BenchmarkReport {
  const questions = prepared.inputs.length;
  const base = { name, reward, template, questions, samplesPerQuestion: sampling.n, skipped: prepared.skipped, shortened: prepared.shortened };
  // a sample's promptIndex is its record's index; questions are the evaluated records in order
  const questionOf = new Map(prepared.recordIndices.map((recordIndex, q) => [recordIndex, q]));
  const metricSamples: ScoredSample[] = samples.map((s) => ({
    questionIndex: questionOf.get(s.promptIndex)!, reward: s.reward!, finishReason: s.finishReason, responseTokens: s.responseIds.length, responseChars: s.response.length,
  }));
  const outcomes = questionOutcomes(metricSamples, questions, sampling.n, prepared.levels);
  const accuracy = accuracyMetrics(outcomes);
  const greedy = sampling.n === 1 && sampling.temperature === 0;
  const questionText = (s: RolloutSample) => String(s['question'] ?? s.prompt);
  const firstCorrect = samples.find((s) => isCorrect(s.reward!));
  const firstWrong = samples.find((s) => !isCorrect(s.reward!));
  return {
    ...base,
    meanAtN: accuracy.meanAtN,
    passAtK: accuracy.passAtK,
    greedyAccuracy: greedy ? accuracy.meanAtN : null,
    lengths: lengthMetrics(metricSamples),
    byLevel: metricsByLevel(outcomes),
    perQuestion: outcomes.map((q, i) => ({ recordIndex: prepared.recordIndices[i]!, correct: q.correct, ...(q.level === undefined ? {} : { level: q.level }) })),
    firstCorrect: firstCorrect ? view(firstCorrect, firstCorrect.promptIndex, questionText(firstCorrect)) : null,
    firstWrong: firstWrong ? view(firstWrong, firstWrong.promptIndex, questionText(firstWrong)) : null,
  };
}
