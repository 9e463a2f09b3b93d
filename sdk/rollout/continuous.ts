// Continuous batching: a fixed number of decode slots; when a row finishes, the next waiting sequence
// is prefilled and takes its slot, so short responses do not hold a slot until the longest one ends.
//
// Cache layout: one KVCache whose rows are the slots, on one shared time axis. A sequence that joins
// at step t is prefilled apart and copied into its slot so that its last prompt token sits at the
// axis' last column; its key mask hides every column before its first token (stale keys of the
// slot's previous sequences). The model's attention (fused kernel and composite path) takes one past
// length for all rows, so this layout needs no change to it, unlike per-slot lengths or pages; the
// cost is attention over masked columns, bounded by dropping the front columns once no slot sees
// them (shiftTime). Masked columns add exact zeros to the softmax sums, so a row's tokens do not
// depend on its slot or neighbours; each row draws from its own stream (rowSeed), as in the static
// engine.

import { tf } from '../engine/tf.ts';
import type { Rng } from '../engine/rng.ts';
import { KVCache, type TransformerLM } from '../model/index.ts';
import type { Tokenizer } from '../tokenizer/index.ts';
import { ResponseText } from './response-text.ts';
import { TokenSampler, type SamplingParams } from './sampling.ts';
import { decodeModelOf } from './token-text.ts';

export interface ContinuousParams extends SamplingParams { maxNewTokens: number; stop: string[] }

export interface RowOutput {
  response: string; promptIds: number[]; responseIds: number[]; logprobs: number[]; finishReason: 'stop' | 'length';
}

/**
 * A prompt's prefill: row `row` of `cache`, and its last position's logits at values[offset ..]; `lastRow` is the
 * last waiting row that uses it (the n samples of a prompt with sharePrefixes), after which it can go.
 */
interface Prefilled { cache: KVCache; row: number; values: Float32Array; offset: number; lastRow: number }

/** A sequence in a slot: its row, the cache column of its first token, and its next position. */
interface Slot { row: number; start: number; nextPos: number }

/** Drop the axis' front once the columns no slot sees are at least this many (and half the axis). */
const MIN_DROP = 16;

/**
 * A refill prefills, besides the prompts its free slots need now, the next few waiting ones (a quarter of the
 * slots) and holds them: rows finish one or two per step, and a prefill call per finished row costs more in call
 * overhead than its work (measured on the rollout bench without shared prefixes: 128 one-row prefills took a
 * quarter of the generate call). A held prefill is the same row as a later one would be (left padding is masked
 * out exactly), so tokens do not change.
 */
const lookAheadOf = (slots: number): number => Math.max(1, Math.ceil(slots / 4));

