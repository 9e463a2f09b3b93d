// Trainer: Open-Reasoner-Zero's PPO loop, one iteration at a time.
//
//   prompts -> generate (n samples each) -> score (binary reward) -> makeExperience (critic + GAE)
//           -> update (critic steps, policy step) -> metrics row
//
// Every arrow is a public method, so a notebook can run them one by one and look in between;
// step() chains them and run() loops with progress, evaluation and checkpoints.

import { tf } from '../engine/tf.ts';
import { Rng } from '../engine/rng.ts';
import type { TransformerLM } from '../model/index.ts';
import type { Tokenizer } from '../tokenizer/index.ts';
import { applyTemplate, resolveTemplate, type ProblemRecord, type PromptTemplate } from '../data/index.ts';
import { RolloutEngine, type GenerateProgress, type PromptInput } from '../rollout/engine.ts';
import { failpoint } from '../util/failpoint.ts';
import type { RolloutBatch, RolloutSample, SkippedPrompt } from '../rollout/rollout-batch.ts';
import { mathReward, scoreSamples, type RewardFn, type Sample } from '../reward/index.ts';
import { estimateAdvantages } from './advantages.ts';
import { BehaviourPolicy, behaviourVersion, Prefetch, type WeightsSnapshot } from './behaviour-policy.ts';
import { resolveTrainerConfig, type TrainerConfig, type TrainerConfigInput } from './config.ts';
import { Critic } from './critic.ts';
import { experienceColumns, forwardInChunks, scoredSamples, type Experience } from './experience.ts';
import { responseLogprobs } from './forward.ts';
import { klPerToken, maskedMean, policyLoss, valueLoss } from './losses.ts';
import { METRIC, type NamedMetrics, type UpdateStat } from './metric-names.ts';
import { MetricsLog, type MetricsRow } from './metrics-log.ts';
import { Adam } from './optimizer.ts';
import { rolloutStats } from './rollout-stats.ts';
import { optimizeEpoch, type BatchLoss } from './update.ts';
import type { RunOptions } from './run-options.ts';
import type { AdamState } from './optimizer.ts';

export interface TrainerInit {
  policy: TransformerLM;
  tokenizer: Tokenizer;
  dataset: ProblemRecord[];
  evalDataset?: ProblemRecord[];
  /** Default: ORZ's binary math reward. */
  reward?: RewardFn;
  config?: TrainerConfigInput;
  /** Critic to train; by default a copy of the policy with a fresh value head (GAE only). */
  critic?: Critic;
  /**
   * What generates rollouts (default: a RolloutEngine on `policy` and `tokenizer`). It must sample from the
   * same weights the trainer updates, e.g. a session's engine that runs on rollout workers.
   */
  engine?: RolloutEngine;
}

/**
 * Everything a trainer carries from one iteration to the next besides its weights (trainer.state(),
 * trainer.restore()). There is no RNG state: every random draw is seeded from (seed, purpose, iteration).
 */
export interface TrainerState {
  /** Completed iterations. */
  iteration: number;
  /** Prompts consumed so far. */
  dataCursor: number;
  metrics: readonly MetricsRow[];
  policyOptimizer: AdamState;
  /** Null exactly when the trainer has no critic. */
  criticOptimizer: AdamState | null;
}

export type { Experience } from './experience.ts';

export interface StepOptions {
  signal?: AbortSignal;
  /**
   * asyncRollouts on rollout workers: start the next iteration's generation during this update (default true;
   * run() passes false for its last iteration). It is consumed by the next step(), or stopped by discardPrefetch().
   */
  prefetchNext?: boolean;
}
export type { RunOptions } from './run-options.ts';

/**
 * Accuracy and lengths are over the generated records; `skipped` lists the records (promptIndex = eval
 * record index) whose prompt leaves no room for a response under the context: not generated, not counted.
 */
export interface EvalResult {
  accuracy: number; responseLength: number; truncatedFraction: number; byLevel: Record<string, number>; batch: RolloutBatch;
  skipped: readonly SkippedPrompt[];
}

