// One tfjs backend's side of bench/engine-vs-pytorch.ts, run as its own process (so its peak memory
// is its own): the SDK's PPO update (Trainer.update: critic step, then policy step), the forward
// pass, batched sampling through RolloutEngine with the KV cache, optionally the MatMul rate and a
// per-kernel profile. Everything runs on the fixture bench/fixture.ts wrote.
//
//   npx tsx bench/engine-steps.ts --fixture DIR --backend onnxruntime --out FILE.json
//       [--warmup 1] [--forward-warmup N] [--reps 3] [--gemm] [--profile]
// --warmup: untimed training steps first; --forward-warmup: untimed forwards/samplings (default --warmup).
//
// On its own (`npm run bench -- engine-steps [--backend B]`): without --fixture it writes a fresh fixture
// into a temporary directory first (check logits on the cpu backend, as engine-vs-pytorch does); the
// backend defaults to the preferred one and --out to bench/results/engine-steps-<engine>-<date>.json.

import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { activeBackend, selectBackend } from '../sdk/engine/backend.ts';
import { setFusedKernels } from '../sdk/engine/fused.ts';
import { tf } from '../sdk/engine/tf.ts';
import { loadModel } from '../sdk/model/index.ts';
import { Critic } from '../sdk/ppo/critic.ts';
import { METRIC } from '../sdk/ppo/metric-names.ts';
import { experienceColumns, padColumn, type Experience } from '../sdk/ppo/experience.ts';
import { Trainer } from '../sdk/ppo/trainer.ts';
import { RolloutEngine } from '../sdk/rollout/engine.ts';
import { RolloutBatch } from '../sdk/rollout/rollout-batch.ts';
import type { Tokenizer } from '../sdk/tokenizer/index.ts';
import { writeFileAtomic } from '../sdk/util/atomic-write.ts';
import { readFixture, relativeError, writeFixture } from './fixture.ts';
import { formatProfile, KernelProfiler, type Profile } from './kernel-profile.ts';

const { values: args } = parseArgs({
  options: {
    fixture: { type: 'string' }, backend: { type: 'string' }, out: { type: 'string' },
    warmup: { type: 'string', default: '1' }, reps: { type: 'string', default: '3' },
    'forward-warmup': { type: 'string' },
    gemm: { type: 'boolean', default: false }, profile: { type: 'boolean', default: false },
  },
});
const count = (name: string, v: string | undefined, min: number): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`bench/engine-steps: --${name} must be an integer >= ${min}, got ${v}`);
  return n;
};
const warmup = count('warmup', args.warmup, 0);
const reps = count('reps', args.reps, 1);
// forward and sampling run after the training steps, which already warmed the kernels they share
const laterWarmup = count('forward-warmup', args['forward-warmup'] ?? args.warmup, 0);
const loadStart = loadavg()[0]!;
const requested = args.backend ?? (await activeBackend());
const log = (msg: string) => process.stderr.write(`[${requested}] ${msg}\n`);
// "<backend>-unfused": that backend with its fused kernels off (sdk/engine/fused.ts), to show what they buy
const unfused = requested.endsWith('-unfused');
if (unfused) setFusedKernels(false);

let fixtureDir = args.fixture;
const ownFixture = fixtureDir === undefined;
if (ownFixture) {
  fixtureDir = await mkdtemp(join(tmpdir(), 'orz-engine-steps-'));
  log(`fixture (model, batch, reference logits on the cpu backend) in ${fixtureDir}`);
  await selectBackend('cpu');
  await writeFixture(fixtureDir);
}
const backend = (await selectBackend(requested.replace(/-unfused$/, ''))).name;
const engineName = unfused ? `${backend}-unfused` : backend;
const fx = await readFixture(fixtureDir!);
const outPath = args.out ?? join(import.meta.dirname, 'results', `engine-steps-${engineName}-${new Date().toISOString().slice(0, 10)}.json`);
const { meta } = fx;
const policy = await loadModel(join(fx.dir, 'policy'));
const critic = await Critic.load(join(fx.dir, 'critic'));

// same function: the check rows' logits against the reference backend's
const checkLogits = tf.tidy(() => policy.logits(policy.hidden(fx.checkIds)).dataSync());
const check = { relErr: relativeError(checkLogits, fx.checkLogits) };

/** Prompts are their row number as text; responses decode to nothing, so no stop string ever fires. */
const tokenizer: Tokenizer = {
  vocabSize: meta.config.vocab_size,
  encode: (text) => {
    const row = fx.samplePrompts[Number(text)];
    if (!row) throw new Error(`bench/engine-steps: no sampling prompt "${text}"`);
    return row;
  },
  decode: () => '',
  tokenToId: () => undefined,
  idToToken: () => undefined,
  specialIds: new Set(),
  padId: 0,
  eosId: undefined,
  toJSON: () => ({}),
};

const t = meta.trainer;
const trainer = new Trainer({
  policy, critic, tokenizer,
  dataset: [{ prompt: '0', groundTruth: '', source: { file: 'bench', index: 0 } }],
  config: {
    policyLr: t.policyLr, criticLr: t.criticLr, adamBetas: t.betas, gradClip: t.gradClip, warmupSteps: 0,
    clipRatio: t.clipRatio, valueClip: t.valueClip, policyUpdateSteps: 1, criticUpdateSteps: 1,
    criticWarmupIterations: 0, microBatchRows: 0, kl: { coef: 0, log: false },
  },
});
// The fixture's batch as an iteration's experience: its rows as a rollout, its per-token arrays as the columns.
const rollout = RolloutBatch.fromSamples(fx.rows.map((r, i) => ({
  promptIndex: i, sampleIndex: 0, prompt: '', response: '', promptIds: r.promptIds, responseIds: r.responseIds,
  logprobs: Array.from(fx.oldLogprobs[i]!), finishReason: 'length' as const, groundTruth: '', reward: 0,
})));
const columns = experienceColumns(rollout, tokenizer.padId);
const experience: Experience = {
  ...columns, advantages: padColumn(fx.advantages, columns.R), values: padColumn(fx.oldValues, columns.R),
  returns: padColumn(fx.returns, columns.R), refLogprobs: null, stats: {},
};

