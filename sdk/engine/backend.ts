// Choosing the tensor backend, in one place. Preference: tensorflow (libtensorflow through
// @tensorflow/tfjs-node[-gpu], if the user installed it) > onnxruntime (native CPU kernels; coming
// with the engine work) > cpu (pure JS, always there). wasm is available on request: it lacks
// kernels that training needs (e.g. the embedding gradient), so it is never chosen automatically.
// Override with ORZ_BACKEND=<name> or selectBackend('<name>').

import { createRequire } from 'node:module';
import { tf } from './tf.ts';

export const BACKEND_PREFERENCE = ['tensorflow', 'onnxruntime', 'cpu'] as const;
export const KNOWN_BACKENDS = ['tensorflow', 'onnxruntime', 'wasm', 'cpu'] as const;
export type BackendName = (typeof KNOWN_BACKENDS)[number];

const require = createRequire(import.meta.url);

/** Tries to register `name` with tfjs; returns why not if it cannot. */
async function tryRegister(name: BackendName): Promise<string | null> {
  try {
    switch (name) {
      case 'cpu':
        return null; // registered by ./tf.ts
      case 'tensorflow': {
        // The GPU build first; either registers a backend called "tensorflow".
        for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
          try {
            require.resolve(pkg);
          } catch {
            continue;
          }
          await import(pkg);
          return tf.findBackendFactory('tensorflow') ? null : `${pkg} loaded but registered no "tensorflow" backend`;
        }
        return 'neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed';
      }
      case 'wasm': {
        await import('@tensorflow/tfjs-backend-wasm');
        return null;
      }
      case 'onnxruntime': {
        const { registerOnnxBackend } = await import('./onnx/index.ts');
        registerOnnxBackend();
        return null;
      }
    }
  } catch (e) {
    return (e as Error).message;
  }
}

export interface BackendChoice { name: BackendName; tried: { name: BackendName; reason: string }[] }

let current: BackendChoice | null = null;

/**
 * Activates a backend. `requested` = a backend name, or "auto"/undefined for the first usable one
 * in BACKEND_PREFERENCE (ORZ_BACKEND, when set, replaces "auto"). An explicitly requested backend
 * that cannot load is an error, never a silent fallback.
 */
export async function selectBackend(requested?: string): Promise<BackendChoice> {
  const want = requested && requested !== 'auto' ? requested : (process.env['ORZ_BACKEND'] || 'auto');
  const tried: { name: BackendName; reason: string }[] = [];
  if (want !== 'auto') {
    if (!(KNOWN_BACKENDS as readonly string[]).includes(want)) {
      throw new Error(`unknown backend "${want}" (from ${requested ? 'the argument' : 'ORZ_BACKEND'}); known: ${KNOWN_BACKENDS.join(', ')}`);
    }
    const why = await tryRegister(want as BackendName);
    if (why) throw new Error(`backend "${want}" is not available: ${why}`);
    if (!(await tf.setBackend(want))) throw new Error(`backend "${want}" failed to initialise`);
    current = { name: want as BackendName, tried };
    return current;
  }
  for (const name of BACKEND_PREFERENCE) {
    const why = await tryRegister(name);
    if (why) { tried.push({ name, reason: why }); continue; }
    if (await tf.setBackend(name)) {
      current = { name, tried };
      return current;
    }
    tried.push({ name, reason: 'failed to initialise' });
  }
  throw new Error(`no tensor backend could be initialised: ${tried.map((t) => `${t.name}: ${t.reason}`).join('; ')}`);
}

/** The selected backend, or null before any selection. */
export function currentBackend(): BackendChoice | null {
  return current;
}

/** Records a backend activated elsewhere (default-backend.ts) as the selected one. */
export function adoptBackend(choice: BackendChoice): BackendChoice {
  current = choice;
  return choice;
}

/** The active backend's name (selecting the default one first if nothing was selected). */
export async function activeBackend(): Promise<BackendName> {
  return (current ?? (await selectBackend())).name;
}