/** Mixes a seed with a counter into an independent 32-bit seed. */
export function deriveSeed(seed: number, ...parts: number[]): number {
  let r = new Rng(seed);
  for (const p of parts) r = new Rng(r.nextU32() ^ Math.imul(p + 1, 0x9e3779b1));
  return r.nextU32();
}

/** The loss statistics of one minibatch, by the names the update logs them under (policy/<stat>, critic/<stat>). */
type LossStats = { [K in UpdateStat]?: tf.Scalar };

export class Trainer {
  readonly config: TrainerConfig;
  readonly policy: TransformerLM;
  readonly critic: Critic | null;
  readonly reference: TransformerLM | null;
  readonly tokenizer: Tokenizer;
  readonly engine: RolloutEngine;
  readonly template: PromptTemplate;
  readonly metrics = new MetricsLog();
  readonly dataset: ProblemRecord[];
  readonly evalDataset: ProblemRecord[];
  reward: RewardFn;
  #iteration = 0;
  #dataCursor = 0;
  readonly policyOptimizer: Adam;
  readonly criticOptimizer: Adam | null;

  constructor(init: TrainerInit) {
    this.config = resolveTrainerConfig(init.config);
    if (init.dataset.length === 0) throw new Error('Trainer: the training dataset is empty');
    const c = this.config;
    this.policy = init.policy;
    this.tokenizer = init.tokenizer;
    this.dataset = init.dataset;
    this.evalDataset = init.evalDataset ?? [];
    this.reward = init.reward ?? mathReward;
    this.template = resolveTemplate(c.template);
    this.engine = init.engine ?? new RolloutEngine(this.policy, this.tokenizer);
    this.critic = c.advantageEstimator === 'gae' ? (init.critic ?? Critic.fromPolicy(this.policy, deriveSeed(c.seed, 1))) : null;
    this.reference = c.kl.coef > 0 || c.kl.log ? this.policy.clone() : null;
    const adam = (lr: number) => ({ lr, betas: c.adamBetas, eps: 1e-8, weightDecay: c.weightDecay, gradClip: c.gradClip, warmupSteps: c.warmupSteps });
    this.policyOptimizer = new Adam(adam(c.policyLr), this.policy.weights);
    this.criticOptimizer = this.critic ? new Adam(adam(c.criticLr), this.critic.weights()) : null;
    this.behaviour = c.asyncRollouts.maxStaleness > 0 ? new BehaviourPolicy(this.policy, c.asyncRollouts.maxStaleness, this.engine) : null;
  }

  /** asyncRollouts (maxStaleness >= 1): the older weights rollouts are sampled from (behaviour-policy.ts); else null. */
  readonly behaviour: BehaviourPolicy | null;
  #prefetch: Prefetch | null = null;
  #usedPrefetch = false; // whether the last generateBehind() took a prefetched batch

  /** The next iteration's generation started during the last update (rollout workers, maxStaleness >= 1), if any. */
  get prefetching(): { iteration: number; version: number } | null {
    return this.#prefetch ? { iteration: this.#prefetch.iteration, version: this.#prefetch.version } : null;
  }

  /**
   * Stops a prefetched generation and waits for it to end on the workers; its prompts were never consumed.
   * Says whether there was one, and whether it was cut short ('stopped') or had ended by itself.
   */
  async discardPrefetch(reason = 'the prefetched generation was discarded'): Promise<'stopped' | 'ended' | 'none'> {
    const p = this.#prefetch;
    this.#prefetch = null;
    return p ? p.cancel(reason) : 'none';
  }

  /** Completed iterations. */
  get iteration(): number {
    return this.#iteration;
  }

  /** Prompts consumed so far; with the seed it fixes the data order (epoch = floor(cursor / N)). */
  get dataCursor(): number {
    return this.#dataCursor;
  }

