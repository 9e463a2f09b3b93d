// RolloutEngine: prompts in, sampled responses out (with token ids, log-probs and finish reasons).
//
// Batched generation with a KV cache: prompts are left-padded so every row's next token sits in
// the same column; each step feeds one token per row; finished rows are dropped from the cache so
// long responses do not pay for short ones.

import { tf } from '../engine/tf.ts';
import { Rng } from '../engine/rng.ts';
import type { TransformerLM } from '../model/index.ts';
import type { Tokenizer } from '../tokenizer/index.ts';
import { RolloutBatch, type RolloutSample } from './rollout-batch.ts';
import { sampleToken, tokenLogprob, type SamplingParams } from './sampling.ts';

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

export class RolloutEngine {
  /** Rows decoded together; bounds the KV cache's memory. */
  readonly maxBatchRows: number;

  constructor(readonly model: TransformerLM, readonly tokenizer: Tokenizer, opts: { maxBatchRows?: number } = {}) {
    this.maxBatchRows = opts.maxBatchRows ?? 256;
  }

  /** Generates `n` samples for each prompt. Rows are ordered prompt-major: prompt 0's samples first. */
  async generate(prompts: (string | PromptInput)[], params: Partial<GenerateParams> = {}, opts: GenerateOptions = {}): Promise<RolloutBatch> {
    const p: GenerateParams = { ...DEFAULT_GENERATE, ...params };
    validateParams(p);
    const first = opts.firstPromptIndex ?? 0;
    if (!(Number.isInteger(first) && first >= 0)) throw new RangeError(`generate: firstPromptIndex must be an integer >= 0, got ${first}`);
    const inputs = prompts.map((x) => (typeof x === 'string' ? { prompt: x } : x));
    const rows: { input: PromptInput; promptIndex: number; sampleIndex: number }[] = [];
    inputs.forEach((input, i) => {
      for (let s = 0; s < p.n; s++) rows.push({ input, promptIndex: first + i, sampleIndex: s });
    });
    const start = performance.now();
    const samples: RolloutSample[] = [];
    let tokens = 0;
    for (let i = 0; i < rows.length; i += this.maxBatchRows) {
      const chunk = rows.slice(i, i + this.maxBatchRows);
      const rngs = chunk.map((r) => new Rng(rowSeed(p.seed, r.promptIndex, r.sampleIndex)));
      const out = await this.generateChunk(chunk.map((r) => r.input.prompt), p, rngs, opts.signal, (t) => {
        tokens += t;
      });
      chunk.forEach((r, j) => {
        const { prompt, groundTruth, ...extra } = r.input;
        samples.push({
          ...extra,
          promptIndex: r.promptIndex,
          sampleIndex: r.sampleIndex,
          prompt,
          groundTruth: groundTruth ?? '',
          ...out[j]!,
        });
      });
      opts.onProgress?.({ finished: samples.length, total: rows.length, tokens, elapsedSec: (performance.now() - start) / 1000 });
    }
    return RolloutBatch.fromSamples(samples);
  }

