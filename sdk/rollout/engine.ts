// RolloutEngine: prompts in, sampled responses out (with token ids, log-probs and finish reasons).
// Continuous batching (the default) is in continuous.ts; this file's loop is the static mode.
//
// Static batched generation with a KV cache: prompts are left-padded so every row's next token sits in
// the same column; each step feeds one token per row. Each row has its own positions and its own
// budget, min(maxNewTokens, max_position_embeddings - its prompt length), so a long prompt in the
// batch shortens no other row; a prompt with no room at all is skipped and listed in the batch's
// `skipped` (it has no rows, so nothing downstream learns from it). Finished rows are dropped from the cache so
// long responses do not pay for short ones (at once by default; or, with `finishedRowsFraction`,
// once enough have finished, since every drop copies the cache).
//
// Per step the engine's own work is O(rows x vocab): one logits readback, sampling on the typed
// array (TokenSampler), and each row's text extended by its new token only (ResponseText).

import { tf } from '../engine/tf.ts';
import { Rng } from '../engine/rng.ts';
import type { KVCache, TransformerLM } from '../model/index.ts';
import type { Tokenizer } from '../tokenizer/index.ts';
import { RolloutBatch, type RolloutSample, type SkippedPrompt } from './rollout-batch.ts';
import { ResponseText } from './response-text.ts';
import { TokenSampler, type SamplingParams } from './sampling.ts';
import { decodeModelOf } from './token-text.ts';
import { generateContinuous } from './continuous.ts';

/** ORZ stops a response at the closing answer tag or when the model starts a new turn (stop text kept). */
export const ORZ_STOP = ['</answer>', 'User:', 'Human:', 'Assistant:'];

export interface GenerateParams extends SamplingParams {
  maxNewTokens: number;
  /** Samples per prompt. */
  n: number;
  stop: string[];
  seed: number;
}

export const DEFAULT_GENERATE: GenerateParams = {
  temperature: 1, topP: 1, topK: 0, maxNewTokens: 256, n: 1, stop: ORZ_STOP, seed: 0,
};

/** A prompt to complete: the text fed to the model, plus fields that ride along into the batch. */
export interface PromptInput { prompt: string; groundTruth?: string; [field: string]: unknown }

export interface GenerateProgress { finished: number; total: number; tokens: number; elapsedSec: number }

export interface GenerateOptions {
  signal?: AbortSignal;
  onProgress?: (p: GenerateProgress) => void;
  /**
   * Index of `prompts[0]` in a larger batch this call generates a slice of (default 0). Rows get
   * promptIndex = firstPromptIndex + i and the sampling streams they have in the whole batch, so
   * rollout workers that each generate a slice produce, together, the batch one engine would.
   */
  firstPromptIndex?: number;
  /**
   * The promptIndex of each prompt, in place of firstPromptIndex + i: rows draw from the streams of
   * those indices, so a caller that generates any subset of a batch (records grouped by response
   * budget) gets the samples the whole batch would give them. Distinct integers >= 0.
   */
  promptIndices?: number[];
  /**
   * Called once the work has been handed to where it runs when that is not this thread (rollout workers), so
   * the caller can start other work here meanwhile (see overlapsTraining). An in-process engine never calls it.
   */
  onDispatched?: () => void;
}

/**
 * The seed of one row's sampling stream: a function of (seed, prompt index, sample index) only, so a
 * row draws the same tokens whichever rows share its batch (chunks of maxBatchRows, worker slices).
 */
export function rowSeed(seed: number, promptIndex: number, sampleIndex: number): number {
  const a = new Rng(seed).nextU32();
  const b = new Rng(a ^ Math.imul(promptIndex + 1, 0x9e3779b1)).nextU32();
  return new Rng(b ^ Math.imul(sampleIndex + 1, 0x85ebca6b)).nextU32();
}

export interface RolloutEngineOptions {
  /** Rows decoded together; bounds the KV cache's memory (default 256). */
  maxBatchRows?: number;
  /**
   * Static batching only: finished rows stay in the KV cache (computed and ignored) until they are at least this fraction
   * of its rows, then all are dropped at once: fewer cache copies, some wasted row-steps. 0 (the
   * default) drops them the step they finish. Samples are the same either way up to float
   * round-off, which on some backends depends on the number of rows in a batch.
   */
  finishedRowsFraction?: number;
  /**
   * 'continuous' (the default): maxBatchRows decode slots, a finished row's slot refilled with the next
   * waiting sequence (sdk/rollout/continuous.ts). 'static': chunks of maxBatchRows decoded until their
   * longest row ends. Each row draws from its own stream either way, so the samples are the same.
   */
  batching?: 'continuous' | 'static';
  /**
   * Continuous batching only: the n samples of a prompt prefill it once and copy its keys/values into
   * their slots (default true). Same samples either way.
   */
  sharePrefixes?: boolean;
  /** Called with the prompts each prefill computes and its seconds (continuous batching): for benchmarks. */
  onPrefill?: (prompts: number, seconds: number) => void;
}

