// orz: Open-Reasoner-Zero in TypeScript. The public API.

// engine: importing the SDK activates the best backend there is (sdk/engine/default-backend.ts)
import { ensureDefaultBackend } from './engine/default-backend.ts';
ensureDefaultBackend();
export { tf } from './engine/tf.ts';
export { ensureDefaultBackend } from './engine/default-backend.ts';
export { selectBackend, activeBackend, type BackendName, type BackendChoice } from './engine/backend.ts';
export { Rng } from './engine/rng.ts';
// model and tokenizer
export { TransformerLM, KVCache, loadModel, saveModel, parseModelConfig, readSafetensors, writeSafetensors, type ModelConfig } from './model/index.ts';
export { loadTokenizer, saveTokenizer, tokenizerFromJSON, trainByteLevelBPE, type Tokenizer } from './tokenizer/index.ts';
export { ensureSnapshot, resolveModelPath, parseHubId, hubCacheDir, type HubId, type Snapshot } from './hub/index.ts';
// data
export {
  readDataset, readOrzTrainJson, readOrzEvalJson, readJsonl, DataError, type ProblemRecord,
  ORZ_TEMPLATE, MINI_TEMPLATE, applyTemplate, resolveTemplate, defaultTemplateFor, type PromptTemplate,
  arithProblems, arithCorpus, generateArithProblem, writeSolution, type ArithProblem,
} from './data/index.ts';
// rollout
export { RolloutEngine, ORZ_STOP, DEFAULT_GENERATE, type GenerateParams, type PromptInput, type GenerateProgress } from './rollout/engine.ts';
export { RolloutBatch, type RolloutSample, type SkippedPrompt } from './rollout/rollout-batch.ts';
// reward
export { mathReward, mathRewardFixed, mathRewardWith, orzAnswerEqual, extractAnswerOrz, type RewardQuirks, mathAnswerEqual, extractAnswer, lastBoxed, normalizeAnswer, scoreSamples, RewardError, type RewardFn, type Sample, type FinishReason } from './reward/index.ts';
export { rewardModule, inProcessReward, RewardPool, closeRewardPools, type RewardModule, type BatchRewardFn, type ScoreOptions } from './reward/index.ts';
export { choiceReward, chosenLetters, type Choices } from './reward/index.ts';
// eval: n samples per question over several benchmarks, mean@n and pass@k (sdk/eval)
export {
  evaluate, benchmarkFromFile, evalMetricsRow, formatEvalReport, evalReportBundle, evalReportTable, passAtK, meanAtN, reportedKs,
  DEFAULT_EVAL_SAMPLING, type EvalSuite, type EvalBenchmark, type EvalSampling, type EvalProgress, type EvalReport, type BenchmarkReport,
  type EvalSampleView, type EvalMetricsRow, type RewardName,
} from './eval/index.ts';
// what ORZ logs about responses: reflection words and repeatness
export { reflectionWords, reflectionWordCounts, repeatness, responsePatterns, type ResponsePatterns } from './eval/index.ts';
// ppo
export { Trainer, type TrainerInit, type TrainerState, type Experience, type EvalResult } from './ppo/trainer.ts';
export { resolveTrainerConfig, ORZ_DEFAULTS, type TrainerConfig, type TrainerConfigInput } from './ppo/config.ts';
export { Critic } from './ppo/critic.ts';
export { experienceTokens, ExperienceTokens, type ExperienceTokensOptions } from './ppo/experience-table.ts';
export { advantagesGAE, advantagesGRPO, normalizeAdvantages, tokenRewards } from './ppo/advantages.ts';
export { policyLoss, valueLoss, klPerToken, maskedMean } from './ppo/losses.ts';
export { Adam, type AdamConfig } from './ppo/optimizer.ts';
export { MetricsLog, type MetricsRow } from './ppo/metrics-log.ts';
// run: the loop, run directories, checkpoints, run configs, the report and the live chart
export { runTrainer, resumeFrom, latestCheckpoint, type RunOptions } from './run/loop.ts';
export { readRunConfig, trainerFromRunConfig, type RunConfig } from './run/run-config.ts';
export type { EvalSetConfig } from './run/eval-sets.ts';
export { trainingChart, renderReport } from './run/index.ts';
// memory pre-flight: will a run fit? (sdk/run)
export { memoryPlan, type MemoryPlan, type MemoryPlanInput, type MemoryTerm } from './run/memory-plan.ts';
export { preflight, type PreflightResult, type PreflightOptions, type Suggestion } from './run/preflight.ts';
export { preflightRun } from './run/preflight-run.ts';
// viz
export {
  lineFigure, plotlyBundle, isPlotlyFigure, tableBundle, textTable, recordsBundle, tensorBundle, progressLine, ProgressBar,
  LiveDisplay, type MimeBundle, type PlotlyFigure,
} from './viz/index.ts';
// notebook hosts (a Jupyter kernel sets this so trainer.run() sees the cell's interrupt and shows live charts)
export { setAmbientHost, ambientHost, type AmbientHost } from './util/ambient.ts';
// sessions: a long-lived process holds models and trainers; notebooks attach, detach and re-attach (sdk/session)
export {
  Session, RemoteModel, RemoteTokenizer, RemoteDataset, RemoteEngine, RemoteTrainer, SessionEvents, SessionError, HostTensor,
  listSessions, orzHome,
  type LocalSessionOptions, type AttachOptions, type SessionTrainerInit, type RemoteHandle, type RemoteExperience, type RemoteRunOptions,
  type TrainerInfo, type SessionEvent, type SessionConnection, type HandleInfo, type SessionStatus,
} from './session/index.ts';