  private async generateChunk(
    prompts: string[], p: GenerateParams, rngs: Rng[], signal: AbortSignal | undefined, countTokens: (n: number) => void,
  ): Promise<Pick<RolloutSample, 'response' | 'promptIds' | 'responseIds' | 'logprobs' | 'finishReason'>[]> {
    const tok = this.tokenizer;
    const V = this.model.config.vocab_size;
    const maxPos = this.model.config.max_position_embeddings;
    const promptIds = prompts.map((text) => tok.encode(text));
    const B = prompts.length;
    const P = Math.max(...promptIds.map((ids) => ids.length));
    if (P === 0) throw new Error('RolloutEngine: a prompt encodes to zero tokens');
    const maxNew = Math.min(p.maxNewTokens, maxPos - P);
    if (maxNew <= 0) throw new Error(`RolloutEngine: prompt of ${P} tokens leaves no room under max_position_embeddings=${maxPos}`);
    const eos = tok.eosId;

    const responseIds: number[][] = prompts.map(() => []);
    const logprobs: number[][] = prompts.map(() => []);
    const finish: ('stop' | 'length')[] = prompts.map(() => 'length');
    const texts: string[] = prompts.map(() => '');
    const nextPos = promptIds.map((ids) => ids.length); // position of each row's next token

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
    let keyMask = tf.tensor2d(mask, [B, P]);
    let active = Array.from({ length: B }, (_, b) => b); // original row of each cache row
    try {
      let logits = tf.tidy(() => {
        const h = this.model.hidden(tf.tensor2d(ids, [B, P], 'int32'), { positions: tf.tensor2d(pos, [B, P], 'int32'), keyMask, cache });
        const last = tf.slice(h, [0, P - 1, 0], [B, 1, -1]).reshape([B, -1]);
        return this.model.logits(last as tf.Tensor2D).dataSync() as Float32Array;
      });
      for (let step = 0; step < maxNew && active.length > 0; step++) {
        if (signal?.aborted) throw signal.reason ?? new Error('generation aborted');
        const stillActive: number[] = [];
        const keepRows: number[] = [];
        const nextTokens: number[] = [];
        active.forEach((b, r) => {
          const t = sampleToken(logits, r * V, V, p, rngs[b]!);
          if (eos !== undefined && t === eos) {
            finish[b] = 'stop';
            return;
          }
          responseIds[b]!.push(t);
          logprobs[b]!.push(tokenLogprob(logits, r * V, V, t));
          const text = tok.decode(responseIds[b]!);
          const cut = firstStop(text, p.stop);
          if (cut >= 0) {
            texts[b] = text.slice(0, cut);
            finish[b] = 'stop';
            return;
          }
          texts[b] = text;
          if (responseIds[b]!.length >= maxNew) return; // finish 'length'
          stillActive.push(b);
          keepRows.push(r);
          nextTokens.push(t);
        });
        countTokens(active.length);
        if (stillActive.length === 0) break;
        if (keepRows.length !== active.length) {
          cache.select(keepRows);
          const km = tf.tidy(() => tf.gather(keyMask, tf.tensor1d(keepRows, 'int32')));
          keyMask.dispose();
          keyMask = km;
        }
        active = stillActive;
        const nb = active.length;
        const km = tf.concat([keyMask, tf.ones([nb, 1])], 1);
        keyMask.dispose();
        keyMask = km as tf.Tensor2D;
        const positions = active.map((b) => nextPos[b]!++);
        logits = tf.tidy(() => {
          const h = this.model.hidden(tf.tensor2d(nextTokens, [nb, 1], 'int32'), {
            positions: tf.tensor2d(positions, [nb, 1], 'int32'), keyMask, cache,
          });
          return this.model.logits(h.reshape([nb, -1]) as tf.Tensor2D).dataSync() as Float32Array;
        });
        if (step % 8 === 7) await new Promise((r) => setImmediate(r)); // let progress, signals and sockets through
      }
    } finally {
      cache.dispose();
      keyMask.dispose();
    }
    return prompts.map((_, b) => ({
      response: texts[b]!,
      promptIds: promptIds[b]!,
      responseIds: responseIds[b]!,
      logprobs: logprobs[b]!,
      finishReason: finish[b]!,
    }));
  }
}

/** Index just past the earliest stop string in `text`, or -1. */
function firstStop(text: string, stops: string[]): number {
  let best = -1;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && (best < 0 || i + s.length < best)) best = i + s.length;
  }
  return best;
}

function validateParams(p: GenerateParams): void {
  const bad = (what: string) => { throw new RangeError(`generate: ${what}`); };
  if (!(p.temperature >= 0)) bad(`temperature must be >= 0, got ${p.temperature}`);
  if (!(p.topP > 0 && p.topP <= 1)) bad(`topP must be in (0, 1], got ${p.topP}`);
  if (!(Number.isInteger(p.topK) && p.topK >= 0)) bad(`topK must be an integer >= 0, got ${p.topK}`);
  if (!(Number.isInteger(p.maxNewTokens) && p.maxNewTokens > 0)) bad(`maxNewTokens must be a positive integer, got ${p.maxNewTokens}`);
  if (!(Number.isInteger(p.n) && p.n > 0)) bad(`n must be a positive integer, got ${p.n}`);
}
