// orz's side of bench/scale.ts: one phase of one size in its own process, so the peak RSS it reports
// is that phase's alone.
//
//   node --import tsx bench/scale-steps.ts --dir DIR --phase init|train|forward|sampling [--out FILE] [--backend onnxruntime]
//
// DIR holds size.json (a ScaleSize, written by bench/scale.ts). "init" writes the random-weight policy
// to DIR/policy (saveModel), which both engines then load. "forward" also writes the check rows' ids and
// logits to DIR/check.safetensors for the PyTorch side to compare against. The result file is rewritten
// after every measured length, so a phase killed for memory still leaves what it finished.

import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { selectBackend } from '../sdk/engine/backend.ts';
import { Rng } from '../sdk/engine/rng.ts';
import { tf } from '../sdk/engine/tf.ts';
import { loadModel, saveModel, TransformerLM, writeSafetensors } from '../sdk/model/index.ts';
import { Critic } from '../sdk/ppo/critic.ts';
import { experienceColumns, padColumn, type Experience } from '../sdk/ppo/experience.ts';
import { Trainer } from '../sdk/ppo/trainer.ts';
import { RolloutEngine } from '../sdk/rollout/engine.ts';
import { RolloutBatch } from '../sdk/rollout/rollout-batch.ts';
import type { Tokenizer } from '../sdk/tokenizer/index.ts';
import { writeFileAtomic } from '../sdk/util/atomic-write.ts';
import { SCALE_TRAINER, trainLayout, type PhaseResult, type ScaleSize } from './scale-sizes.ts';

const { values: args } = parseArgs({
  options: { dir: { type: 'string' }, phase: { type: 'string' }, out: { type: 'string' }, backend: { type: 'string', default: 'onnxruntime' } },
});
if (!args.dir || !args.phase) throw new Error('bench/scale-steps: --dir and --phase are required');
const dir = args.dir;
const phase = args.phase;
const sizePath = join(dir, 'size.json');
const size = JSON.parse(await readFile(sizePath, 'utf8')) as ScaleSize;
const log = (msg: string) => process.stderr.write(`[orz ${size.name} ${phase}] ${msg}\n`);
const loadStart = loadavg()[0]!;

const ids = (rng: Rng, n: number) => Array.from({ length: n }, () => Math.floor(rng.next() * size.config.vocab_size));
const seconds = async (fn: () => unknown) => {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
};

/** A tokenizer whose prompts are their row number; responses decode to nothing, so no stop string fires. */
function rowTokenizer(prompts: number[][]): Tokenizer {
  return {
    vocabSize: size.config.vocab_size,
    encode: (text) => {
      const row = prompts[Number(text)];
      if (!row) throw new Error(`bench/scale-steps: no prompt "${text}"`);
      return row;
    },
    decode: () => '', tokenToId: () => undefined, idToToken: () => undefined,
    specialIds: new Set(), padId: 0, eosId: undefined, toJSON: () => ({}),
  };
}

const backend = (await selectBackend(args.backend!)).name;
const result: PhaseResult = { engine: `orz-${backend}`, phase: phase as PhaseResult['phase'], runs: [], peakRssMB: 0, loadAvg: [] };
async function save(): Promise<void> {
  if (!args.out) return;
  result.peakRssMB = process.resourceUsage().maxRSS / 1024;
  result.loadAvg = [loadStart, loadavg()[0]!];
  await writeFileAtomic(args.out, `${JSON.stringify(result, null, 1)}\n`);
}

if (phase === 'init') {
  const policy = TransformerLM.init(size.config, size.seed);
  log(`${(policy.numParameters() / 1e6).toFixed(1)}M parameters -> ${join(dir, 'policy')}`);
  await saveModel(policy, join(dir, 'policy'));
  policy.dispose();
} else {
  const policy = await loadModel(join(dir, 'policy'));
  if (phase === 'train') await train(policy);
  else if (phase === 'forward') await forward(policy);
  else if (phase === 'sampling') await sampling(policy);
  else throw new Error(`bench/scale-steps: unknown --phase ${phase} (init, train, forward, sampling)`);
  policy.dispose();
}

