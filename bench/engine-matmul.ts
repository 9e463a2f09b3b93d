// The onnxruntime backend against the cpu backend on the PPO model's shapes, side by side:
// forward and forward+backward of {vocab 384, hidden 96, ffn 256, 3 layers, 4 heads} at B=32, T=64,
// and one KV-cached decode step at B=256 (after a 32-token prefill).
//
//   npx tsx bench/engine-matmul.ts [--reps N]
// Prints median ms per case and the speedup; writes bench/results/engine-onnx-slice1.json.

import { mkdir, rename, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { tf } from '../sdk/engine/tf.ts';
import { intraOpThreads, registerOnnxBackend } from '../sdk/engine/onnx/index.ts';
import { TransformerLM, type ModelConfig } from '../sdk/model/index.ts';
import { medianMs } from './comparison.ts';

const { values: args } = parseArgs({ options: { reps: { type: 'string', default: '3' } } });
const reps = Number(args.reps);
if (!Number.isInteger(reps) || reps < 1) throw new Error(`bench/engine-matmul: --reps must be a positive integer, got ${args.reps}`);

const config: ModelConfig = {
  model_type: 'orz', vocab_size: 384, hidden_size: 96, intermediate_size: 256, num_hidden_layers: 3,
  num_attention_heads: 4, max_position_embeddings: 160, hidden_act: 'silu', tie_word_embeddings: true,
};
const B = 32, T = 64, DECODE_B = 256, PROMPT = 32;

function ids(rows: number, cols: number, salt: number): tf.Tensor2D {
  return tf.tensor2d(Int32Array.from({ length: rows * cols }, (_, i) => (i * 31 + salt) % config.vocab_size), [rows, cols], 'int32');
}

const median = (step: () => void): number => medianMs(step, reps);

async function measure(backend: string): Promise<Record<string, number>> {
  await tf.setBackend(backend);
  const model = TransformerLM.init(config, 1);
  const x = ids(B, T, 0);
  const vars = [...model.weights.values()];
  const forward = median(() => tf.tidy(() => { model.logits(model.hidden(x)).dataSync(); }));
  const forwardBackward = median(() => {
    const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(model.logits(model.hidden(x)))) as tf.Scalar, vars);
    value.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
  });
  // decode: a fresh cache per run, prefilled outside the timing; the timed step adds one token
  const cache = model.newCache(DECODE_B);
  tf.tidy(() => { model.hidden(ids(DECODE_B, PROMPT, 1), { cache }).dataSync(); });
  const next = ids(DECODE_B, 1, 2);
  const decodeStep = median(() => tf.tidy(() => { model.logits(model.hidden(next, { cache })).dataSync(); }));
  cache.dispose();
  model.dispose();
  tf.dispose([x, next]);
  return { forward, forwardBackward, decodeStep };
}

registerOnnxBackend();
const cpu = await measure('cpu');
const ort = await measure('onnxruntime');
const cases = Object.keys(cpu).map((name) => ({ name, cpuMs: cpu[name]!, onnxMs: ort[name]!, speedup: cpu[name]! / ort[name]! }));
console.log(`case              cpu ms   onnxruntime ms   speedup   (median of ${reps}, ORT threads ${intraOpThreads()})`);
for (const c of cases) console.log(`${c.name.padEnd(16)} ${c.cpuMs.toFixed(1).padStart(8)} ${c.onnxMs.toFixed(1).padStart(16)} ${c.speedup.toFixed(1).padStart(8)}x`);

const result = {
  bench: 'engine-onnx-slice1', date: new Date().toISOString(), reps, ortThreads: intraOpThreads(), cpus: cpus().length,
  config, shapes: { forward: [B, T], forwardBackward: [B, T], decodeStep: { batch: DECODE_B, cachedTokens: PROMPT, newTokens: 1 } },
  cases,
};
const dir = join(import.meta.dirname, 'results');
await mkdir(dir, { recursive: true });
const file = join(dir, 'engine-onnx-slice1.json');
await writeFile(`${file}.tmp`, JSON.stringify(result, null, 2) + '\n');
await rename(`${file}.tmp`, file);
console.log(`wrote ${file}`);
