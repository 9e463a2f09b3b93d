// Benchmark of packed training: one PPO policy update (clipped loss, forward + backward + Adam step through
// optimizeEpoch, micro-batches of --micro rows) over padded rows against the same rows packed into
// sequences (trainer.packingMaxLen 'auto'). The workload has ORZ's long tail: most responses short, a few at
// the limit. The model is the bundled tiny base model's shape with max_position_embeddings raised to
// --limit (fresh weights: timing and memory do not depend on their values). Each case runs in its own
// process, so its peak RSS is its own; both must give the same loss (packing changes summation order only).
//
//   npm run bench -- ppo-packing [--rows 64] [--limit 512] [--micro 16] [--reps 3] [--backend B]
// Writes bench/results/ppo-packing-<backend>-<date>.json. The machine is shared: the load average is recorded.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { selectBackend } from '../sdk/engine/backend.ts';
import { Rng } from '../sdk/engine/rng.ts';
import { TransformerLM, type ModelConfig } from '../sdk/model/index.ts';
import { experienceColumns, type Experience } from '../sdk/ppo/experience.ts';
import { responseLogprobs } from '../sdk/ppo/forward.ts';
import { policyLoss } from '../sdk/ppo/losses.ts';
import { Adam, ORZ_ADAM } from '../sdk/ppo/optimizer.ts';
import type { PackingSetting } from '../sdk/ppo/token-batch.ts';
import { optimizeEpoch } from '../sdk/ppo/update.ts';
import { RolloutBatch, type RolloutSample } from '../sdk/rollout/rollout-batch.ts';
import { writeFileAtomic } from '../sdk/util/atomic-write.ts';

const { values: args } = parseArgs({
  options: {
    case: { type: 'string' }, // internal: run one case in this process and print its JSON
    rows: { type: 'string', default: '64' },
    limit: { type: 'string', default: '512' },
    micro: { type: 'string', default: '16' },
    reps: { type: 'string', default: '3' },
    out: { type: 'string' }, // default bench/results/ppo-packing-<backend>-<date>.json (bench/rollout.ts passes its own)
    backend: { type: 'string' },
  },
});
const int = (name: string, v: string | undefined) => {
  const x = Number(v);
  if (!(Number.isInteger(x) && x >= 1)) throw new Error(`bench/ppo-packing: --${name} must be an integer >= 1, got ${v}`);
  return x;
};

/** Prompts of 32-64 tokens; responses: 1 in 8 runs to the limit, the rest ~ geometric with mean 40. */
function workload(rows: number, limit: number, vocab: number): RolloutSample[] {
  const rng = new Rng(2026);
  const ids = (n: number) => Array.from({ length: n }, () => 2 + Math.floor(rng.next() * (vocab - 2)));
  return Array.from({ length: rows }, (_, i) => {
    const p = 32 + Math.floor(rng.next() * 33);
    const room = limit - p;
    const r = i % 8 === 3 ? room : Math.min(room, 1 + Math.floor(-40 * Math.log(1 - rng.next())));
    const responseIds = ids(r);
    return {
      promptIndex: i >> 3, sampleIndex: i & 7, prompt: '', response: '', promptIds: ids(p), responseIds,
      logprobs: responseIds.map(() => -3 - rng.next()), finishReason: r === room ? 'length' : 'stop', groundTruth: '', reward: i % 2,
    };
  });
}

interface CaseResult { case: string; seconds: number[]; secondsMean: number; peakRssMB: number; loss: number; tensorTokens: number; realTokens: number }

