// Benchmark of rollout workers: generation throughput (response tokens/s) of the bundled tiny base model on the
// mini training prompts, in-process (N = 0) against N = 1 and 2 worker processes, as the session runs them
// (WorkerPool + WorkerEngine). Each N also compares its batch with the in-process one (same seed): the tokens
// must be the same; log-probs may differ by float32 rounding where the backend's kernels depend on the batch shape.
//
//   npx tsx bench/session-workers.ts [--prompts 64] [--n 1] [--max-new-tokens 48] [--repeats 3] [--workers 0,1,2] [--backend B] [--tag T]
// Writes bench/results/session-workers-<backend>[-<tag>]-<date>.json. The machine's load average is recorded around each
// measurement: on a small machine the workers compete with each other, with the session process and with
// anything else running.

import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { selectBackend } from '../sdk/engine/backend.ts';
import { applyTemplate, readDataset, resolveTemplate } from '../sdk/data/index.ts';
import { loadModel } from '../sdk/model/index.ts';
import { loadTokenizer } from '../sdk/tokenizer/index.ts';
import { DEFAULT_GENERATE, RolloutEngine, type GenerateParams } from '../sdk/rollout/engine.ts';
import type { RolloutBatch } from '../sdk/rollout/rollout-batch.ts';
import { Signer } from '../sdk/session/wire.ts';
import { WorkerPool, workerEnv } from '../sdk/session/workers/worker-pool.ts';
import { WorkerEngine } from '../sdk/session/workers/worker-engine.ts';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'data/mini/base' },
    data: { type: 'string', default: 'data/mini/train.json' },
    prompts: { type: 'string', default: '64' },
    n: { type: 'string', default: '1' },
    'max-new-tokens': { type: 'string', default: '48' },
    repeats: { type: 'string', default: '3' },
    workers: { type: 'string', default: '0,1,2' },
    backend: { type: 'string' },
    tag: { type: 'string' },
  },
});

const count = (name: string, v: string | undefined, min: number) => {
  const x = Number(v);
  if (!(Number.isInteger(x) && x >= min)) throw new Error(`--${name} must be an integer >= ${min}, got ${v}`);
  return x;
};
const numPrompts = count('prompts', args.prompts, 1);
const repeats = count('repeats', args.repeats, 1);
const sizes = args.workers!.split(',').map((w) => count('workers', w, 0));
const params: GenerateParams = { ...DEFAULT_GENERATE, n: count('n', args.n, 1), maxNewTokens: count('max-new-tokens', args['max-new-tokens'], 1), seed: 1 };

const backend = await selectBackend(args.backend);
const modelDir = resolve(args.model!);
const [model, tokenizer, records] = await Promise.all([loadModel(modelDir), loadTokenizer(modelDir), readDataset(resolve(args.data!))]);
const template = resolveTemplate('mini');
const prompts = records.slice(0, numPrompts).map((r) => ({ prompt: applyTemplate(template, r.prompt), groundTruth: r.groundTruth }));
if (prompts.length < numPrompts) throw new Error(`${args.data} has ${records.length} records, fewer than --prompts ${numPrompts}`);

const tokensOf = (b: RolloutBatch) => b.samples().reduce((a, s) => a + s.responseIds.length, 0);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const load = () => loadavg().map((x) => Number(x.toFixed(2)));

interface Result {
  workers: number; threadsPerProcess: string; seconds: number[]; medianSeconds: number; tokens: number; tokensPerSec: number;
  speedup: number | null; sameTokensAsInProcess: boolean | null; maxLogprobDiff: number | null; loadBefore: number[]; loadAfter: number[]; startSeconds: number | null;
}

/** Everything but the log-probs must be equal; log-probs are compared numerically. */
function compare(a: RolloutBatch, b: RolloutBatch): { sameTokens: boolean; maxLogprobDiff: number } {
  const [x, y] = [a.samples(), b.samples()];
  const strip = (s: Record<string, unknown>) => ({ ...s, logprobs: null });
  const sameTokens = x.length === y.length && x.every((s, i) => JSON.stringify(strip(s)) === JSON.stringify(strip(y[i]!)));
  let maxLogprobDiff = 0;
  if (sameTokens) x.forEach((s, i) => s.logprobs.forEach((v, j) => (maxLogprobDiff = Math.max(maxLogprobDiff, Math.abs(v - y[i]!.logprobs[j]!)))));
  return { sameTokens, maxLogprobDiff: sameTokens ? Number(maxLogprobDiff.toExponential(2)) : NaN };
}

