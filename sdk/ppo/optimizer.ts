// Adam with decoupled weight decay, global gradient-norm clipping and a warmup-then-constant
// learning rate: the optimizer ORZ trains both policy and critic with (betas 0.9/0.95, wd 0, clip 1.0).
// Written out here rather than using tf.train.adam so its whole state can be checkpointed and
// restored exactly, and so clipping happens over all parameters together.
//
// The norm and the update are ops (adam-op.ts): fused kernels where the backend has them.

import { tf } from '../engine/tf.ts';
import { adamStep, sumOfSquares, type AdamScalars, type AdamSlot } from './adam-op.ts';

export interface AdamConfig {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  gradClip: number;     // max global L2 norm; 0 or Infinity disables
  warmupSteps: number;  // linear warmup from 0 to lr, then constant
}

export const ORZ_ADAM: Omit<AdamConfig, 'lr'> = { betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0, gradClip: 1.0, warmupSteps: 0 };

/** Learning rate at optimizer step `step` (1-based): linear warmup, then constant. */
export function learningRate(cfg: Pick<AdamConfig, 'lr' | 'warmupSteps'>, step: number): number {
  if (cfg.warmupSteps > 0 && step <= cfg.warmupSteps) return (cfg.lr * step) / cfg.warmupSteps;
  return cfg.lr;
}

export interface AdamState { step: number; m: Record<string, Float32Array>; v: Record<string, Float32Array> }

export class Adam {
  step = 0;
  private m = new Map<string, tf.Variable>();
  private v = new Map<string, tf.Variable>();

  constructor(readonly cfg: AdamConfig, private readonly params: Map<string, tf.Variable>) {
    for (const [name, p] of params) {
      // in a tidy: the zeros tensors go, the variables keep their data (a leftover reference
      // would also keep the first replaced moments from being freed)
      tf.tidy(() => {
        this.m.set(name, tf.variable(tf.zerosLike(p), false));
        this.v.set(name, tf.variable(tf.zerosLike(p), false));
      });
    }
  }

  /**
   * Applies one update from `grads` (name -> gradient). Returns the gradient norm before clipping and
   * the lr used; `skipped` when the norm is not finite and nothing was changed (then no gradient is released).
   * `releaseGrads`: dispose each gradient right after its parameter's update (the update's peak is then the
   * weights, the moments, the largest gradient and that parameter's three new buffers). `lr` overrides the warmup-then-constant schedule (e.g. a pre-training cosine decay).
   */
  apply(grads: Record<string, tf.Tensor>, lrOverride?: number, opts: { releaseGrads?: boolean } = {}): { gradNorm: number; lr: number; skipped: boolean } {
    // The global norm is computed before anything changes, and a NaN or Inf anywhere in any gradient makes it
    // non-finite (NaN propagates through the sums; Inf squares to Inf): then the step is skipped whole, the
    // weights, both moments and the step count stay as they were, and the caller reports it.
    const gradNorm = Math.sqrt(sumOfSquares(Object.values(grads)));
    if (!Number.isFinite(gradNorm)) return { gradNorm, lr: lrOverride ?? learningRate(this.cfg, this.step + 1), skipped: true };
    this.step += 1;
    const t = this.step;
    const lr = lrOverride ?? learningRate(this.cfg, t);
    const [b1, b2] = this.cfg.betas;
    const scale = this.cfg.gradClip > 0 && gradNorm > this.cfg.gradClip ? this.cfg.gradClip / (gradNorm + 1e-6) : 1;
    const scalars: AdamScalars = {
      lr, beta1: b1, oneMinusBeta1: 1 - b1, beta2: b2, oneMinusBeta2: 1 - b2,
      biasCorrection1: 1 - b1 ** t, biasCorrection2: 1 - b2 ** t,
      eps: this.cfg.eps, weightDecay: this.cfg.weightDecay, gradScale: scale,
    };
    // parameters not in this loss's graph have no gradient and keep their moments
    const slots: AdamSlot[] = [];
    for (const [name, param] of this.params) {
      const grad = grads[name];
      if (grad) slots.push({ param, grad, m: this.m.get(name)!, v: this.v.get(name)! });
    }
    if (opts.releaseGrads) {
      // the caller is done with the gradients: each is freed as soon as its parameter has its update, and
      // the largest parameter goes last, so its three new buffers (param, m, v) are allocated when every
      // other gradient is already gone (at Qwen2.5-0.5B's shape the tied embedding is 28% of the weights)
      slots.sort((a, b) => a.param.size - b.param.size);
      for (const slot of slots) {
        tf.tidy(() => adamStep([slot], scalars));
        slot.grad.dispose();
      }
    } else tf.tidy(() => adamStep(slots, scalars));
    return { gradNorm, lr, skipped: false };
  }

  state(): AdamState {
    const m: Record<string, Float32Array> = {};
    const v: Record<string, Float32Array> = {};
    for (const [name, t] of this.m) m[name] = t.dataSync() as Float32Array;
    for (const [name, t] of this.v) v[name] = t.dataSync() as Float32Array;
    return { step: this.step, m, v };
  }

  load(state: AdamState, source = 'optimizer state'): void {
    for (const [name, t] of this.m) {
      const mv = state.m[name];
      const vv = state.v[name];
      if (!mv || !vv) throw new Error(`${source}: no moments for parameter ${name}`);
      if (mv.length !== t.size || vv.length !== t.size) throw new Error(`${source}: moment size mismatch for ${name}`);
      tf.tidy(() => {
        t.assign(tf.tensor(mv, t.shape));
        this.v.get(name)!.assign(tf.tensor(vv, t.shape));
      });
    }
    this.step = state.step;
  }

  dispose(): void {
    for (const t of this.m.values()) t.dispose();
    for (const t of this.v.values()) t.dispose();
  }
}