async function timed(n: number, w: number, fn: () => unknown): Promise<{ seconds: number[]; first: unknown }> {
  let first: unknown;
  const seconds: number[] = [];
  for (let i = 0; i < w + n; i++) {
    const t0 = performance.now();
    const r = await fn();
    if (i >= w) seconds.push((performance.now() - t0) / 1000);
    if (i === 0) first = r;
  }
  return { seconds, first };
}

const criticSeconds: number[] = [], policySeconds: number[] = [];
let stepIndex = 0;
const trainStep = async () => {
  const row = await trainer.update(experience);
  if (stepIndex++ >= warmup) {
    criticSeconds.push(row[METRIC.updateCriticTime] as number);
    policySeconds.push(row[METRIC.updatePolicyTime] as number);
  }
  return row;
};
log(`training step x${warmup}+${reps}`);
const train = await timed(reps, warmup, trainStep);
const firstRow = train.first as Record<string, unknown>;
const firstStep = {
  critic: { loss: firstRow['critic/loss'], clip_fraction: firstRow['critic/clip_fraction'], grad_norm: firstRow['critic/grad_norm'] },
  policy: {
    loss: firstRow['policy/loss'], clip_fraction: firstRow['policy/clip_fraction'], approx_kl: firstRow['policy/approx_kl'],
    entropy: firstRow['policy/entropy'], grad_norm: firstRow['policy/grad_norm'],
  },
};

const { B, T } = meta;
const batch = {
  ids: tf.tensor2d(fx.rows.flatMap((r) => [...r.promptIds, ...r.responseIds].slice(0, T)), [B, T], 'int32'),
  positions: tf.tensor2d(Int32Array.from({ length: B * T }, (_, i) => i % T), [B, T], 'int32'),
  keyMask: tf.ones([B, T]) as tf.Tensor2D,
};
const forwardOnce = () => tf.tidy(() => {
  policy.logits(policy.hidden(batch.ids, { positions: batch.positions, keyMask: batch.keyMask })).dataSync();
});
log(`forward x${laterWarmup}+${reps}`);
const forward = await timed(reps, laterWarmup, forwardOnce);

const s = meta.sampling;
const engine = new RolloutEngine(policy, tokenizer, { maxBatchRows: s.prompts });
const prompts = Array.from({ length: s.prompts }, (_, i) => String(i));
let sampledTokens = 0;
log(`sampling ${s.prompts} x (${s.promptLen} + ${s.newTokens}) x${laterWarmup}+${reps}`);
const sampling = await timed(reps, laterWarmup, async () => {
  const out = await engine.generate(prompts, { temperature: s.temperature, topP: 1, topK: 0, maxNewTokens: s.newTokens, n: 1, stop: [], seed: s.seed });
  sampledTokens = out.samples().reduce((a, x) => a + x.responseIds.length, 0);
});
if (sampledTokens !== s.prompts * s.newTokens) throw new Error(`bench/engine-steps: sampled ${sampledTokens} tokens, expected ${s.prompts * s.newTokens}`);

const gemm: { n: number; seconds: number[]; gflops: number }[] = [];
if (args.gemm) {
  for (const n of meta.gemmSizes) {
    log(`MatMul ${n}x${n}`);
    const [a, b] = [tf.randomNormal([n, n], 0, 1, 'float32', 1), tf.randomNormal([n, n], 0, 1, 'float32', 2)];
    const { seconds } = await timed(reps, 1, () => tf.tidy(() => { tf.matMul(a, b).dataSync(); }));
    tf.dispose([a, b]);
    gemm.push({ n, seconds, gflops: (2 * n ** 3) / Math.min(...seconds) / 1e9 }); // best rep: the kernel's rate
  }
}

let profile: { train: Profile; forward: Profile } | null = null;
if (args.profile) {
  log('profile: one training step, one forward');
  const profiler = new KernelProfiler(backend);
  profile = { train: await profiler.measure(() => trainer.update(experience)), forward: await profiler.measure(forwardOnce) };
  for (const line of [...formatProfile('training step', profile.train), ...formatProfile('forward', profile.forward)]) log(line);
}

const result = {
  engine: engineName, check, firstStep,
  trainSeconds: train.seconds, criticSeconds, policySeconds,
  forwardSeconds: forward.seconds, samplingSeconds: sampling.seconds, sampledTokens,
  gemm, profile,
  peakRssMB: process.resourceUsage().maxRSS / 1024,
  loadAvg: [loadStart, loadavg()[0]!],
};
await writeFileAtomic(outPath, JSON.stringify(result, null, 1));
if (ownFixture) {
  await rm(fixtureDir!, { recursive: true, force: true });
  const best = (xs: number[]) => Math.min(...xs).toFixed(3);
  const tokPerSec = sampledTokens / Math.min(...sampling.seconds);
  process.stdout.write(`${engineName}: PPO update ${best(train.seconds)} s (critic ${best(criticSeconds)}, policy ${best(policySeconds)}), forward ${best(forward.seconds)} s, sampling ${tokPerSec.toFixed(0)} tok/s, check rel. err ${check.relErr.toExponential(2)}, peak RSS ${result.peakRssMB.toFixed(0)} MB\n${outPath}\n`);
}
tf.dispose([batch.ids, batch.positions, batch.keyMask, fx.checkIds]);
trainer.dispose();
policy.dispose();