export async function generateContinuous(
  model: TransformerLM, tok: Tokenizer, promptIds: number[][], rngs: Rng[], p: ContinuousParams, slotCount: number,
  sharePrefixes: boolean,
  hooks: { signal?: AbortSignal; countTokens: (n: number) => void; rowDone: () => void; prefilled?: (prompts: number, seconds: number) => void },
): Promise<RowOutput[]> {
  const V = model.config.vocab_size, maxPos = model.config.max_position_embeddings, eos = tok.eosId;
  const budget = promptIds.map((ids) => Math.min(p.maxNewTokens, maxPos - ids.length));
  const out: RowOutput[] = promptIds.map((ids) => ({ response: '', promptIds: ids, responseIds: [], logprobs: [], finishReason: 'length' }));
  const decodeModel = decodeModelOf(tok);
  const texts = out.map((o) => new ResponseText(tok, decodeModel, p.stop, o.responseIds));
  const sampler = new TokenSampler(V, p);
  const stoppedByText = new Set<number>(); // rows whose response is the text up to a stop string
  let slotsN = Math.min(slotCount, promptIds.length);
  let slots: (Slot | null)[] = new Array(slotsN).fill(null);
  let waiting = 0; // next row to admit
  let cache: KVCache | null = null;
  // per slot: the logits row to sample from next (decode output or the row's prefill)
  let logitsOf: ({ values: Float32Array; offset: number } | null)[] = new Array(slotsN).fill(null);

  // prefills that waiting rows still need; with sharePrefixes the n samples of a prompt (consecutive rows
  // with the same ids array) share one: prefilled once, its KV copied into each of their slots
  let held = new Map<unknown, Prefilled>();
  const keyOf = (r: number): unknown => (sharePrefixes ? promptIds[r] : r);

  /** Prefills the next waiting rows into the free slots; their first logits come from the prefill. */
  const admit = (free: number[]): void => {
    const take = free.slice(0, promptIds.length - waiting);
    if (take.length === 0) return;
    const rows = take.map(() => waiting++);
    // the first row of each prompt still to prefill: those the taken rows need, then (past the first wave,
    // whose cache becomes the slots') a look-ahead of the next waiting prompts
    const firstRows = new Map<unknown, number>();
    for (const r of rows) if (!held.has(keyOf(r)) && !firstRows.has(keyOf(r))) firstRows.set(keyOf(r), r);
    if (firstRows.size > 0 && cache !== null) {
      const want = firstRows.size + lookAheadOf(slotsN);
      for (let r = waiting; r < promptIds.length && firstRows.size < want; r++) if (!held.has(keyOf(r)) && !firstRows.has(keyOf(r))) firstRows.set(keyOf(r), r);
    }
    if (firstRows.size > 0) {
      const prompts = [...firstRows.values()].map((r) => promptIds[r]!);
      const P = Math.max(...prompts.map((ids) => ids.length));
      const t0 = performance.now();
      const { cache: fresh, values } = prefill(model, tok, prompts, P);
      [...firstRows].forEach(([k, first], i) => {
        let lastRow = first;
        while (lastRow + 1 < promptIds.length && keyOf(lastRow + 1) === k) lastRow++;
        held.set(k, { cache: fresh, row: i, values, offset: i * V, lastRow });
      });
      hooks.prefilled?.(prompts.length, (performance.now() - t0) / 1000);
    }
    const need = Math.max(...rows.map((r) => held.get(keyOf(r))!.cache.length));
    // the first wave without shared prompts is its own prefill, row for slot: no copy
    const asPrefilled = cache === null && take.length === slotsN && rows.every((r, i) => held.get(keyOf(r))!.row === i && held.get(keyOf(r))!.cache === held.get(keyOf(rows[0]!))!.cache);
    if (asPrefilled) cache = held.get(keyOf(rows[0]!))!.cache;
    if (cache === null) cache = model.newCache(slotsN, need);
    if (cache.length < need) shiftAll(cache, slots, need - cache.length);
    take.forEach((slot, i) => {
      const r = rows[i]!, h = held.get(keyOf(r))!;
      if (!asPrefilled) cache!.copyRowFrom(h.cache, h.row, slot);
      slots[slot] = { row: r, start: cache!.length - promptIds[r]!.length, nextPos: promptIds[r]!.length };
      logitsOf[slot] = { values: h.values, offset: h.offset };
    });
    // rows of one prompt are consecutive: a prefill whose last row is admitted is no longer needed
    const kept = new Map([...held].filter(([, h]) => h.lastRow >= waiting));
    const live = new Set([...kept.values()].map((h) => h.cache));
    for (const h of held.values()) if (!live.has(h.cache) && h.cache !== cache) h.cache.dispose();
    held = kept;
  };

  admit(Array.from({ length: slotsN }, (_, i) => i));
  try {
    for (let step = 0; slots.some((s) => s !== null); step++) {
      if (hooks.signal?.aborted) throw hooks.signal.reason ?? new Error('generation aborted');
      const tokens = new Int32Array(slotsN).fill(tok.padId);
      const free: number[] = [];
      let sampled = 0;
      slots.forEach((s, i) => {
        if (s === null) return;
        sampled++;
        const t = sampler.sample(logitsOf[i]!.values, logitsOf[i]!.offset, rngs[s.row]!);
        const end = takeToken(out[s.row]!, texts[s.row]!, t, sampler.logprob, eos, budget[s.row]!);
        if (end === 'stop-text') stoppedByText.add(s.row);
        if (end === null) tokens[i] = t;
        else { slots[i] = null; free.push(i); hooks.rowDone(); }
      });
      hooks.countTokens(sampled);
      if (waiting === promptIds.length && slots.some((s) => s === null)) { // nothing left to admit: drop the free slots
        const keep = slots.flatMap((s, i) => (s === null ? [] : [i]));
        if (keep.length === 0) break;
        cache!.select(keep);
        slots = keep.map((i) => slots[i]!);
        logitsOf = keep.map((i) => logitsOf[i]!);
        slotsN = keep.length;
        const values = decodeStep(model, cache!, slots, Int32Array.from(keep, (i) => tokens[i]!));
        slots.forEach((_, i) => { logitsOf[i] = { values, offset: i * V }; });
      } else {
        if (slots.every((s) => s === null) && waiting === promptIds.length) break;
        if (slots.some((s) => s !== null)) {
          const values = decodeStep(model, cache!, slots, tokens);
          slots.forEach((s, i) => { if (s !== null) logitsOf[i] = { values, offset: i * V }; });
        }
        admit(free);
      }
      dropUnseenFront(cache!, slots);
      if (step % 8 === 7) await new Promise((r) => setImmediate(r)); // let progress, signals and sockets through
    }
  } finally {
    (cache as KVCache | null)?.dispose();
    for (const h of held.values()) if (h.cache !== cache) h.cache.dispose();
  }
  out.forEach((o, r) => { if (!stoppedByText.has(r)) o.response = texts[r]!.text(); });
  return out;
}