async function train(policy: TransformerLM): Promise<void> {
  const critic = Critic.fromPolicy(policy, size.seed + 1);
  const rng = new Rng(size.seed + 2);
  const t = SCALE_TRAINER;
  const { rows: B } = size.train;
  const trainer = new Trainer({
    policy, critic, tokenizer: rowTokenizer([]),
    dataset: [{ prompt: '0', groundTruth: '', source: { file: 'bench', index: 0 } }],
    config: {
      policyLr: t.policyLr, criticLr: t.criticLr, adamBetas: t.betas, gradClip: t.gradClip, warmupSteps: 0,
      clipRatio: t.clipRatio, valueClip: t.valueClip, policyUpdateSteps: 1, criticUpdateSteps: 1,
      criticWarmupIterations: 0, microBatchRows: 0, kl: { coef: 0, log: false },
    },
  });
  const normal = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  for (const T of size.train.lengths) {
    const { P, R } = trainLayout(T);
    const perToken = (f: () => number) => Array.from({ length: B }, () => Float32Array.from({ length: R }, f));
    const rollout = RolloutBatch.fromSamples(Array.from({ length: B }, (_, i) => ({
      promptIndex: i, sampleIndex: 0, prompt: '', response: '', promptIds: ids(rng, P), responseIds: ids(rng, R),
      logprobs: Array.from({ length: R }, () => -Math.log(size.config.vocab_size) + 0.1 * normal()),
      finishReason: 'length' as const, groundTruth: '', reward: 0,
    })));
    const columns = experienceColumns(rollout, 0);
    const experience: Experience = {
      ...columns, advantages: padColumn(perToken(normal), columns.R), values: padColumn(perToken(() => 0.1 * normal()), columns.R),
      returns: padColumn(perToken(() => (rng.next() < 0.5 ? 1 : 0)), columns.R), refLogprobs: null, stats: {},
    };
    const run = { T, rows: B, seconds: [] as number[], criticSeconds: [] as number[], policySeconds: [] as number[] };
    for (let i = 0; i < size.train.warmup + size.train.reps; i++) {
      log(`PPO update ${B} x ${T} (${i < size.train.warmup ? 'warm-up' : 'timed'})`);
      let row: Record<string, unknown> = {};
      const s = await seconds(async () => { row = await trainer.update(experience); });
      if (i < size.train.warmup) continue;
      run.seconds.push(s);
      run.criticSeconds.push(row['time/update_critic'] as number);
      run.policySeconds.push(row['time/update_policy'] as number);
    }
    result.runs.push(run);
    await save();
  }
  trainer.dispose();
}

function forwardOnce(policy: TransformerLM, ids2d: tf.Tensor2D): Float32Array {
  // the logits are read inside the tidy but not returned from it: tidy walks what it returns element by
  // element, and a [rows x T, vocab] array is beyond a Set's size at 30M and up
  let logits: Float32Array = new Float32Array(0);
  tf.tidy(() => { logits = policy.logits(policy.hidden(ids2d)).dataSync() as Float32Array; });
  return logits;
}

async function forward(policy: TransformerLM): Promise<void> {
  const rng = new Rng(size.seed + 3);
  const { rows: B, warmupLength } = size.forward;
  const checkIds = ids(rng, size.checkTokens);
  const check = tf.tensor2d(checkIds, [1, size.checkTokens], 'int32');
  const logits = forwardOnce(policy, check);
  check.dispose();
  await writeSafetensors(join(dir, 'check.safetensors'), new Map([
    ['ids', { dtype: 'I32' as const, shape: [1, size.checkTokens], data: Int32Array.from(checkIds) }],
    ['logits', { dtype: 'F32' as const, shape: [1, size.checkTokens, size.config.vocab_size], data: logits }],
  ]));
  const lengths = [warmupLength, ...size.forward.lengths];
  for (const [i, T] of lengths.entries()) {
    const warm = i === 0;
    const batch = tf.tensor2d(ids(rng, B * T), [B, T], 'int32');
    const run = { T, rows: B, seconds: [] as number[] };
    for (let r = 0; r < (warm ? 1 : size.forward.reps); r++) {
      log(`forward ${B} x ${T}${warm ? ' (warm-up)' : ''}`);
      run.seconds.push(await seconds(() => forwardOnce(policy, batch)));
    }
    batch.dispose();
    if (warm) continue;
    result.runs.push(run);
    await save();
  }
}

async function sampling(policy: TransformerLM): Promise<void> {
  const rng = new Rng(size.seed + 4);
  const s = size.sampling;
  const promptRows = Array.from({ length: s.prompts }, () => ids(rng, s.promptLen));
  const engine = new RolloutEngine(policy, rowTokenizer(promptRows), { maxBatchRows: s.prompts });
  const prompts = promptRows.map((_, i) => String(i));
  const generate = async (newTokens: number) => {
    const out = await engine.generate(prompts, { temperature: 1, topP: 1, topK: 0, maxNewTokens: newTokens, n: 1, stop: [], seed: size.seed });
    return out.samples().reduce((a, x) => a + x.responseIds.length, 0);
  };
  log(`sampling ${s.prompts} x (${s.promptLen} + 2) (warm-up)`);
  await generate(2);
  const run = { T: s.promptLen + s.newTokens, rows: s.prompts, seconds: [] as number[], tokens: 0 };
  for (let i = 0; i < s.reps; i++) {
    log(`sampling ${s.prompts} x (${s.promptLen} + ${s.newTokens})`);
    run.seconds.push(await seconds(async () => { run.tokens = await generate(s.newTokens); }));
  }
  if (run.tokens !== s.prompts * s.newTokens) throw new Error(`bench/scale-steps: sampled ${run.tokens} tokens, expected ${s.prompts * s.newTokens}`);
  result.runs.push(run);
}

await save();
