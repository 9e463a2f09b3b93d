// Test models whose weights are large enough that attention is sharp and biases matter
// (TransformerLM.init's 0.02-scale weights give near-uniform attention, which hides layout bugs).

import { tf } from '../../sdk/engine/tf.ts';
import { Rng } from '../../sdk/engine/rng.ts';
import { TransformerLM, type ModelConfig } from '../../sdk/model/index.ts';

/** Norm weights in [0.5, 1.5), every other weight uniform in [-0.3, 0.3), from `seed`. */
export function sharpModel(config: ModelConfig, seed: number): TransformerLM {
  const init = TransformerLM.init(config, seed);
  const rng = new Rng(seed + 1);
  const weights = new Map<string, tf.Tensor>();
  for (const [name, v] of init.weights) {
    const data = name.endsWith('norm.weight')
      ? Float32Array.from({ length: v.size }, () => 0.5 + rng.next())
      : Float32Array.from({ length: v.size }, () => (rng.next() * 2 - 1) * 0.3);
    weights.set(name, tf.tensor(data, v.shape));
  }
  const model = TransformerLM.fromWeights(config, weights);
  init.dispose();
  tf.dispose([...weights.values()]);
  return model;
}