/** Appends token t to the row unless it ends it; returns why the row ended, or null while it runs. */
function takeToken(o: RowOutput, text: ResponseText, t: number, logprob: number, eos: number | undefined, budget: number): 'eos' | 'stop-text' | 'length' | null {
  if (eos !== undefined && t === eos) {
    o.finishReason = 'stop';
    return 'eos';
  }
  o.responseIds.push(t);
  o.logprobs.push(logprob);
  const stopped = text.push(t);
  if (stopped !== null) {
    o.finishReason = 'stop';
    o.response = stopped;
    return 'stop-text';
  }
  return o.responseIds.length >= budget ? 'length' : null; // at its budget it stays 'length'
}

/** Left-padded prefill of some prompts into a fresh cache; returns it and the last position's logits [rows, V]. */
function prefill(model: TransformerLM, tok: Tokenizer, prompts: number[][], P: number): { cache: KVCache; values: Float32Array } {
  const B = prompts.length;
  const ids = new Int32Array(B * P).fill(tok.padId), mask = new Float32Array(B * P), pos = new Int32Array(B * P);
  prompts.forEach((row, b) => {
    const pad = P - row.length;
    row.forEach((t, j) => { ids[b * P + pad + j] = t; mask[b * P + pad + j] = 1; pos[b * P + pad + j] = j; });
  });
  const cache = model.newCache(B);
  const logits = tf.tidy(() => {
    const h = model.hidden(tf.tensor2d(ids, [B, P], 'int32'), { positions: tf.tensor2d(pos, [B, P], 'int32'), keyMask: tf.tensor2d(mask, [B, P]), cache });
    return model.logits(tf.slice(h, [0, P - 1, 0], [B, 1, -1]).reshape([B, -1]) as tf.Tensor2D);
  });
  const values = logits.dataSync() as Float32Array;
  logits.dispose();
  return { cache, values };
}

/** One decode step over all slots (free ones fed padding at position 0, output ignored); logits [slots, V]. */
function decodeStep(model: TransformerLM, cache: KVCache, slots: (Slot | null)[], tokens: Int32Array): Float32Array {
  const n = slots.length, S = cache.length + 1;
  const keyMask = new Float32Array(n * S).fill(1);
  const positions = new Int32Array(n);
  slots.forEach((s, i) => {
    if (s === null) return;
    keyMask.fill(0, i * S, i * S + s.start);
    positions[i] = s.nextPos++;
  });
  const logits = tf.tidy(() => {
    const h = model.hidden(tf.tensor2d(tokens, [n, 1], 'int32'), {
      positions: tf.tensor2d(positions, [n, 1], 'int32'), keyMask: tf.tensor2d(keyMask, [n, S]), cache,
    });
    return model.logits(h.reshape([n, -1]) as tf.Tensor2D);
  });
  const values = logits.dataSync() as Float32Array;
  logits.dispose();
  return values;
}

function shiftAll(cache: KVCache, slots: (Slot | null)[], delta: number): void {
  cache.shiftTime(delta);
  for (const s of slots) if (s !== null) s.start += delta;
}

/** Drops the front columns no running slot attends to, once they are many enough to pay for the copy. */
function dropUnseenFront(cache: KVCache, slots: (Slot | null)[]): void {
  const starts = slots.flatMap((s) => (s === null ? [] : [s.start]));
  if (starts.length === 0) return;
  const unseen = Math.min(...starts);
  if (unseen >= MIN_DROP && 2 * unseen >= cache.length) shiftAll(cache, slots, -unseen);
}