export class RolloutEngine {
  /** Rows decoded together; bounds the KV cache's memory. */
  readonly maxBatchRows: number;
  readonly finishedRowsFraction: number;
  readonly batching: 'continuous' | 'static';
  readonly sharePrefixes: boolean;
  private readonly onPrefill: ((prompts: number, seconds: number) => void) | undefined;

  constructor(readonly model: TransformerLM, readonly tokenizer: Tokenizer, opts: RolloutEngineOptions = {}) {
    this.maxBatchRows = opts.maxBatchRows ?? 256;
    this.finishedRowsFraction = opts.finishedRowsFraction ?? 0;
    this.batching = opts.batching ?? 'continuous';
    this.sharePrefixes = opts.sharePrefixes ?? true;
    this.onPrefill = opts.onPrefill;
    if (this.batching !== 'continuous' && this.batching !== 'static') throw new RangeError(`RolloutEngine: batching must be 'continuous' or 'static', got ${String(this.batching)}`);
    const f = this.finishedRowsFraction;
    if (!(f >= 0 && f < 1)) throw new RangeError(`RolloutEngine: finishedRowsFraction must be in [0, 1), got ${f}`);
  }

  /** Whether generate() runs off this thread (rollout workers), so that it can overlap the trainer's update. */
  get overlapsTraining(): boolean {
    return false;
  }

  /**
   * An engine like this one that samples from `model` instead (asyncRollouts' behaviour policy, whose weights
   * the trainer sets to an older version; `weightsVersion()` names the version it holds).
   */
  forModel(model: TransformerLM, _weightsVersion: () => number): RolloutEngine {
    return new RolloutEngine(model, this.tokenizer, {
      maxBatchRows: this.maxBatchRows, finishedRowsFraction: this.finishedRowsFraction, batching: this.batching,
      sharePrefixes: this.sharePrefixes, ...(this.onPrefill ? { onPrefill: this.onPrefill } : {}),
    });
  }

  /** Generates `n` samples for each prompt. Rows are ordered prompt-major: prompt 0's samples first. */
  async generate(prompts: (string | PromptInput)[], params: Partial<GenerateParams> = {}, opts: GenerateOptions = {}): Promise<RolloutBatch> {
    const p: GenerateParams = { ...DEFAULT_GENERATE, ...params };
    validateParams(p);
    const indices = promptIndicesOf(prompts.length, opts);
    const inputs = prompts.map((x) => (typeof x === 'string' ? { prompt: x } : x));
    // encoded and checked before any generation: a prompt with no room for a response is set aside
    const promptIds = inputs.map((x) => this.tokenizer.encode(x.prompt));
    const skipped = promptsWithoutRoom(promptIds, this.model.config.max_position_embeddings, indices);
    const skip = new Set(skipped.map((s) => s.promptIndex));
    const rows: { input: PromptInput; ids: number[]; promptIndex: number; sampleIndex: number }[] = [];
    inputs.forEach((input, i) => {
      if (skip.has(indices[i]!)) return;
      for (let s = 0; s < p.n; s++) rows.push({ input, ids: promptIds[i]!, promptIndex: indices[i]!, sampleIndex: s });
    });
    const start = performance.now();
    const samples: RolloutSample[] = [];
    let tokens = 0;
    const countTokens = (t: number) => { tokens += t; };
    const push = (chunk: typeof rows, out: Awaited<ReturnType<RolloutEngine['generateChunk']>>) => chunk.forEach((r, j) => {
      const { prompt, groundTruth, ...extra } = r.input;
      samples.push({ ...extra, promptIndex: r.promptIndex, sampleIndex: r.sampleIndex, prompt, groundTruth: groundTruth ?? '', ...out[j]! });
    });
    const progress = (finished: number) => opts.onProgress?.({ finished, total: rows.length, tokens, elapsedSec: (performance.now() - start) / 1000 });
    const rngsOf = (chunk: typeof rows) => chunk.map((r) => new Rng(rowSeed(p.seed, r.promptIndex, r.sampleIndex)));
    if (this.batching === 'continuous' && rows.length > 0) {
      let finished = 0;
      push(rows, await generateContinuous(this.model, this.tokenizer, rows.map((r) => r.ids), rngsOf(rows), p, this.maxBatchRows, this.sharePrefixes, {
        signal: opts.signal, countTokens, ...(this.onPrefill ? { prefilled: this.onPrefill } : {}), rowDone: () => { if (++finished % this.maxBatchRows === 0) progress(finished); },
      }));
      progress(rows.length);
    }
    for (let i = 0; this.batching === 'static' && i < rows.length; i += this.maxBatchRows) {
      const chunk = rows.slice(i, i + this.maxBatchRows);
      push(chunk, await this.generateChunk(chunk.map((r) => r.ids), p, rngsOf(chunk), opts.signal, countTokens));
      progress(samples.length);
    }
    return RolloutBatch.fromSamples(samples, skipped);
  }

