// The paths a user sees in a run directory, made loadable wherever a model directory is accepted (loadModel,
// loadTokenizer, `orz eval --model`, a run config's "model"). A training checkpoint (sdk/run/checkpoint.ts) is
// `checkpoints/iter-N/` holding `orz.json` and the policy model in `policy/`; `checkpoints/latest` is a file
// naming the newest. So
//
//   runs/x/checkpoints/latest          -> runs/x/checkpoints/iter-N/policy   (N: the newest complete checkpoint)
//   runs/x/checkpoints/latest/policy   -> runs/x/checkpoints/iter-N/policy
//   runs/x/checkpoints/iter-4          -> runs/x/checkpoints/iter-4/policy
//
// `latest` resolves to the newest complete checkpoint (an iter-N with orz.json) rather than to the name the file
// holds, as resume does: a crash between a checkpoint's rename and the pointer's update leaves the file one
// behind. This module sits below the run layer (the model loaders use it), so it names the layout itself.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, sep } from 'node:path';

export const CHECKPOINT_META_FILE = 'orz.json';
export const CHECKPOINT_POLICY_DIR = 'policy';
export const LATEST_FILE = 'latest';
const CHECKPOINT_NAME = /^iter-(\d+)$/;

// throwIfNoEntry covers ENOENT only: `tokenizer.json/orz.json` fails with ENOTDIR, which also means "not there".
function statOrNull(p: string) {
  try {
    return statSync(p, { throwIfNoEntry: false }) ?? null;
  } catch {
    return null;
  }
}
const isDir = (p: string) => statOrNull(p)?.isDirectory() ?? false;
const isFile = (p: string) => statOrNull(p)?.isFile() ?? false;

/** True for a `latest` file as run() writes it: one line naming a checkpoint directory beside it. */
function isLatestPointer(path: string): boolean {
  if (basename(path) !== LATEST_FILE || !isFile(path)) return false;
  return CHECKPOINT_NAME.test(readFileSync(path, 'utf8').trim());
}

/** The newest `iter-N` directory of `checkpointsDir` that holds orz.json; null without any. */
export function newestCompleteCheckpoint(checkpointsDir: string): string | null {
  let best: { n: number; dir: string } | null = null;
  for (const name of readdirSync(checkpointsDir)) {
    const m = CHECKPOINT_NAME.exec(name);
    const dir = join(checkpointsDir, name);
    if (m && existsSync(join(dir, CHECKPOINT_META_FILE)) && (!best || Number(m[1]) > best.n)) best = { n: Number(m[1]), dir };
  }
  return best?.dir ?? null;
}

/** True for a training checkpoint directory (orz.json and a policy model inside). */
export function isTrainingCheckpoint(dir: string): boolean {
  return isFile(join(dir, CHECKPOINT_META_FILE)) && isDir(join(dir, CHECKPOINT_POLICY_DIR));
}

/**
 * `path` with a `checkpoints/latest` component replaced by the newest complete checkpoint directory; unchanged
 * without one. Throws, naming the file, when `latest` is there but no complete checkpoint is.
 */
export function resolveLatest(path: string): string {
  let out = '';
  for (const [i, part] of path.split(sep).entries()) {
    out = i === 0 ? (part === '' ? sep : part) : join(out, part);
    if (!isLatestPointer(out)) continue;
    const newest = newestCompleteCheckpoint(dirname(out));
    if (!newest) throw new Error(`${out}: no complete checkpoint (iter-N with ${CHECKPOINT_META_FILE}) in ${dirname(out)}`);
    out = newest;
  }
  return out;
}

/** A model path as a user may give it (see the top of this file) to the model directory it names. */
export function resolveCheckpointPath(path: string): string {
  const out = resolveLatest(path);
  return isTrainingCheckpoint(out) ? join(out, CHECKPOINT_POLICY_DIR) : out;
}
