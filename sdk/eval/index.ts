// Evaluation: n samples per question over several benchmarks (MATH500, AIME24, GPQA-Diamond, ...), mean@n and
// unbiased pass@k, by level, with lengths, truncation and samples to inspect.
export { evaluate, benchmarkSeed, DEFAULT_EVAL_SAMPLING, type EvalSuite, type EvalSampling, type EvalProgress, type OverlongMode } from './harness.ts';
export { responseBudget } from './budget.ts';
export {
  benchmarkFromFile, checkBenchmarkName, questionWithChoices, recordPrompt, resolveReward, type EvalBenchmark, type RewardName,
} from './benchmark.ts';
export {
  evalMetricsRow, evalReportTable, formatEvalReport, evalReportBundle,
  type EvalReport, type BenchmarkReport, type EvalSampleView, type SkippedRecord, type ShortenedRecord, type EvalTiming, type EvalMetricsRow,
} from './report.ts';
export {
  passAtK, meanAtN, meanPassAtK, reportedKs, accuracyMetrics, metricsByLevel, lengthMetrics, questionOutcomes, isCorrect,
  type QuestionOutcome, type ScoredSample, type AccuracyMetrics, type LevelMetrics, type LengthMetrics,
} from './metrics.ts';
export {
  reflectionWords, reflectionWordCounts, repeatness, responsePatterns, REFLECTION_PATTERNS, type ResponsePatterns,
} from './response-patterns.ts';