  private async generateChunk(
    promptIds: number[][], p: GenerateParams, rngs: Rng[], signal: AbortSignal | undefined, countTokens: (n: number) => void,
  ): Promise<Pick<RolloutSample, 'response' | 'promptIds' | 'responseIds' | 'logprobs' | 'finishReason'>[]> {
    const tok = this.tokenizer;
    const V = this.model.config.vocab_size;
    const maxPos = this.model.config.max_position_embeddings;
    const B = promptIds.length;
    const P = Math.max(...promptIds.map((ids) => ids.length));
    // each row's own room (>= 1: prompts without room were skipped in generate())
    const budget = promptIds.map((ids) => Math.min(p.maxNewTokens, maxPos - ids.length));
    const maxNew = Math.max(...budget);
    const eos = tok.eosId;

    const responseIds: number[][] = promptIds.map(() => []);
    const logprobs: number[][] = promptIds.map(() => []);
    const finish: ('stop' | 'length')[] = promptIds.map(() => 'length');
    const decodeModel = decodeModelOf(tok);
    const texts = responseIds.map((ids) => new ResponseText(tok, decodeModel, p.stop, ids));
    const stoppedText: (string | null)[] = promptIds.map(() => null);
    const nextPos = promptIds.map((ids) => ids.length); // position of each row's next token
    const sampler = new TokenSampler(V, p);

    // Prefill: left-padded prompts, positions counting real tokens only.
    const ids = new Int32Array(B * P).fill(tok.padId);
    const mask = new Float32Array(B * P);
    const pos = new Int32Array(B * P);
    promptIds.forEach((row, b) => {
      const pad = P - row.length;
      row.forEach((t, j) => {
        ids[b * P + pad + j] = t;
        mask[b * P + pad + j] = 1;
        pos[b * P + pad + j] = j;
      });
    });
    const cache = this.model.newCache(B);
    // original row of each cache row; FINISHED for a finished row not yet dropped from the cache
    let cacheRows = Array.from({ length: B }, (_, b) => b);
    // logits [cache rows, V] of the last forward: read once per step, held (not copied) until sampled
    let logits: tf.Tensor | null = null;
    try {
      logits = tf.tidy(() => {
        const keyMask = tf.tensor2d(mask, [B, P]);
        const h = this.model.hidden(tf.tensor2d(ids, [B, P], 'int32'), { positions: tf.tensor2d(pos, [B, P], 'int32'), keyMask, cache });
        const last = tf.slice(h, [0, P - 1, 0], [B, 1, -1]).reshape([B, -1]);
        return this.model.logits(last as tf.Tensor2D);
      });
      for (let step = 0; step < maxNew; step++) {
        if (signal?.aborted) throw signal.reason ?? new Error('generation aborted');
        // read outside tf.tidy: a typed array returned from tidy is walked element by element
        const values = logits.dataSync() as Float32Array;
        const nextTokens = new Int32Array(cacheRows.length).fill(tok.padId); // finished rows are fed padding
        let sampled = 0, running = 0;
        for (let r = 0; r < cacheRows.length; r++) {
          const b = cacheRows[r]!;
          if (b === FINISHED) continue;
          sampled++;
          const t = sampler.sample(values, r * V, rngs[b]!);
          if (eos !== undefined && t === eos) {
            finish[b] = 'stop';
            cacheRows[r] = FINISHED;
            continue;
          }
          responseIds[b]!.push(t);
          logprobs[b]!.push(sampler.logprob);
          const stopped = texts[b]!.push(t);
          if (stopped !== null) {
            stoppedText[b] = stopped;
            finish[b] = 'stop';
          }
          if (stopped !== null || responseIds[b]!.length >= budget[b]!) { // at its budget it stays 'length'
            cacheRows[r] = FINISHED;
            continue;
          }
          nextTokens[r] = t;
          running++;
        }
        logits.dispose();
        logits = null;
        countTokens(sampled);
        if (running === 0) break;
        const finished = cacheRows.length - running;
        if (finished > 0 && finished >= this.finishedRowsFraction * cacheRows.length) {
          const keep = cacheRows.flatMap((b, r) => (b === FINISHED ? [] : [r]));
          cache.select(keep);
          cacheRows = keep.map((r) => cacheRows[r]!);
          logits = this.decodeStep(cache, cacheRows, Int32Array.from(keep, (r) => nextTokens[r]!), nextPos, promptIds, P);
        } else {
          logits = this.decodeStep(cache, cacheRows, nextTokens, nextPos, promptIds, P);
        }
        if (step % 8 === 7) await new Promise((r) => setImmediate(r)); // let progress, signals and sockets through
      }
    } finally {
      cache.dispose();
      logits?.dispose();
    }
    return promptIds.map((_, b) => ({
      response: stoppedText[b] ?? texts[b]!.text(),
      promptIds: promptIds[b]!,
      responseIds: responseIds[b]!,
      logprobs: logprobs[b]!,
      finishReason: finish[b]!,
    }));
  }

