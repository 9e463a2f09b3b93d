// One pass of minibatch optimisation over an iteration's experience: split the rows into k
// minibatches (k optimizer steps), each optionally in micro-batches (gradient accumulation) whose
// gradients add up to the minibatch's token-mean loss. With packing, a micro-batch's rows are packed into
// sequences (a micro-batch is still a set of rows; packing only changes its tensors' layout). A minibatch whose loss or gradient is NaN or Inf takes no optimizer step
// (the weights and Adam state stay as they were); it is counted in `skipped_steps`.

import { tf } from '../engine/tf.ts';
import { MiniBatch, type Experience } from './experience.ts';
import type { Adam } from './optimizer.ts';
import type { PackingSetting } from './token-batch.ts';

/** The token-mean loss of a (micro-)batch, plus scalar stats to average over the epoch's tokens. */
export type BatchLoss = (mb: MiniBatch) => { loss: tf.Scalar; stats: Record<string, tf.Scalar> };

export function optimizeEpoch(opts: {
  exp: Experience;
  order: number[];            // shuffled row indices
  steps: number;              // minibatches = optimizer steps
  microBatchRows: number;     // 0 = whole minibatch at once
  padId: number;
  /** 0 = padded micro-batches; 'auto' or n > 0 = each micro-batch's rows packed into sequences (packing.ts). */
  packing?: PackingSetting;
  params: Map<string, tf.Variable>;
  optimizer: Adam;
  loss: BatchLoss;
}): Record<string, number> {
  const { exp, order, steps } = opts;
  const varList = [...opts.params.values()];
  const nameOf = new Map<tf.Variable, string>([...opts.params].map(([n, v]) => [v, n]));
  const totals: Record<string, number> = {}; // token-weighted sums of the loss stats
  let totalWeight = 0;
  let gradNormSum = 0;
  let stepsDone = 0;
  let skipped = 0; // minibatches whose loss or gradient was NaN/Inf: no optimizer step
  let lastLr = 0;
  const per = Math.ceil(order.length / steps);
  for (let s = 0; s < steps; s++) {
    const mb = order.slice(s * per, (s + 1) * per);
    if (mb.length === 0) continue;
    const mbTokens = mb.reduce((a, i) => a + exp.lengths[i]!, 0) || 1;
    const microRows = opts.microBatchRows > 0 ? opts.microBatchRows : mb.length;
    let acc: Record<string, tf.Tensor> | null = null;
    let nonFiniteLoss = false;
    for (let m = 0; m < mb.length; m += microRows) {
      const idx = mb.slice(m, m + microRows);
      const tokens = idx.reduce((a, i) => a + exp.lengths[i]!, 0);
      if (tokens === 0) continue;
      const weight = tokens / mbTokens; // the micro-batch's share of the minibatch's tokens
      const micro = new MiniBatch(exp, idx, opts.padId, opts.packing ?? 0);
      try {
        const kept: Record<string, tf.Scalar> = {};
        const { value, grads } = tf.variableGrads(() => {
          const { loss, stats } = opts.loss(micro);
          for (const [k, v] of Object.entries(stats)) kept[k] = tf.keep(v);
          return tf.mul(loss, weight) as tf.Scalar;
        }, varList);
        // A non-finite loss skips the minibatch's step even if its gradients happen to be finite.
        if (!Number.isFinite(value.dataSync()[0]!)) nonFiniteLoss = true;
        value.dispose();
        for (const [k, v] of Object.entries(kept)) {
          totals[k] = (totals[k] ?? 0) + v.dataSync()[0]! * tokens;
          v.dispose();
        }
        totalWeight += tokens;
        const named: Record<string, tf.Tensor> = {};
        for (const v of varList) {
          const g = grads[v.name];
          if (g) named[nameOf.get(v)!] = g;
        }
        if (acc === null) acc = named;
        else {
          for (const [k, g] of Object.entries(named)) {
            const prev = acc[k];
            acc[k] = prev ? tf.add(prev, g) : g;
            if (prev) { prev.dispose(); g.dispose(); }
          }
        }
      } finally {
        micro.dispose();
      }
    }
    if (acc) {
      if (nonFiniteLoss) skipped += 1;
      else {
        const { gradNorm, lr, skipped: nonFiniteGrad } = opts.optimizer.apply(acc, undefined, { releaseGrads: true }); // acc is disposed below either way
        if (nonFiniteGrad) skipped += 1;
        else {
          gradNormSum += gradNorm;
          stepsDone += 1;
          lastLr = lr;
        }
      }
      tf.dispose(Object.values(acc));
    }
  }
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(totals)) out[k] = totalWeight > 0 ? v / totalWeight : 0;
  out['grad_norm'] = stepsDone ? gradNormSum / stepsDone : 0; // mean pre-clip global norm
  out['lr'] = lastLr;
  out['steps'] = stepsDone;
  out['skipped_steps'] = skipped;
  return out;
}
