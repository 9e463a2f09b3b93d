// Makes the embedded default: a tiny *base* model for the arithmetic word-problem task, its
// tokenizer, and the RL train / eval splits, all under data/mini/.
//
// The base model learns plain next-token prediction on a corpus that mixes three habits:
// answering at once, writing correct steps, and writing steps with a slip, plus arithmetic drills
// ("7+5=12. 20-3=17. ...") that teach the one-step facts. It never sees a reward.
// Answering at once is the most common habit, so the base model is usually wrong on multi-step
// problems; PPO later finds that writing steps pays (see `npm run mini`).
//
//   npx tsx examples/pretrain-base.ts [--out data/mini] [--steps 2000] [--hidden 96] [--layers 3] [--seed 1]
// (the defaults made the bundled data/mini: 2000 steps, 63 min on the onnxruntime backend on 2 shared cores)

import { mkdir } from 'node:fs/promises';
import { writeFileAtomic as writeAtomic } from '../sdk/util/atomic-write.ts';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { tf } from '../sdk/engine/tf.ts';
import { selectBackend } from '../sdk/engine/backend.ts';
import { Rng } from '../sdk/engine/rng.ts';
import { arithCorpus, arithDrills, arithProblems, type ArithProblem } from '../sdk/data/arith.ts';
import { MINI_TEMPLATE, applyTemplate } from '../sdk/data/index.ts';
import { trainByteLevelBPE, saveTokenizer, type Tokenizer } from '../sdk/tokenizer/index.ts';
import { TransformerLM, saveModel, type ModelConfig } from '../sdk/model/index.ts';
import { Adam } from '../sdk/ppo/optimizer.ts';
import { selectLastAxis } from '../sdk/model/logprobs-op.ts';
import { RolloutEngine } from '../sdk/rollout/engine.ts';
import { mathReward } from '../sdk/reward/index.ts';

const { values: args } = parseArgs({
  options: {
    out: { type: 'string', default: 'data/mini' },
    steps: { type: 'string', default: '2000' },
    batch: { type: 'string', default: '32' },
    seed: { type: 'string', default: '1' },
    'eval-every': { type: 'string', default: '500' },
    'eval-count': { type: 'string', default: '200' },
    hidden: { type: 'string', default: '96' },
    layers: { type: 'string', default: '3' },
    backend: { type: 'string' },
  },
});
const OUT = args.out!;
const STEPS = Number(args.steps);
const BATCH = Number(args.batch);
const SEED = Number(args.seed);

/** Mix of solution habits in the pre-training corpus. */
const MIX = { answerOnly: 0.6, steps: 0.33, flawed: 0.07 };
/** Arithmetic drill documents ("7+5=12. 20-3=17. ...") added to the corpus: the facts written steps need. */
const DRILLS = { docs: 12000, factsPerDoc: 12 };
/** Levels (operations per problem) of the bundled eval split. */
const EVAL_LEVELS = [3, 4];
const MODEL: ModelConfig = {
  model_type: 'orz', architectures: ['OrzForCausalLM'],
  vocab_size: 0, // set from the tokenizer
  hidden_size: Number(args.hidden), intermediate_size: 3 * Number(args.hidden), num_hidden_layers: Number(args.layers),
  num_attention_heads: 4, num_key_value_heads: 4, max_position_embeddings: 128, rope_theta: 10000, rms_norm_eps: 1e-5, tie_word_embeddings: true, hidden_act: 'silu',
};

const log = (s: string) => process.stderr.write(`${s}\n`);

/** Next-token cross entropy over the real tokens of right-padded documents. */
function lmLoss(model: TransformerLM, docs: number[][], padId: number): tf.Scalar {
  const B = docs.length;
  const T = Math.max(...docs.map((d) => d.length)) - 1;
  const ids = new Int32Array(B * T).fill(padId);
  const tgt = new Int32Array(B * T);
  const mask = new Float32Array(B * T);
  docs.forEach((d, b) => {
    for (let t = 0; t < d.length - 1; t++) {
      ids[b * T + t] = d[t]!;
      tgt[b * T + t] = d[t + 1]!;
      mask[b * T + t] = 1;
    }
  });
  return tf.tidy(() => {
    const h = model.hidden(tf.tensor2d(ids, [B, T], 'int32'));
    const logits = model.logits(h) as tf.Tensor3D;
    const nll = tf.neg(selectLastAxis(tf.logSoftmax(logits), tf.tensor2d(tgt, [B, T], 'int32'))).reshape([-1]);
    const m = tf.tensor1d(mask);
    return tf.div(tf.sum(tf.mul(nll, m)), tf.sum(m)) as tf.Scalar;
  });
}

