// Training checkpoints: everything needed to continue exactly where a run stopped.
//
//   iter-N/policy/       config.json, model.safetensors, tokenizer.json (a loadable HF-style model)
//   iter-N/critic/       the critic's backbone + value_head.safetensors
//   iter-N/optimizer.safetensors   Adam moments of both optimizers
//   iter-N/orz.json      iteration, data cursor, optimizer step counts, trainer config
//   iter-N/behaviour.safetensors   asyncRollouts (maxStaleness k >= 1) only: the weights of the k versions
//                        before N that iterations N+1..N+k sample from, as v<version>/<weight name>
//
// A batch prefetched for iteration N+1 is not in the checkpoint (its prompts were not consumed: dataCursor
// stops before them); a resume regenerates it from the same version and seed, with the same samples.
// The RNG needs no saved state: every random draw is seeded from (seed, purpose, iteration).
// A checkpoint directory is written under a temporary name and renamed into place, so a crash
// leaves either the old set of checkpoints or the new one, never half of one (plus, after a kill, an
// iter-N.tmp-<pid> directory that resume removes). Every file is fsync'd before the rename (atomic-write).

import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '../engine/tf.ts';
import { loadModel, readSafetensors, saveModel, writeSafetensors } from '../model/index.ts';
import { saveTokenizer } from '../tokenizer/index.ts';
import { Critic } from '../ppo/critic.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { failpoint } from '../util/failpoint.ts';
import { readJsonObject } from '../util/json-file.ts';
import { CHECKPOINT_META_FILE, CHECKPOINT_POLICY_DIR, resolveLatest } from '../hub/checkpoint-path.ts';
import type { AdamState } from '../ppo/optimizer.ts';
import { rowsThrough, type MetricsRow } from '../ppo/metrics-log.ts';
import type { Trainer } from '../ppo/trainer.ts';

export const CHECKPOINT_FORMAT = 'orz-checkpoint/1';

export interface CheckpointMeta {
  format: string;
  iteration: number;
  dataCursor: number;
  policyOptimizerStep: number;
  criticOptimizerStep: number | null;
  config: unknown;
  savedAt: string;
}

function momentsToTensors(prefix: string, st: AdamState, out: Map<string, { dtype: 'F32'; shape: number[]; data: Float32Array }>) {
  for (const [name, m] of Object.entries(st.m)) out.set(`${prefix}.m.${name}`, { dtype: 'F32', shape: [m.length], data: m });
  for (const [name, v] of Object.entries(st.v)) out.set(`${prefix}.v.${name}`, { dtype: 'F32', shape: [v.length], data: v });
}

function momentsFromTensors(prefix: string, step: number, tensors: Map<string, { data: ArrayLike<number> }>): AdamState {
  const st: AdamState = { step, m: {}, v: {} };
  for (const [key, t] of tensors) {
    if (key.startsWith(`${prefix}.m.`)) st.m[key.slice(prefix.length + 3)] = Float32Array.from(t.data);
    else if (key.startsWith(`${prefix}.v.`)) st.v[key.slice(prefix.length + 3)] = Float32Array.from(t.data);
  }
  return st;
}

/**
 * Writes the checkpoint into `<dir>.tmp-<pid>` and renames it to `dir`. If writing fails (a full disk, say),
 * the temporary directory is removed, so no half checkpoint takes the space, and the error names `dir`.
 */