  /** A copy of the iteration counter, data cursor, metrics rows and optimizer state (see TrainerState). */
  state(): TrainerState {
    return {
      iteration: this.#iteration,
      dataCursor: this.#dataCursor,
      metrics: [...this.metrics.rows],
      policyOptimizer: this.policyOptimizer.state(),
      criticOptimizer: this.criticOptimizer?.state() ?? null,
    };
  }

  /**
   * Puts the trainer back in a state from state() (or a checkpoint): counters, metrics rows and optimizer
   * moments; weights are restored separately. Checked before anything changes; `source` names where the
   * state came from in errors.
   */
  restore(s: TrainerState, source = 'trainer state'): void {
    const count = (v: unknown, what: string) => {
      if (!(Number.isInteger(v) && (v as number) >= 0)) throw new Error(`${source}: ${what} must be an integer >= 0, got ${JSON.stringify(v)}`);
    };
    count(s.iteration, 'iteration');
    count(s.dataCursor, 'dataCursor');
    if ((s.criticOptimizer === null) !== (this.criticOptimizer === null)) {
      throw new Error(`${source}: ${this.criticOptimizer ? 'lacks the critic optimizer state this trainer needs' : 'holds a critic optimizer state, but this trainer has no critic'}`);
    }
    const later = s.metrics.find((r) => typeof r['iteration'] === 'number' && r['iteration'] > s.iteration);
    if (later) throw new Error(`${source}: holds a metrics row for iteration ${later['iteration']}, after its iteration ${s.iteration}`);
    this.policyOptimizer.load(s.policyOptimizer, source);
    if (this.criticOptimizer) this.criticOptimizer.load(s.criticOptimizer!, source);
    void this.discardPrefetch('the trainer was restored'); // drawn for the old state
    this.#iteration = s.iteration;
    this.#dataCursor = s.dataCursor;
    this.metrics.replaceRows(s.metrics);
  }