async function runCase(packing: PackingSetting): Promise<CaseResult> {
  await selectBackend(args.backend);
  const limit = int('limit', args.limit);
  const base = JSON.parse(readFileSync(resolve('data/mini/base/config.json'), 'utf8')) as ModelConfig;
  const policy = TransformerLM.init({ ...base, max_position_embeddings: limit }, 1);
  const x = experienceColumns(RolloutBatch.fromSamples(workload(int('rows', args.rows), limit, base.vocab_size)), 1);
  const advantages = Float32Array.from(x.actionMask, (m, k) => m * ((k % 7) / 3 - 1));
  const exp: Experience = { ...x, values: null, returns: null, refLogprobs: null, advantages, stats: {} };
  let tensorTokens = 0;
  const once = () => {
    const optimizer = new Adam({ ...ORZ_ADAM, lr: 0 }, policy.weights); // lr 0: every rep sees the same weights
    tensorTokens = 0;
    const t0 = performance.now();
    const stats = optimizeEpoch({
      exp, order: Array.from({ length: x.N }, (_, i) => i), steps: 1, microBatchRows: int('micro', args.micro), padId: 1, packing,
      params: policy.weights, optimizer,
      loss: (mb) => {
        tensorTokens += mb.tokens.inputIds.size;
        const clip = policyLoss(responseLogprobs(policy, mb.tokens).logp, mb.oldLogprobs, mb.advantages, mb.mask, 0.2);
        return { loss: clip.loss, stats: { loss: clip.loss } };
      },
    });
    const s = (performance.now() - t0) / 1000;
    optimizer.dispose();
    return { s, loss: stats['loss']! };
  };
  once(); // warm up (sessions, kernels)
  const runs = Array.from({ length: int('reps', args.reps) }, once);
  const seconds = runs.map((r) => r.s);
  const realTokens = [...x.promptLengths].reduce((a, n) => a + n, 0) + [...x.lengths].reduce((a, n) => a + Math.max(0, n - 1), 0);
  return {
    case: packing === 0 ? 'padded' : `packed:${packing}`, seconds, secondsMean: seconds.reduce((a, b) => a + b, 0) / seconds.length,
    peakRssMB: process.resourceUsage().maxRSS / 1024, loss: runs[0]!.loss, tensorTokens, realTokens,
  };
}

function spawnCase(packing: string): CaseResult {
  const pass = Object.entries(args).filter(([k]) => k !== 'case' && k !== 'out').flatMap(([k, v]) => [`--${k}`, String(v)]);
  const r = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--case', packing, ...pass], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench/ppo-packing: case ${packing} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as CaseResult;
}

if (args.case) {
  const packing: PackingSetting = args.case === 'auto' ? 'auto' : Number(args.case);
  process.stdout.write(`${JSON.stringify(await runCase(packing))}\n`);
} else {
  const load = () => loadavg().map((v) => Number(v.toFixed(2)));
  const loadBefore = load();
  const [padded, packed] = [spawnCase('0'), spawnCase('auto')] as [CaseResult, CaseResult];
  const lossDiff = Math.abs(packed.loss - padded.loss);
  if (!(lossDiff <= 1e-5 * Math.max(1, Math.abs(padded.loss)))) throw new Error(`bench/ppo-packing: packed loss ${packed.loss} differs from padded ${padded.loss}`);
  const samples = workload(int('rows', args.rows), int('limit', args.limit), 384).map((s) => s.responseIds.length).sort((a, b) => a - b);
  const q = (f: number) => samples[Math.min(samples.length - 1, Math.floor(f * samples.length))]!;
  const result = {
    date: new Date().toISOString(), backend: args.backend ?? 'auto', cpus: cpus().length, loadAverage: { before: loadBefore, after: load() },
    workload: { rows: Number(args.rows), limit: Number(args.limit), microBatchRows: Number(args.micro), reps: Number(args.reps), responseLengths: { p50: q(0.5), p90: q(0.9), max: samples.at(-1)! } },
    cases: [padded, packed],
    ratios: {
      packedVsPaddedTime: packed.secondsMean / padded.secondsMean,
      packedVsPaddedPeakRss: packed.peakRssMB / padded.peakRssMB,
      packedVsPaddedTensorTokens: packed.tensorTokens / padded.tensorTokens,
    },
    note: 'time = one optimizeEpoch (1 step, micro-batches of microBatchRows, policy loss only) after a warm-up, mean of reps; peak RSS is each case\'s own process; tensorTokens = token slots fed (padding included). Both cases gave the same loss.',
  };
  const out = args.out ?? join(import.meta.dirname, 'results', `ppo-packing-${result.backend}-${result.date.slice(0, 10)}.json`);
  await mkdir(dirname(out), { recursive: true });
  await writeFileAtomic(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify({ ratios: result.ratios, workload: result.workload, seconds: [padded.secondsMean, packed.secondsMean], loadAverage: result.loadAverage }, null, 2));
  console.log(`wrote ${out}`);
}
