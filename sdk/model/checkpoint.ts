// Hugging Face checkpoint directories: config.json + model.safetensors, or shards listed in
// model.safetensors.index.json ({"weight_map": {name: file}}). Weights are loaded as float32.

import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { tf } from '../engine/tf.ts';
import { resolveModelPath } from '../hub/resolve.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { readSafetensors, writeSafetensors, type SafeTensor, type TensorToWrite } from './safetensors.ts';
import { parseModelConfig } from './config.ts';
import { TransformerLM } from './transformer.ts';
import { isIgnorableWeight } from './weights.ts';

const CONFIG = 'config.json';
const WEIGHTS = 'model.safetensors';
const INDEX = 'model.safetensors.index.json';

/** Writes config.json and model.safetensors (float32) into `dir`, each file atomically. */
export async function saveModel(model: TransformerLM, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tensors = new Map<string, TensorToWrite>();
  for (const [name, v] of model.weights) tensors.set(name, { dtype: 'F32', shape: v.shape, data: v.dataSync() as Float32Array });
  await writeSafetensors(join(dir, WEIGHTS), tensors, { format: 'pt' }); // transformers requires format=pt
  const config = { ...model.config, torch_dtype: 'float32' };
  await writeFileAtomic(join(dir, CONFIG), `${JSON.stringify(config, null, 2)}\n`);
}

/**
 * Loads a model saved by saveModel or a Hugging Face checkpoint (single file or sharded), from a
 * directory or a hub id ("owner/name[@revision]", downloaded into the HF cache; an existing directory wins).
 */
export async function loadModel(dirOrId: string): Promise<TransformerLM> {
  const dir = await resolveModelPath(dirOrId, 'model');
  const configPath = join(dir, CONFIG);
  let config: unknown;
  try {
    config = JSON.parse(await readFile(configPath, 'utf8'));
  } catch (e) {
    throw new Error(`${configPath}: cannot read config: ${(e as Error).message}`);
  }
  const raw = existsSync(join(dir, INDEX)) ? await readSharded(dir) : (await readSafetensors(join(dir, WEIGHTS))).tensors;
  const weights = new Map<string, tf.Tensor>();
  // buffers the model recomputes (e.g. GPT-NeoX's BOOL causal mask) are dropped before the float check
  let resolved: ReturnType<typeof parseModelConfig> | null = null;
  try {
    resolved = parseModelConfig(config, configPath);
  } catch {
    // fromWeights reports the bad config below
  }
  try {
    for (const [name, t] of raw) {
      if (resolved && isIgnorableWeight(name, resolved)) continue;
      weights.set(name, toFloatTensor(t, `${dir}: ${name}`));
    }
    return TransformerLM.fromWeights(config as Parameters<typeof TransformerLM.fromWeights>[0], weights, dir);
  } finally {
    tf.dispose([...weights.values()]);
  }
}

async function readSharded(dir: string): Promise<Map<string, SafeTensor>> {
  const indexPath = join(dir, INDEX);
  let weightMap: Record<string, unknown>;
  try {
    const index = JSON.parse(await readFile(indexPath, 'utf8')) as { weight_map?: unknown };
    if (typeof index.weight_map !== 'object' || index.weight_map === null) throw new Error('no weight_map object');
    weightMap = index.weight_map as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${indexPath}: cannot read shard index: ${(e as Error).message}`);
  }
  const files = new Set<string>();
  for (const [name, file] of Object.entries(weightMap)) {
    // shard names are plain file names inside dir
    if (typeof file !== 'string' || basename(file) !== file || file === '..' || file === '.') throw new Error(`${indexPath}: weight_map.${name} is not a file in ${dir}`);
    files.add(file);
  }
  const all = new Map<string, SafeTensor>();
  for (const file of files) {
    const { tensors } = await readSafetensors(join(dir, file));
    for (const [name, t] of tensors) {
      if (weightMap[name] !== file) throw new Error(`${join(dir, file)}: tensor ${name} is not listed for this shard in ${INDEX}`);
      all.set(name, t);
    }
  }
  for (const [name, file] of Object.entries(weightMap)) {
    if (!all.has(name)) throw new Error(`${indexPath}: ${name} is listed in ${file as string} but that file does not contain it`);
  }
  return all;
}

function toFloatTensor(t: SafeTensor, where: string): tf.Tensor {
  if (!['F32', 'F16', 'BF16', 'F64'].includes(t.dtype)) throw new Error(`${where}: dtype ${t.dtype} is not a floating-point weight`);
  const data = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);
  return tf.tensor(data, t.shape, 'float32');
}
