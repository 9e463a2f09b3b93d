// One measured PPO iteration for the memory pre-flight check (sdk/run/memory-plan.ts): run in a fresh
// process per case, so its peak resident memory (VmHWM) is this case's alone.
//
//   node --import tsx bench/memory-measure.ts '<case JSON>'
//   case = { model: ModelConfig, trainer: TrainerConfigInput, promptTokens: number, seed?: number }
//
// Builds a random-weight policy (TransformerLM.init) and a synthetic tokenizer of the model's vocab
// (one id per character, no end-of-text id), so every prompt is exactly `promptTokens` tokens and,
// with no stop strings, every response runs to maxNewTokens: the shapes the estimate assumes.
// Prints one JSON line: baseline VmHWM (backend loaded, nothing else), peak VmHWM after Trainer.step(),
// and the prompt/response lengths it saw.

import { readFileSync } from 'node:fs';
import { selectBackend } from '../sdk/engine/backend.ts';
import { tf } from '../sdk/engine/tf.ts';
import { TransformerLM, type ModelConfig } from '../sdk/model/index.ts';
import type { Tokenizer } from '../sdk/tokenizer/index.ts';
import type { ProblemRecord } from '../sdk/data/index.ts';
import type { TrainerConfigInput } from '../sdk/ppo/config.ts';
import { Trainer } from '../sdk/ppo/trainer.ts';

export interface MeasureCase { model: ModelConfig; trainer: TrainerConfigInput; promptTokens: number; seed?: number }

export interface MeasureResult {
  backend: string;
  baselineBytes: number;
  peakBytes: number;
  promptTokens: number;
  responseTokens: number;
  rows: number;
  seconds: number;
}

/** Kilobytes of a /proc/self/status field (VmHWM = peak resident set, VmRSS = now), in bytes. */
export function procStatusBytes(field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  if (!m) throw new Error(`/proc/self/status has no ${field} line`);
  return Number(m[1]) * 1024;
}

/** A tokenizer over `vocab` ids where each character is one token: lengths are exact and nothing stops early. */
function syntheticTokenizer(vocab: number): Tokenizer {
  const FIRST = 0x100; // ids map to characters from U+0100 on, so the decoded text has no stop strings
  return {
    vocabSize: vocab,
    encode: (text) => Array.from(text, (ch) => 1 + (((ch.codePointAt(0)! - FIRST) % (vocab - 1)) + vocab - 1) % (vocab - 1)),
    decode: (ids) => String.fromCodePoint(...ids.map((i) => FIRST + i)),
    tokenToId: () => undefined,
    idToToken: (id) => String.fromCodePoint(FIRST + id),
    specialIds: new Set([0]),
    padId: 0,
    eosId: undefined,
    toJSON: () => { throw new Error('synthetic tokenizer has no tokenizer.json'); },
  };
}

async function measure(c: MeasureCase): Promise<MeasureResult> {
  const backend = await selectBackend(process.env['ORZ_BACKEND'] || 'auto');
  tf.tidy(() => tf.matMul(tf.ones([64, 64]), tf.ones([64, 64])).dataSync()); // load the kernels the first op needs
  const baselineBytes = procStatusBytes('VmHWM');
  const tokenizer = syntheticTokenizer(c.model.vocab_size);
  const question = Array.from({ length: c.promptTokens }, (_, i) => String.fromCodePoint(0x100 + 1 + (i % (c.model.vocab_size - 1)))).join('');
  const dataset: ProblemRecord[] = Array.from({ length: 8 }, (_, i) => ({ prompt: question, groundTruth: '', source: { file: 'synthetic', index: i } }));
  const policy = TransformerLM.init(c.model, c.seed ?? 1);
  const trainer = new Trainer({
    policy, tokenizer, dataset,
    reward: (s) => ((s['sampleIndex'] as number) % 2), // any reward with spread; the values do not change the shapes
    config: { template: '{question}', evalEvery: 0, checkpointEvery: 0, saveRollouts: false, ...c.trainer, generation: { stop: [], ...c.trainer.generation } },
  });
  const t0 = performance.now();
  await trainer.step();
  const seconds = (performance.now() - t0) / 1000;
  const peakBytes = procStatusBytes('VmHWM');
  const samples = trainer.lastBatch!.samples();
  return {
    backend: backend.name, baselineBytes, peakBytes,
    promptTokens: Math.max(...samples.map((s) => s.promptIds.length)),
    responseTokens: Math.max(...samples.map((s) => s.responseIds.length)),
    rows: samples.length, seconds,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = process.argv[2];
  if (!arg) throw new Error('bench/memory-measure.ts: pass the case as a JSON argument');
  const result = await measure(JSON.parse(arg) as MeasureCase);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