export async function saveCheckpoint(trainer: Trainer, dir: string): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}`;
  try {
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    await saveModel(trainer.policy, join(tmp, CHECKPOINT_POLICY_DIR));
    await saveTokenizer(trainer.tokenizer, join(tmp, CHECKPOINT_POLICY_DIR, 'tokenizer.json'));
    failpoint('checkpoint-write', trainer.iteration);
    if (trainer.critic) await trainer.critic.save(join(tmp, 'critic'));
    const state = trainer.state(); // its metrics rows are the run directory's metrics files, not the checkpoint's
    const moments = new Map<string, { dtype: 'F32'; shape: number[]; data: Float32Array }>();
    momentsToTensors('policy', state.policyOptimizer, moments);
    if (state.criticOptimizer) momentsToTensors('critic', state.criticOptimizer, moments);
    await writeSafetensors(join(tmp, 'optimizer.safetensors'), moments);
    const behind = trainer.behaviourWeights();
    if (behind.size > 0) {
      const tensors = new Map<string, { dtype: 'F32'; shape: number[]; data: Float32Array }>();
      for (const [version, weights] of behind) {
        for (const [name, data] of weights) tensors.set(`v${version}/${name}`, { dtype: 'F32', shape: [...trainer.policy.weights.get(name)!.shape], data });
      }
      await writeSafetensors(join(tmp, BEHAVIOUR_FILE), tensors);
    }
    const meta: CheckpointMeta = {
      format: CHECKPOINT_FORMAT,
      iteration: state.iteration,
      dataCursor: state.dataCursor,
      policyOptimizerStep: state.policyOptimizer.step,
      criticOptimizerStep: state.criticOptimizer?.step ?? null,
      config: trainer.config,
      savedAt: new Date().toISOString(),
    };
    // orz.json last and atomically: a directory named iter-N with an orz.json is a complete checkpoint
    await writeFileAtomic(join(tmp, CHECKPOINT_META_FILE), JSON.stringify(meta, null, 2));
    if (existsSync(dir)) await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
    const err = e as NodeJS.ErrnoException;
    throw new Error(`cannot write checkpoint ${dir}${diskFault(err)} (removed the partial ${tmp}): ${err.message}`, { cause: e });
  }
}

/** ": <what ran out>" for the errors of a full disk, a quota or a file size limit (writeFileAtomic keeps only the message). */
function diskFault(err: NodeJS.ErrnoException): string {
  const says = (code: string, words: RegExp) => err.code === code || words.test(err.message ?? '');
  if (says('ENOSPC', /ENOSPC|no space left/i)) return ': no space left on device';
  if (says('EDQUOT', /EDQUOT|quota exceeded/i)) return ': disk quota exceeded';
  if (says('EFBIG', /EFBIG|file too large/i)) return ': a file is larger than the file size limit (ulimit -f)';
  return '';
}

/** Checkpoint directories that were renamed into place (iter-N holding an orz.json), oldest first. */
export async function completeCheckpoints(runDir: string): Promise<{ iteration: number; dir: string }[]> {
  const root = join(runDir, 'checkpoints');
  if (!existsSync(root)) return [];
  const out: { iteration: number; dir: string }[] = [];
  for (const name of await readdir(root)) {
    const m = /^iter-(\d+)$/.exec(name);
    if (m && existsSync(join(root, name, CHECKPOINT_META_FILE))) out.push({ iteration: Number(m[1]), dir: join(root, name) });
  }
  return out.sort((a, b) => a.iteration - b.iteration);
}

/** Removes `iter-N.tmp-*` directories a killed writer left behind; returns their paths. */
export async function removeStaleCheckpointTemporaries(runDir: string): Promise<string[]> {
  const root = join(runDir, 'checkpoints');
  if (!existsSync(root)) return [];
  const removed: string[] = [];
  for (const name of await readdir(root)) {
    if (!/^iter-\d+\.tmp-/.test(name)) continue;
    await rm(join(root, name), { recursive: true, force: true });
    removed.push(join(root, name));
  }
  return removed;
}

/** The metadata of checkpoint `dir` (or of the newest, for a `checkpoints/latest` path). */
export async function readCheckpointMeta(dir: string): Promise<CheckpointMeta> {
  const file = join(resolveLatest(dir), CHECKPOINT_META_FILE);
  const meta = await readJsonObject(file, 'checkpoint metadata') as unknown as CheckpointMeta;
  if (meta.format !== CHECKPOINT_FORMAT) throw new Error(`${file}: unknown checkpoint format ${JSON.stringify(meta.format)}`);
  return meta;
}

/**
 * Loads weights, optimizer state, iteration and data cursor into a trainer built from the same config. The
 * trainer's metrics become `metrics` (default: its own rows) up to the checkpoint's iteration. `dir` may be
 * a run's `checkpoints/latest` (the newest complete checkpoint).
 */
export async function loadCheckpoint(trainer: Trainer, checkpoint: string, metrics: readonly MetricsRow[] = trainer.metrics.rows): Promise<CheckpointMeta> {
  const dir = resolveLatest(checkpoint);
  const meta = await readCheckpointMeta(dir);
  const assignAll = (target: Map<string, tf.Variable>, source: Map<string, tf.Variable>, what: string) => {
    for (const [name, v] of target) {
      const src = source.get(name);
      if (!src) throw new Error(`${dir}: ${what} checkpoint lacks ${name}`);
      if (src.shape.join() !== v.shape.join()) throw new Error(`${dir}: ${what} ${name} has shape [${src.shape}], expected [${v.shape}]`);
      v.assign(src);
    }
  };
  const policy = await loadModel(join(dir, CHECKPOINT_POLICY_DIR));
  assignAll(trainer.policy.weights, policy.weights, 'policy');
  policy.dispose();
  if (trainer.critic) {
    const critic = await Critic.load(join(dir, 'critic'));
    assignAll(trainer.critic.weights(), critic.weights(), 'critic');
    critic.dispose();
  }
  const { tensors } = await readSafetensors(join(dir, 'optimizer.safetensors'));
  trainer.restore({
    iteration: meta.iteration,
    dataCursor: meta.dataCursor,
    metrics: rowsThrough(metrics, meta.iteration),
    policyOptimizer: momentsFromTensors('policy', meta.policyOptimizerStep, tensors),
    criticOptimizer: trainer.criticOptimizer ? momentsFromTensors('critic', meta.criticOptimizerStep ?? 0, tensors) : null,
  }, `${dir}/optimizer.safetensors`);
  await loadBehaviourWeights(trainer, dir, meta.iteration);
  return meta;
}

const BEHAVIOUR_FILE = 'behaviour.safetensors';

/** asyncRollouts: the older versions the next iterations sample from (none needed at iteration 0). */
async function loadBehaviourWeights(trainer: Trainer, dir: string, iteration: number): Promise<void> {
  if (!trainer.behaviour) return;
  const path = join(dir, BEHAVIOUR_FILE);
  const weights = new Map<number, Map<string, Float32Array>>();
  if (existsSync(path)) {
    for (const [key, t] of (await readSafetensors(path)).tensors) {
      const m = /^v(\d+)\/(.+)$/.exec(key);
      if (!m || !(t.data instanceof Float32Array)) throw new Error(`${path}: unexpected tensor ${key} (expected float32 v<version>/<weight>)`);
      const v = Number(m[1]);
      if (!weights.has(v)) weights.set(v, new Map());
      weights.get(v)!.set(m[2]!, t.data);
    }
  } else if (iteration > 0) {
    throw new Error(`${dir}: lacks ${BEHAVIOUR_FILE}, the older weights asyncRollouts (maxStaleness ${trainer.config.asyncRollouts.maxStaleness}) samples the next iterations from; ` +
      'it was saved without asyncRollouts: resume it with maxStaleness 0');
  }
  trainer.setBehaviourWeights(weights);
}