async function measure(engine: RolloutEngine): Promise<{ seconds: number[]; batch: RolloutBatch }> {
  await engine.generate(prompts.slice(0, 4), { ...params, maxNewTokens: 4 }); // warm up (and, on workers, load + weights)
  const seconds: number[] = [];
  let batch: RolloutBatch | null = null;
  for (let i = 0; i < repeats; i++) {
    const t = performance.now();
    batch = await engine.generate(prompts, params);
    seconds.push((performance.now() - t) / 1000);
  }
  return { seconds, batch: batch! };
}

const results: Result[] = [];
let reference: RolloutBatch | null = null;
let baseline: number | null = null;
for (const n of sizes) {
  const loadBefore = load();
  let pool: WorkerPool | null = null;
  let startSeconds: number | null = null;
  let engine: RolloutEngine;
  if (n === 0) engine = new RolloutEngine(model, tokenizer);
  else {
    const t = performance.now();
    const log: string[] = [];
    pool = await WorkerPool.start({ size: n, key: Signer.newKey(), backend: backend.name, maxMessageSize: 1 << 28, log: (l) => log.push(l) });
    startSeconds = (performance.now() - t) / 1000;
    engine = new WorkerEngine(pool, 'bench', { modelDir, tokenizerPath: modelDir }, model, tokenizer, () => 0);
  }
  try {
    const { seconds, batch } = await measure(engine);
    const tokens = tokensOf(batch);
    const tokensPerSec = tokens / median(seconds);
    if (n === 0) {
      reference = batch;
      baseline = tokensPerSec;
    }
    const cmp = n > 0 && reference ? compare(batch, reference) : null;
    results.push({
      workers: n, threadsPerProcess: n === 0 ? (process.env['ORZ_THREADS'] || '2 (default)') : workerEnv(n)['ORZ_THREADS']!, seconds: seconds.map((s) => Number(s.toFixed(3))), medianSeconds: Number(median(seconds).toFixed(3)), tokens,
      tokensPerSec: Number(tokensPerSec.toFixed(1)), speedup: baseline ? Number((tokensPerSec / baseline).toFixed(2)) : null,
      sameTokensAsInProcess: cmp?.sameTokens ?? null, maxLogprobDiff: cmp?.maxLogprobDiff ?? null, loadBefore, loadAfter: load(), startSeconds: startSeconds === null ? null : Number(startSeconds.toFixed(2)),
    });
    process.stderr.write(`N = ${n}: ${tokens} tokens in ${median(seconds).toFixed(2)} s (median of ${repeats}) = ${tokensPerSec.toFixed(0)} tokens/s${baseline && n > 0 ? `, x${(tokensPerSec / baseline).toFixed(2)} vs in-process` : ''}${cmp ? `, same tokens as in-process: ${cmp.sameTokens}, largest log-prob difference ${cmp.maxLogprobDiff}` : ''}; load ${loadBefore.join(' ')} -> ${load().join(' ')}\n`);
  } finally {
    await pool?.close();
  }
}
model.dispose();

const date = new Date().toISOString();
const out = {
  benchmark: 'session-workers',
  date,
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGB: Math.round(totalmem() / 2 ** 30), node: process.version },
  backend: backend.name,
  model: args.model,
  prompts: numPrompts,
  params: { n: params.n, maxNewTokens: params.maxNewTokens, temperature: params.temperature, stop: params.stop, seed: params.seed },
  repeats,
  orzThreads: process.env['ORZ_THREADS'] ?? null,
  results,
  note: 'tokens/s = response tokens of the whole batch / median wall time of generate(); N = 0 is the in-process engine. ' +
    `On this ${cpus().length}-core machine the N workers share the cores with each other and with the session process ` +
    '(which splits, sends weights and joins the slices); loadBefore/loadAfter are the 1/5/15-minute load averages.',
};
if (args.tag !== undefined && !/^[A-Za-z0-9_-]{1,32}$/.test(args.tag)) throw new Error(`--tag must be 1-32 letters, digits, "_" or "-", got ${args.tag}`);
const file = join('bench', 'results', `session-workers-${backend.name}${args.tag ? `-${args.tag}` : ''}-${date.slice(0, 10)}.json`);
await mkdir(join('bench', 'results'), { recursive: true });
await writeFile(file, JSON.stringify(out, null, 2) + '\n');
process.stderr.write(`wrote ${file}\n`);