  /** The next `promptsPerIteration` records in the seeded epoch order; advances the data cursor. */
  nextPrompts(): PromptInput[] {
    const out = this.promptsAt(this.#dataCursor);
    this.#dataCursor += out.length;
    return out;
  }

  /** The `promptsPerIteration` records at data cursor `cursor`, without moving the trainer's. */
  private promptsAt(cursor: number): PromptInput[] {
    const N = this.dataset.length;
    const out: PromptInput[] = [];
    for (let k = 0; k < this.config.promptsPerIteration; k++, cursor++) {
      const order = this.epochOrder(Math.floor(cursor / N));
      out.push(this.toPrompt(this.dataset[order[cursor % N]!]!));
    }
    return out;
  }

  private epochOrderCache: { epoch: number; order: number[] } | null = null;
  private epochOrder(epoch: number): number[] {
    if (this.epochOrderCache?.epoch !== epoch) {
      const order = new Rng(deriveSeed(this.config.seed, 2, epoch)).shuffle(Array.from({ length: this.dataset.length }, (_, i) => i));
      this.epochOrderCache = { epoch, order };
    }
    return this.epochOrderCache.order;
  }

  private toPrompt(r: ProblemRecord): PromptInput {
    const { prompt, groundTruth, source: _source, ...extra } = r;
    return { ...extra, question: prompt, prompt: applyTemplate(this.template, prompt), groundTruth };
  }

  /** Samples `samplesPerPrompt` responses for the given prompts (default: the next ones from the dataset). */
  async generate(prompts?: PromptInput[], opts: { signal?: AbortSignal; onProgress?: (p: GenerateProgress) => void } = {}): Promise<RolloutBatch> {
    return this.engine.generate(prompts ?? this.nextPrompts(), this.rolloutParams(this.iteration + 1), opts);
  }

  /**
   * Swaps the reward for every later score(), step() and run() iteration (a run in progress picks it up at its
   * next iteration). `timeoutMs` bounds each sample's call (default 10 s): a reward that takes longer fails the
   * iteration with a RewardError naming the sample, and the iteration is not consumed.
   */
  setReward(reward: RewardFn, opts: { timeoutMs?: number } = {}): this {
    const fnOrSpec = typeof reward === 'function' || (typeof reward === 'object' && reward !== null);
    if (!fnOrSpec) throw new TypeError(`Trainer.setReward: the reward must be a function, a { batch } object or a rewardModule(...), got ${reward === null ? 'null' : typeof reward}`);
    const t = opts.timeoutMs;
    if (t !== undefined && !(Number.isFinite(t) && t > 0)) throw new RangeError(`Trainer.setReward: timeoutMs must be a positive number of milliseconds, got ${String(t)}`);
    this.reward = reward;
    this.rewardTimeoutMs = t;
    return this;
  }

  /** The per-sample reward timeout set by setReward() (undefined: scoreSamples' default, 10 s). */
  rewardTimeoutMs: number | undefined = undefined;

  /** Scores every sample with the reward function; returns the batch with a `reward` column. */
  async score(batch: RolloutBatch): Promise<RolloutBatch> {
    const samples = batch.samples().map((s) => ({ ...s, groundTruth: s.groundTruth ?? '' }) as Sample);
    const rewards = await scoreSamples(this.reward, samples, this.rewardTimeoutMs === undefined ? {} : { timeoutMs: this.rewardTimeoutMs });
    return batch.withRewards(rewards);
  }

  /**
   * The experience of a scored batch (make_experience in OpenRLHF/ORZ): the rollout's columns, the critic's
   * V(s_t) and the reference's log pi_ref(a_t|s_t) (forwards in chunks of microBatchRows), then the
   * advantages A_t and returns G_t. Changes no weights.
   */
  makeExperience(batch: RolloutBatch): Experience {
    const c = this.config;
    const padId = this.tokenizer.padId;
    const x = experienceColumns(batch, padId);
    const chunk = c.microBatchRows > 0 ? c.microBatchRows : x.N;
    const values = this.critic ? forwardInChunks(x, chunk, padId, (tb) => this.critic!.values(tb), c.packingMaxLen) : null;
    const refLogprobs = this.reference ? forwardInChunks(x, chunk, padId, (tb) => responseLogprobs(this.reference!, tb).logp, c.packingMaxLen) : null;
    return estimateAdvantages(c, x, values, refLogprobs);
  }

  /**
   * One PPO update (Schulman et al. 2017, as ORZ runs it): critic steps on the clipped value loss, then,
   * after the critic warmup, policy steps on L = L_clip + beta * KL - c_H * H. Each step is a minibatch of
   * the shuffled rows; losses are token means over the minibatch. Returns loss statistics.
   */
  async update(exp: Experience): Promise<MetricsRow> {
    const c = this.config;
    const order = new Rng(deriveSeed(c.seed, 4, this.iteration)).shuffle(Array.from({ length: exp.N }, (_, i) => i));
    const epoch = (steps: number, params: Map<string, tf.Variable>, optimizer: Adam, loss: BatchLoss) =>
      optimizeEpoch({ exp, order, steps, microBatchRows: c.microBatchRows, padId: this.tokenizer.padId, packing: c.packingMaxLen, params, optimizer, loss });
    const out: MetricsRow = {};
    const t0 = performance.now();

    const critic = this.critic;
    if (critic && this.criticOptimizer && exp.values && exp.returns) {
      const stats = epoch(c.criticUpdateSteps, critic.weights(), this.criticOptimizer, (mb) => {
        // L_V = 0.5 * max((V - G)^2, (V_clip - G)^2),  V_clip = V_old + clip(V - V_old, -eps_V, eps_V)
        const { loss, clipFraction } = valueLoss(critic.values(mb.tokens), mb.values, mb.returns, mb.mask, c.valueClip);
        return { loss, stats: { loss, clip_fraction: clipFraction } satisfies LossStats };
      });
      for (const [k, v] of Object.entries(stats)) out[`critic/${k}`] = v;
    }
    failpoint('update', this.iteration + 1);
    out[METRIC.updateCriticTime] = (performance.now() - t0) / 1000;

    const t1 = performance.now();
    if (this.iteration >= c.criticWarmupIterations) {
      const klInLoss = c.kl.coef > 0 && c.kl.where === 'loss' && exp.refLogprobs !== null;
      const stats = epoch(c.policyUpdateSteps, this.policy.weights, this.policyOptimizer, (mb) => {
        const { logp, entropy } = responseLogprobs(this.policy, mb.tokens, true); // log pi_theta(a_t|s_t), H_t
        // L_clip = -min(rho_t A_t, clip(rho_t, 1 - eps, 1 + eps) A_t),  rho_t = exp(log pi_theta - log pi_old)
        const clip = policyLoss(logp, mb.oldLogprobs, mb.advantages, mb.mask, c.clipRatio);
        const H = maskedMean(entropy!, mb.mask);
        const stats: LossStats = { loss: clip.loss, clip_fraction: clip.clipFraction, approx_kl: clip.approxKL, entropy: H };
        let loss = clip.loss;
        if (klInLoss) { // + beta * KL(pi_theta || pi_ref)
          const kl = maskedMean(klPerToken(logp, mb.refLogprobs, c.kl.estimator), mb.mask);
          loss = tf.add(loss, tf.mul(kl, c.kl.coef)) as tf.Scalar;
          stats.kl_loss = kl;
        }
        if (c.entropyCoef !== 0) loss = tf.sub(loss, tf.mul(H, c.entropyCoef)) as tf.Scalar; // - c_H * H
        return { loss, stats };
      });
      for (const [k, v] of Object.entries(stats)) out[`policy/${k}`] = v;
    }
    out[METRIC.updatePolicyTime] = (performance.now() - t1) / 1000;

    const trainTokens = exp.promptLengths.reduce((a, n) => a + n, 0) + exp.lengths.reduce((a, n) => a + n, 0);
    const dt = (performance.now() - t0) / 1000;
    out[METRIC.trainTokensPerSec] = dt > 0 ? trainTokens / dt : null;
    return out;
  }

  /** Decodes the eval set (greedy by default, else `evalGeneration.n` samples each) and scores it with the trainer's reward. */
  async evaluate(opts: { limit?: number; signal?: AbortSignal } = {}): Promise<EvalResult> {
    const records = this.evalDataset.slice(0, opts.limit ?? this.evalDataset.length);
    if (records.length === 0) throw new Error('evaluate: no eval dataset');
    const g = this.config.evalGeneration;
    const batch = await this.score(await this.engine.generate(records.map((r) => this.toPrompt(r)), {
      ...this.config.generation, temperature: g.temperature, maxNewTokens: g.maxNewTokens, n: g.n, seed: deriveSeed(this.config.seed, 5),
    }, { signal: opts.signal }));
    const samples = batch.samples();
    const acc = (xs: RolloutSample[]) => xs.filter((s) => (s.reward ?? 0) > 0.5).length / Math.max(xs.length, 1);
    const byLevel: Record<string, number> = {};
    const levels = [...new Set(samples.map((s) => s['level']).filter((l) => l !== undefined && l !== null))].sort();
    for (const l of levels) byLevel[String(l)] = acc(samples.filter((s) => s['level'] === l));
    return {
      accuracy: acc(samples),
      responseLength: samples.reduce((a, s) => a + s.responseIds.length, 0) / Math.max(samples.length, 1),
      truncatedFraction: samples.filter((s) => s.finishReason === 'length').length / Math.max(samples.length, 1),
      byLevel,
      batch,
      skipped: batch.skipped,
    };
  }

  /**
   * One whole PPO iteration: generate, score, makeExperience, update. Returns (and logs) its metrics row.
   *
   * A failure or abort anywhere before the iteration completes gives its prompts back (the data cursor is
   * restored), so a retry draws the same prompts with the same seeds. Generation, scoring and the experience
   * change no weights. The update is synchronous tensor work that no signal interrupts; if it throws after
   * an optimizer step was applied (a backend error: non-finite losses are skipped, not thrown), the weights
   * are partly updated, and the error says so: reload a checkpoint before retrying.
   */
  async step(opts: StepOptions = {}): Promise<MetricsRow & { iteration: number }> {
    const cursorBefore = this.dataCursor;
    const stepsBefore = this.optimizerSteps();
    try {
      return await this.stepOnce(opts);
    } catch (e) {
      await this.discardPrefetch('the iteration before it failed');
      this.#dataCursor = cursorBefore;
      const stepsAfter = this.optimizerSteps();
      if (stepsAfter !== stepsBefore) {
        throw new Error(`Trainer.step: iteration ${this.iteration + 1} failed after ${stepsAfter - stepsBefore} optimizer step(s) were applied; the weights are partly updated (reload a checkpoint before retrying): ${(e as Error)?.message ?? String(e)}`, { cause: e });
      }
      throw e;
    }
  }

  /** Applied steps of both optimizers (skipped non-finite steps do not count). */
  private optimizerSteps(): number {
    return this.policyOptimizer.step + (this.criticOptimizer?.step ?? 0);
  }

  private async stepOnce(opts: StepOptions): Promise<MetricsRow & { iteration: number }> {
    const t = performance.now();
    const producing = this.iteration + 1;
    const onProgress = (p: GenerateProgress) => { if (p.finished * 2 >= p.total) failpoint('generate', producing); };
    const generated = this.behaviour
      ? await this.generateBehind(producing, opts.signal, onProgress)
      : await this.generate(undefined, { signal: opts.signal, onProgress });
    const genSec = (performance.now() - t) / 1000;
    const tScore = performance.now();
    const batch = await this.score(generated);
    const scoreSec = (performance.now() - tScore) / 1000;
    const tAdv = performance.now();
    const exp = this.makeExperience(batch);
    const advSec = (performance.now() - tAdv) / 1000;
    if (this.behaviour && this.engine.overlapsTraining && opts.prefetchNext !== false) await this.startPrefetch(producing + 1, opts.signal);
    const upd = await this.update(exp);
    this.#iteration += 1;
    this.lastBatch = batch;
    const genTokens = exp.lengths.reduce((a, n) => a + n, 0);
    const named = {
      [METRIC.genTokensPerSec]: genSec > 0 ? genTokens / genSec : null,
      [METRIC.generateTime]: genSec,
      [METRIC.scoreTime]: scoreSec,
      [METRIC.advantagesTime]: advSec,
      [METRIC.iterationTime]: (performance.now() - t) / 1000,
    } satisfies NamedMetrics;
    const row: MetricsRow & { iteration: number } = {
      [METRIC.iteration]: this.iteration,
      ...rolloutStats(scoredSamples(exp)),
      ...exp.stats,
      ...upd,
      ...named,
      ...(batch.skipped.length > 0 ? { [METRIC.skippedPrompts]: batch.skipped.length } : {}),
      ...(this.behaviour ? {
        [METRIC.rolloutWeightVersion]: behaviourVersion(producing, this.behaviour.maxStaleness),
        [METRIC.rolloutStaleness]: producing - 1 - behaviourVersion(producing, this.behaviour.maxStaleness),
        [METRIC.rolloutPrefetched]: this.#usedPrefetch ? 1 : 0,
      } satisfies NamedMetrics : {}),
    };
    this.metrics.append(row);
    return row;
  }

  /** The sampling parameters of iteration `iteration`'s rollouts (its seed: the iteration before it). */
  private rolloutParams(iteration: number) {
    return { ...this.config.generation, n: this.config.samplesPerPrompt, seed: deriveSeed(this.config.seed, 3, iteration - 1) };
  }

  /**
   * asyncRollouts: iteration `producing`'s rollouts, from the weights of version v(producing) (behaviour-policy.ts):
   * the batch prefetched during the last update when there is one for these prompts, else generated now. Before
   * that, the current weights (version producing - 1) are kept for the iterations that will sample from them.
   */
  private async generateBehind(producing: number, signal: AbortSignal | undefined, onProgress: (p: GenerateProgress) => void): Promise<RolloutBatch> {
    const behaviour = this.behaviour!;
    this.#usedPrefetch = false;
    behaviour.record(producing - 1, producing);
    const pf = this.#prefetch;
    this.#prefetch = null;
    if (pf && pf.iteration === producing && pf.cursor === this.#dataCursor) {
      const batch = await pf.take(signal);
      this.#dataCursor += pf.promptCount; // consumed only now
      this.#usedPrefetch = true;
      return batch;
    }
    await pf?.cancel('a prefetch for another iteration or data cursor');
    behaviour.hold(behaviourVersion(producing, behaviour.maxStaleness), `Trainer.step (iteration ${producing})`);
    return behaviour.engine.generate(this.nextPrompts(), this.rolloutParams(producing), { signal, onProgress });
  }

  /** Starts iteration `next`'s generation on the workers and waits until it is on them (then the update may block this thread). */
  private async startPrefetch(next: number, signal: AbortSignal | undefined): Promise<void> {
    const behaviour = this.behaviour!;
    const version = behaviourVersion(next, behaviour.maxStaleness); // <= next - 2: kept by generateBehind's record
    behaviour.hold(version, `Trainer.step (prefetching iteration ${next})`);
    const cursor = this.#dataCursor;
    const prompts = this.promptsAt(cursor);
    this.#prefetch = new Prefetch(next, cursor, prompts.length, version,
      (sig, onDispatched) => behaviour.engine.generate(prompts, this.rolloutParams(next), { signal: sig, onDispatched }), signal);
    await this.#prefetch.dispatched;
  }

