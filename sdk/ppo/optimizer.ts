// Adam with decoupled weight decay, global gradient-norm clipping and a warmup-then-constant
// learning rate: the optimizer ORZ trains both policy and critic with (betas 0.9/0.95, wd 0, clip 1.0).
// Written out here rather than using tf.train.adam so its whole state can be checkpointed and
// restored exactly, and so clipping happens over all parameters together.
//
// Where the backend registers the fused kernels (sdk/engine/fused.ts), each parameter's update is
// one OrzAdam kernel and the global gradient norm one OrzSumSquares kernel; the composite below is
// the same function in standard tfjs ops, for every other backend.

import { tf } from '../engine/tf.ts';
import { FUSED, fusedKernel, runFused } from '../engine/fused.ts';

/** The fused kernels' scalar inputs for one step, as the composite rounds them (float32 scalars). */
interface StepScalars {
  lr: number; beta1: number; oneMinusBeta1: number; beta2: number; oneMinusBeta2: number;
  biasCorrection1: number; biasCorrection2: number; eps: number; weightDecay: number; gradScale: number;
}

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
   * the lr used; `skipped` when the norm is not finite and nothing was changed. `lr` overrides the warmup-then-constant schedule (e.g. a pre-training cosine decay).
   */
  apply(grads: Record<string, tf.Tensor>, lrOverride?: number): { gradNorm: number; lr: number; skipped: boolean } {
    // The global norm is computed before anything changes, and a NaN or Inf anywhere in any gradient makes it
    // non-finite (NaN propagates through the sums; Inf squares to Inf): then the step is skipped whole, the
    // weights, both moments and the step count stay as they were, and the caller reports it.
    const gradNorm = Math.sqrt(fusedKernel(FUSED.sumSquares) ? fusedSumSquares(grads) : sumSquares(grads));
    if (!Number.isFinite(gradNorm)) return { gradNorm, lr: lrOverride ?? learningRate(this.cfg, this.step + 1), skipped: true };
    this.step += 1;
    const t = this.step;
    const lr = lrOverride ?? learningRate(this.cfg, t);
    const [b1, b2] = this.cfg.betas;
    const fused = fusedKernel(FUSED.adam);
    const scale = this.cfg.gradClip > 0 && gradNorm > this.cfg.gradClip ? this.cfg.gradClip / (gradNorm + 1e-6) : 1;
    const scalars: StepScalars = {
      lr, beta1: b1, oneMinusBeta1: 1 - b1, beta2: b2, oneMinusBeta2: 1 - b2,
      biasCorrection1: 1 - b1 ** t, biasCorrection2: 1 - b2 ** t,
      eps: this.cfg.eps, weightDecay: this.cfg.weightDecay, gradScale: scale,
    };
    tf.tidy(() => {
      // fused: the step's scalars as tensors once, shared by every parameter's kernel call
      const scalarInputs = fused ? Object.fromEntries(Object.entries(scalars).map(([k, x]) => [k, tf.scalar(x, 'float32')])) : null;
      for (const [name, p] of this.params) {
        const g = grads[name];
        if (!g) continue; // parameter not in this loss's graph
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        // assign() drops the old values: on the onnxruntime backend their buffers go back to its pool
        const [pNext, mNext, vNext] = scalarInputs
          ? runFused(FUSED.adam, { param: p, grad: g, m, v, ...scalarInputs })
          : compositeAdam(p, g, m, v, scalars);
        m.assign(mNext!);
        v.assign(vNext!);
        p.assign(pNext!);
      }
    });
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

/** sum_i ||g_i||^2 over the gradients, in standard ops (a Square and a Sum per tensor). */
function sumSquares(grads: Record<string, tf.Tensor>): number {
  return tf.tidy(() => {
    const sq = Object.values(grads).map((g) => tf.sum(tf.square(g)));
    return sq.length ? (tf.addN(sq).dataSync()[0] ?? 0) : 0;
  });
}

/** sum_i ||g_i||^2 as one fused kernel call. */
function fusedSumSquares(grads: Record<string, tf.Tensor>): number {
  const gs = Object.values(grads);
  if (gs.length === 0) return 0;
  const inputs: tf.NamedTensorMap = Object.fromEntries(gs.map((g, i) => [String(i), g]));
  return tf.tidy(() => runFused(FUSED.sumSquares, inputs)[0]!.dataSync()[0] ?? 0);
}

/** One AdamW update in standard tfjs ops: the function OrzAdam computes, op for op. */
function compositeAdam(p: tf.Tensor, raw: tf.Tensor, m: tf.Tensor, v: tf.Tensor, s: StepScalars): [tf.Tensor, tf.Tensor, tf.Tensor] {
  const g = s.gradScale === 1 ? raw : tf.mul(raw, s.gradScale);
  const mNext = tf.add(tf.mul(m, s.beta1), tf.mul(g, s.oneMinusBeta1));             // m_t = b1 m + (1-b1) g
  const vNext = tf.add(tf.mul(v, s.beta2), tf.mul(tf.square(g), s.oneMinusBeta2));  // v_t = b2 v + (1-b2) g^2
  const mHat = tf.div(mNext, s.biasCorrection1);
  const vHat = tf.div(vNext, s.biasCorrection2);
  let update = tf.div(mHat, tf.add(tf.sqrt(vHat), s.eps));
  if (s.weightDecay > 0) update = tf.add(update, tf.mul(p, s.weightDecay)); // AdamW
  return [tf.sub(p, tf.mul(update, s.lr)), mNext, vNext];
}
