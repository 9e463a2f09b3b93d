// Adam with decoupled weight decay, global gradient-norm clipping and a warmup-then-constant
// learning rate: the optimizer ORZ trains both policy and critic with (betas 0.9/0.95, wd 0, clip 1.0).
// Written out here rather than using tf.train.adam so its whole state can be checkpointed and
// restored exactly, and so clipping happens over all parameters together.

import { tf } from '../engine/tf.ts';

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
      this.m.set(name, tf.variable(tf.zerosLike(p), false));
      this.v.set(name, tf.variable(tf.zerosLike(p), false));
    }
  }

  /**
   * Applies one update from `grads` (name -> gradient). Returns the gradient norm before clipping and
   * the lr used. `lr` overrides the warmup-then-constant schedule (e.g. a pre-training cosine decay).
   */
  apply(grads: Record<string, tf.Tensor>, lrOverride?: number): { gradNorm: number; lr: number } {
    this.step += 1;
    const t = this.step;
    const lr = lrOverride ?? learningRate(this.cfg, t);
    const [b1, b2] = this.cfg.betas;
    const gradNorm = tf.tidy(() => {
      const sq = Object.values(grads).map((g) => tf.sum(tf.square(g)));
      return Math.sqrt(sq.length ? (tf.addN(sq).dataSync()[0] ?? 0) : 0);
    });
    const scale = this.cfg.gradClip > 0 && gradNorm > this.cfg.gradClip ? this.cfg.gradClip / (gradNorm + 1e-6) : 1;
    const bc1 = 1 - b1 ** t;
    const bc2 = 1 - b2 ** t;
    tf.tidy(() => {
      for (const [name, p] of this.params) {
        const raw = grads[name];
        if (!raw) continue; // parameter not in this loss's graph
        const g = scale === 1 ? raw : tf.mul(raw, scale);
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        m.assign(tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1)));              // m_t = b1 m + (1-b1) g
        v.assign(tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2)));   // v_t = b2 v + (1-b2) g^2
        const mHat = tf.div(m, bc1);
        const vHat = tf.div(v, bc2);
        let update = tf.div(mHat, tf.add(tf.sqrt(vHat), this.cfg.eps));
        if (this.cfg.weightDecay > 0) update = tf.add(update, tf.mul(p, this.cfg.weightDecay)); // AdamW
        p.assign(tf.sub(p, tf.mul(update, lr)));
      }
    });
    return { gradNorm, lr };
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
      t.assign(tf.tensor(mv, t.shape));
      this.v.get(name)!.assign(tf.tensor(vv, t.shape));
    }
    this.step = state.step;
  }

  dispose(): void {
    for (const t of this.m.values()) t.dispose();
    for (const t of this.v.values()) t.dispose();
  }
}