async function greedyAccuracy(model: TransformerLM, tok: Tokenizer, problems: ArithProblem[]) {
  const engine = new RolloutEngine(model, tok);
  const batch = await engine.generate(
    problems.map((p) => ({ prompt: applyTemplate(MINI_TEMPLATE, p.question), groundTruth: String(p.answer), level: p.level })),
    { temperature: 0, n: 1, maxNewTokens: 64 },
  );
  const samples = batch.samples();
  const rewards = samples.map((s) => mathReward({ ...s, groundTruth: s.groundTruth }));
  const stepsShare = samples.filter((s) => /\d[+\-*]\d/.test(s.response)).length / samples.length;
  const byLevel = [1, 2, 3, 4].map((l) => {
    const idx = samples.map((s, i) => [s, i] as const).filter(([s]) => s['level'] === l).map(([, i]) => i);
    return idx.length ? idx.reduce((a, i) => a + rewards[i]!, 0) / idx.length : NaN;
  });
  return { accuracy: rewards.reduce((a, b) => a + b, 0) / rewards.length, stepsShare, byLevel, example: samples[0]!.response };
}

/** What RL starts from: at temperature 1, how often the model writes steps, and how often each habit is right. */
async function sampledByHabit(model: TransformerLM, tok: Tokenizer, problems: ArithProblem[], n: number) {
  const engine = new RolloutEngine(model, tok);
  const batch = await engine.generate(
    problems.map((p) => ({ prompt: applyTemplate(MINI_TEMPLATE, p.question), groundTruth: String(p.answer) })),
    { temperature: 1, n, maxNewTokens: 64, seed: 5 },
  );
  const samples = batch.samples();
  const habit = samples.map((s) => /\d[+\-*]\d/.test(s.response));
  const reward = samples.map((s) => mathReward({ ...s, groundTruth: s.groundTruth }));
  const acc = (want: boolean) => {
    const idx = habit.map((h, i) => [h, i] as const).filter(([h]) => h === want).map(([, i]) => i);
    return idx.length ? idx.reduce((a, i) => a + reward[i]!, 0) / idx.length : NaN;
  };
  return {
    accuracy: reward.reduce((a, b) => a + b, 0) / reward.length,
    stepsShare: habit.filter(Boolean).length / habit.length,
    stepsAccuracy: acc(true), answerOnlyAccuracy: acc(false),
  };
}

