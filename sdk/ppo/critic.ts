// The critic: a copy of the base model with its LM head replaced by a bias-free linear value
// head (ORZ initialises the critic from the base model too). V_t is read at the position that
// predicts response token t, i.e. the state before action t.

import { tf } from '../engine/tf.ts';
import { Rng } from '../engine/rng.ts';
import { TransformerLM, loadModel, readSafetensors, saveModel, writeSafetensors } from '../model/index.ts';
import type { TokenBatch } from './token-batch.ts';
import { responseHidden } from './forward.ts';
import { join } from 'node:path';

export const VALUE_HEAD = 'value_head.weight';

export class Critic {
  constructor(readonly backbone: TransformerLM, readonly valueHead: tf.Variable) {}

  /** Critic from a policy: deep copy of its weights plus a fresh value head ~ N(0, 1/(H+1)). */
  static fromPolicy(policy: TransformerLM, seed: number): Critic {
    const H = policy.config.hidden_size;
    const init = tf.randomNormal([1, H], 0, 1 / (H + 1), 'float32', new Rng(seed).nextU32());
    return new Critic(policy.clone(), tf.variable(init, true));
  }

  /** Trainable weights, by name (the value head included). */
  weights(): Map<string, tf.Variable> {
    const m = new Map(this.backbone.weights);
    m.set(VALUE_HEAD, this.valueHead);
    return m;
  }

  /** V_t for every response token: [B, R]. */
  values(tb: TokenBatch): tf.Tensor2D {
    return tf.tidy(() => {
      const h = responseHidden(this.backbone, tb); // [B, R, H]
      const [B, R, H] = h.shape;
      return tf.matMul(h.reshape([B * R, H]), this.valueHead, false, true).reshape([B, R]) as tf.Tensor2D;
    });
  }

  async save(dir: string): Promise<void> {
    await saveModel(this.backbone, dir);
    const w = this.valueHead;
    await writeSafetensors(join(dir, 'value_head.safetensors'), new Map([[VALUE_HEAD, { dtype: 'F32', shape: w.shape, data: w.dataSync() as Float32Array }]]));
  }

  static async load(dir: string): Promise<Critic> {
    const backbone = await loadModel(dir);
    const file = join(dir, 'value_head.safetensors');
    const { tensors } = await readSafetensors(file);
    const t = tensors.get(VALUE_HEAD);
    if (!t) throw new Error(`${file}: no tensor ${VALUE_HEAD}`);
    if (t.shape.length !== 2 || t.shape[0] !== 1 || t.shape[1] !== backbone.config.hidden_size) {
      throw new Error(`${file}: ${VALUE_HEAD} has shape [${t.shape}], expected [1, ${backbone.config.hidden_size}]`);
    }
    return new Critic(backbone, tf.variable(tf.tensor2d(Float32Array.from(t.data as ArrayLike<number>), [1, t.shape[1]!]), true));
  }

  dispose(): void {
    this.backbone.dispose();
    this.valueHead.dispose();
  }
}