  /** The asyncRollouts weights versions kept besides the current one (for a checkpoint). */
  behaviourWeights(): Map<number, WeightsSnapshot> {
    const out = new Map<number, WeightsSnapshot>();
    if (!this.behaviour) return out;
    const needed = behaviourVersion(this.iteration + 1, this.behaviour.maxStaleness);
    for (const v of this.behaviour.versions()) if (v >= needed && v < this.iteration) out.set(v, this.behaviour.snapshot(v)!);
    return out;
  }

  /** Replaces the kept versions (from a checkpoint). */
  setBehaviourWeights(weights: Map<number, WeightsSnapshot>): void {
    if (!this.behaviour) return;
    this.behaviour.clear();
    for (const [v, w] of weights) this.behaviour.put(v, w);
  }

  /** The scored batch of the last step(), for a look at the samples. */
  lastBatch: RolloutBatch | null = null;

  /**
   * Loops step() up to `iterations` completed iterations with a progress line, evaluation every
   * `evalEvery`, checkpoints every `checkpointEvery`, and a clean stop at an iteration boundary
   * when `signal` aborts. With `runDir`, writes metrics, rollouts, checkpoints and report.html.
   */
  // The run layer (sdk/run) sits above this one: it is loaded when used, so that sdk/ppo does not import it.
  async run(opts: RunOptions): Promise<MetricsRow[]> {
    const { runTrainer } = await import('../run/loop.ts');
    return runTrainer(this, opts);
  }

  /** Saves a checkpoint (weights, optimizer state, data cursor) to `dir` (the format: sdk/run/checkpoint.ts). */
  async saveCheckpoint(dir: string): Promise<void> {
    const { saveCheckpoint } = await import('../run/checkpoint.ts');
    await saveCheckpoint(this, dir);
  }

  /** Restores a checkpoint written by saveCheckpoint() into this trainer (same model shapes and config). */
  async loadCheckpoint(dir: string): Promise<void> {
    const { loadCheckpoint } = await import('../run/checkpoint.ts');
    await loadCheckpoint(this, dir);
  }

  dispose(): void {
    this.policyOptimizer.dispose();
    this.criticOptimizer?.dispose();
    this.critic?.dispose();
    this.reference?.dispose();
    void this.discardPrefetch('the trainer was disposed');
    this.behaviour?.dispose();
  }
}