async function main() {
  const backend = await selectBackend(args.backend);
  log(`backend: ${backend.name}`);
  await mkdir(join(OUT, 'base'), { recursive: true });

  // Splits: eval (held out), RL train, and the pre-training corpus; no question is shared.
  const evalProblems = arithProblems({ seed: SEED * 1000 + 1, count: 200, levels: [1, 2, 3, 4] });
  const evalSet = new Set(evalProblems.map((p) => p.question));
  // The eval split proper: the multi-step problems (3-4 operations), where answering at once mostly fails.
  // All 200 stay out of the RL and pre-training data.
  const evalSplit = evalProblems.filter((p) => EVAL_LEVELS.includes(p.level));
  const rlProblems = arithProblems({ seed: SEED * 1000 + 2, count: 4000, levels: [1, 2, 3, 4], exclude: evalSet });
  const held = new Set([...evalSet, ...rlProblems.map((p) => p.question)]);
  const ptProblems = arithProblems({ seed: SEED * 1000 + 3, count: 40000, levels: [1, 2, 3, 4], exclude: held });
  const corpus = arithCorpus(ptProblems, MIX, SEED * 1000 + 4, (q) => applyTemplate(MINI_TEMPLATE, q));
  const drills = arithDrills(DRILLS.docs, DRILLS.factsPerDoc, SEED * 1000 + 5);

  const tok = trainByteLevelBPE(corpus.slice(0, 4000), {
    vocabSize: 384,
    specialTokens: ['<|endoftext|>', '<|pad|>'],
    addedTokens: ['<think>', '</think>', '<answer>', '</answer>', '\\boxed{'],
  });
  const eos = tok.eosId!;
  const docs = [...corpus, ...drills].map((d) => [...tok.encode(d), eos]);
  const maxLen = Math.max(...docs.map((d) => d.length));
  log(`tokenizer: ${tok.vocabSize} tokens; corpus ${docs.length} docs, mean ${(docs.reduce((a, d) => a + d.length, 0) / docs.length).toFixed(1)} tokens, max ${maxLen}`);
  if (maxLen > MODEL.max_position_embeddings) throw new Error(`a document has ${maxLen} tokens > max_position_embeddings`);

  const config: ModelConfig = { ...MODEL, vocab_size: tok.vocabSize, eos_token_id: eos, pad_token_id: tok.padId };
  const model = TransformerLM.init(config, SEED);
  log(`model: ${model.numParameters()} parameters`);
  const peakLr = 3e-3;
  const warmup = 100;
  const opt = new Adam({ lr: peakLr, betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.01, gradClip: 1.0, warmupSteps: 0 }, model.weights);
  const rng = new Rng(SEED);
  const order = rng.shuffle(docs.map((_, i) => i));
  const t0 = performance.now();
  let cursor = 0;
  let emaLoss = NaN;
  for (let step = 1; step <= STEPS; step++) {
    const batch: number[][] = [];
    for (let i = 0; i < BATCH; i++) batch.push(docs[order[cursor++ % order.length]!]!);
    // linear warmup, then cosine decay to 10% of the peak
    const progress = Math.min(1, Math.max(0, (step - warmup) / Math.max(1, STEPS - warmup)));
    const lr = step <= warmup ? (peakLr * step) / warmup : peakLr * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * progress)));
    const { value, grads } = tf.variableGrads(() => lmLoss(model, batch, tok.padId), [...model.weights.values()]);
    const named: Record<string, tf.Tensor> = {};
    for (const [name, v] of model.weights) if (grads[v.name]) named[name] = grads[v.name]!;
    opt.apply(named, lr);
    const loss = value.dataSync()[0]!;
    tf.dispose([value, ...Object.values(grads)]);
    emaLoss = Number.isNaN(emaLoss) ? loss : 0.95 * emaLoss + 0.05 * loss;
    if (step % 50 === 0) log(`step ${step}/${STEPS} loss ${emaLoss.toFixed(4)} lr ${lr.toExponential(2)} ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    if (step % Number(args['eval-every']) === 0 || step === STEPS) {
      const ev = await greedyAccuracy(model, tok, evalProblems.slice(0, Number(args['eval-count'])));
      log(`  eval greedy accuracy ${ev.accuracy.toFixed(3)} | by level ${ev.byLevel.map((x) => x.toFixed(2)).join(' ')} | writes steps ${ev.stepsShare.toFixed(2)} | e.g. ${JSON.stringify(ev.example)}`);
      const sm = await sampledByHabit(model, tok, evalProblems.slice(0, 50), 4);
      log(`  sampled (T=1): accuracy ${sm.accuracy.toFixed(3)} | writes steps ${sm.stepsShare.toFixed(2)} | steps right ${sm.stepsAccuracy.toFixed(2)} | answer-only right ${sm.answerOnlyAccuracy.toFixed(2)}`);
      // a snapshot at every evaluation, so a long run that is stopped keeps its progress
      await saveModel(model, join(OUT, 'base'));
      if (step === Number(args['eval-every'])) await saveTokenizer(tok, join(OUT, 'base', 'tokenizer.json'));
    }
  }

  await saveModel(model, join(OUT, 'base'));
  await saveTokenizer(tok, join(OUT, 'base', 'tokenizer.json'));
  // RL train split in ORZ's training format, eval split in ORZ's eval format (as JSONL).
  const orzTrain = rlProblems.map((p) => [
    { from: 'human', value: p.question },
    { from: 'assistant', ground_truth: { value: String(p.answer) } },
  ]);
  await writeAtomic(join(OUT, 'train.json'), JSON.stringify(orzTrain));
  await writeAtomic(join(OUT, 'eval.jsonl'), evalSplit.map((p) => JSON.stringify({
    prompt: [{ from: 'user', value: p.question }], final_answer: String(p.answer), level: p.level,
  })).join('\n') + '\n');
  const seconds = (performance.now() - t0) / 1000;
  const ev = await greedyAccuracy(model, tok, evalProblems);
  const sm = await sampledByHabit(model, tok, evalProblems, 4);
  const split = await greedyAccuracy(model, tok, evalSplit);
  await writeAtomic(join(OUT, 'base', 'pretrain.json'), JSON.stringify({
    seed: SEED, steps: STEPS, batch: BATCH, mix: MIX, drills: DRILLS, parameters: model.numParameters(), backend: backend.name,
    seconds, finalLossEma: emaLoss, evalGreedyAccuracy: ev.accuracy, evalByLevel: ev.byLevel, evalStepsShare: ev.stepsShare,
    evalSampled: sm, evalSplit: { levels: EVAL_LEVELS, count: evalSplit.length, greedyAccuracy: split.accuracy, stepsShare: split.stepsShare },
  }, null, 2));
  log(`wrote ${OUT}: base accuracy ${ev.accuracy.toFixed(3)}`);
}

await main();
