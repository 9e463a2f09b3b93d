// Where orz's PPO update memory goes: one part of the update (the critic's step or the policy's) at a
// bench/scale size in its own process, with the resident set read at each stage, so the growth of every
// stage is its own. bench/scale.ts times the whole update; this says what its peak is made of.
//
//   node --import tsx bench/scale-memory.ts --size 0.5b --layers 2 --part policy|critic [--T 256] [--rows 1]
//       [--micro-batch-rows N] [--backend onnxruntime]
//
// Prints one JSON line: per stage, VmRSS (now) and VmHWM (peak so far) in MB and tfjs's tensor bytes:
//   weights      the policy loaded (random weights, TransformerLM.init at the size's seed)
//   critic       + the critic (policy copy + value head), critic part only
//   adam         + Adam's m and v of the part's model
//   forward      inside the loss, after the forward: the autograd tape of one micro-batch
//   backward     after tf.variableGrads: the gradients (VmHWM: the peak of the backward)
//   step         after the optimizer step (VmHWM: the peak of the update)

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { selectBackend } from '../sdk/engine/backend.ts';
import { Rng } from '../sdk/engine/rng.ts';
import { tf } from '../sdk/engine/tf.ts';
import { TransformerLM } from '../sdk/model/index.ts';
import { Critic } from '../sdk/ppo/critic.ts';
import { experienceColumns, padColumn, type Experience } from '../sdk/ppo/experience.ts';
import { policyLoss, valueLoss, maskedMean } from '../sdk/ppo/losses.ts';
import { Adam, ORZ_ADAM } from '../sdk/ppo/optimizer.ts';
import { responseLogprobs } from '../sdk/ppo/forward.ts';
import { optimizeEpoch } from '../sdk/ppo/update.ts';
import { RolloutBatch } from '../sdk/rollout/rollout-batch.ts';
import { SCALE_SIZES, trainLayout, withLayers } from './scale-sizes.ts';

const { values: args } = parseArgs({
  options: {
    size: { type: 'string', default: '0.5b' }, layers: { type: 'string' }, part: { type: 'string', default: 'policy' },
    T: { type: 'string', default: '256' }, rows: { type: 'string', default: '1' }, 'micro-batch-rows': { type: 'string', default: '0' },
    backend: { type: 'string', default: 'onnxruntime' },
  },
});
const base = SCALE_SIZES[args.size!];
if (!base) throw new Error(`bench/scale-memory: unknown --size ${args.size}; known: ${Object.keys(SCALE_SIZES).join(', ')}`);
const size = args.layers ? withLayers(base, Number(args.layers)) : base;
const part = args.part!;
if (part !== 'policy' && part !== 'critic') throw new Error(`bench/scale-memory: --part ${part}: expected policy or critic`);
const T = Number(args.T), B = Number(args.rows), microBatchRows = Number(args['micro-batch-rows']);

const MB = 2 ** 20;
const status = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024 / MB;
const tStart = performance.now();
const stages: { stage: string; s: number; rssMB: number; peakMB: number; tensorMB: number }[] = [];
const mark = (stage: string) => {
  stages.push({ stage, s: +((performance.now() - tStart) / 1000).toFixed(1), rssMB: Math.round(status('VmRSS')), peakMB: Math.round(status('VmHWM')), tensorMB: Math.round(tf.memory().numBytes / MB) });
  process.stderr.write(`[scale-memory ${size.name} ${part}] ${JSON.stringify(stages.at(-1))}\n`);
};

const backend = (await selectBackend(args.backend!)).name;
mark('start');
const policy = TransformerLM.init(size.config, size.seed);
mark('weights');
const critic = part === 'critic' ? Critic.fromPolicy(policy, size.seed + 1) : null;
if (critic) mark('critic');
const params = critic ? critic.weights() : policy.weights;
const adam = new Adam({ ...ORZ_ADAM, lr: 1e-6 }, params);
mark('adam');

const rng = new Rng(size.seed + 2);
const ids = (n: number) => Array.from({ length: n }, () => Math.floor(rng.next() * size.config.vocab_size));
const normal = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
const { P, R } = trainLayout(T);
const rollout = RolloutBatch.fromSamples(Array.from({ length: B }, (_, i) => ({
  promptIndex: i, sampleIndex: 0, prompt: '', response: '', promptIds: ids(P), responseIds: ids(R),
  logprobs: Array.from({ length: R }, () => -Math.log(size.config.vocab_size)), finishReason: 'length' as const, groundTruth: '', reward: 0,
})));
const columns = experienceColumns(rollout, 0);
const perToken = (f: () => number) => Array.from({ length: B }, () => Float32Array.from({ length: R }, f));
const exp: Experience = {
  ...columns, advantages: padColumn(perToken(normal), columns.R), values: padColumn(perToken(() => 0.1 * normal()), columns.R),
  returns: padColumn(perToken(() => (rng.next() < 0.5 ? 1 : 0)), columns.R), refLogprobs: null, stats: {},
};

// the gradients are summed when the optimizer is handed them: mark there, then step
const apply = adam.apply.bind(adam);
adam.apply = (grads, lr) => { mark('backward'); return apply(grads, lr); };
let forwardMarked = false;
const t0 = performance.now();
optimizeEpoch({
  exp, order: Array.from({ length: B }, (_, i) => i), steps: 1, microBatchRows, padId: 0, params, optimizer: adam,
  loss: (mb) => {
    let loss: tf.Scalar;
    if (critic) loss = valueLoss(critic.values(mb.tokens), mb.values, mb.returns, mb.mask).loss;
    else {
      const { logp, entropy } = responseLogprobs(policy, mb.tokens, true);
      loss = policyLoss(logp, mb.oldLogprobs, mb.advantages, mb.mask).loss;
      loss = tf.sub(loss, tf.mul(maskedMean(entropy!, mb.mask), 0)) as tf.Scalar; // entropy in the graph, as the trainer's
    }
    if (!forwardMarked) { mark('forward'); forwardMarked = true; }
    return { loss, stats: {} };
  },
});
mark('step');
console.log(JSON.stringify({ size: size.name, part, backend, T, rows: B, microBatchRows, seconds: (performance.now() - t0) / 1000, stages }));