  /**
   * One decode step: feeds each cache row its last token and returns the logits [rows, V].
   * The key mask [rows, cached + 1] is rebuilt from the prompt lengths (left padding is the only
   * masked part), which costs less than keeping a mask tensor and concatenating a column per step.
   * A finished row still in the cache gets position 0 and an open mask: valid inputs, ignored output.
   */
  private decodeStep(
    cache: KVCache, cacheRows: number[], tokens: Int32Array, nextPos: number[], promptIds: number[][], P: number,
  ): tf.Tensor {
    const nb = cacheRows.length;
    const S = cache.length + 1;
    const keyMask = new Float32Array(nb * S).fill(1);
    const positions = new Int32Array(nb);
    cacheRows.forEach((b, r) => {
      if (b === FINISHED) return;
      keyMask.fill(0, r * S, r * S + P - promptIds[b]!.length);
      positions[r] = nextPos[b]!++;
    });
    return tf.tidy(() => {
      const h = this.model.hidden(tf.tensor2d(tokens, [nb, 1], 'int32'), {
        positions: tf.tensor2d(positions, [nb, 1], 'int32'), keyMask: tf.tensor2d(keyMask, [nb, S]), cache,
      });
      return this.model.logits(h.reshape([nb, -1]) as tf.Tensor2D);
    });
  }
}

/**
 * The prompts that leave no room for a new token under the model's context (named by their index in the
 * whole batch, so a caller can find the record). A prompt that encodes to nothing is an error.
 */
function promptsWithoutRoom(promptIds: number[][], maxPositions: number, promptIndices: number[]): SkippedPrompt[] {
  const skipped: SkippedPrompt[] = [];
  promptIds.forEach((ids, i) => {
    if (ids.length === 0) throw new Error(`RolloutEngine: prompt ${promptIndices[i]} encodes to zero tokens`);
    if (ids.length >= maxPositions) skipped.push({ promptIndex: promptIndices[i]!, promptTokens: ids.length, limit: maxPositions });
  });
  return skipped;
}

/** The promptIndex of each of `count` prompts: opts.promptIndices, or firstPromptIndex + i. */
export function promptIndicesOf(count: number, opts: Pick<GenerateOptions, 'firstPromptIndex' | 'promptIndices'>): number[] {
  const given = opts.promptIndices;
  if (given === undefined) {
    const first = opts.firstPromptIndex ?? 0;
    if (!(Number.isInteger(first) && first >= 0)) throw new RangeError(`generate: firstPromptIndex must be an integer >= 0, got ${first}`);
    return Array.from({ length: count }, (_, i) => first + i);
  }
  if (opts.firstPromptIndex !== undefined) throw new RangeError('generate: give promptIndices or firstPromptIndex, not both');
  if (!Array.isArray(given) || given.length !== count) {
    throw new RangeError(`generate: promptIndices must have one index per prompt (${count}), got ${Array.isArray(given) ? given.length : typeof given}`);
  }
  const bad = given.findIndex((x) => !(Number.isInteger(x) && x >= 0));
  if (bad >= 0) throw new RangeError(`generate: promptIndices[${bad}] must be an integer >= 0, got ${given[bad]}`);
  if (new Set(given).size !== count) throw new RangeError('generate: promptIndices has an index twice (two prompts would draw the same samples)');
  return given;
}

/** Marks a cache row whose sequence has finished but which is still in the cache. */
const FINISHED = -1;

function validateParams(p: GenerateParams): void {
  const bad = (what: string) => { throw new RangeError(`generate: ${what}`); };
  if (!(p.temperature >= 0)) bad(`temperature must be >= 0, got ${p.temperature}`);
  if (!(p.topP > 0 && p.topP <= 1)) bad(`topP must be in (0, 1], got ${p.topP}`);
  if (!(Number.isInteger(p.topK) && p.topK >= 0)) bad(`topK must be an integer >= 0, got ${p.topK}`);
  if (!(Number.isInteger(p.maxNewTokens) && p.maxNewTokens > 0)) bad(`maxNewTokens must be a positive integer, got ${p.maxNewTokens}`);
  if (!(Number.isInteger(p.n) && p.n > 0)) bad(`n must be a positive integer, got ${p.n}`);
}
