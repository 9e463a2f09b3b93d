// Choosing the tensor backend, in one place. Preference: tensorflow (libtensorflow through
// @tensorflow/tfjs-node[-gpu], if the user installed it) > onnxruntime (native CPU kernels; coming
// with the engine work) > cpu (pure JS, always there). wasm is available on request: it lacks
// kernels that training needs (e.g. the embedding gradient), so it is never chosen automatically.
// Override with ORZ_BACKEND=<name> or selectBackend('<name>').

import { createRequire } from 'node:module';
import { tf } from './tf.ts';
import { registerOnnxBackend } from './onnx/index.ts';

export const BACKEND_PREFERENCE = ['tensorflow', 'onnxruntime', 'cpu'] as const;
export const KNOWN_BACKENDS = ['tensorflow', 'onnxruntime', 'wasm', 'cpu'] as const;
export type BackendName = (typeof KNOWN_BACKENDS)[number];

const require = createRequire(import.meta.url);

/** Registers `name` with tfjs without awaiting anything (all but wasm can); returns why not if it cannot. */
export function registerNow(name: Exclude<BackendName, 'wasm'>): string | null {
  try {
    switch (name) {
      case 'cpu':
        return null; // registered by ./tf.ts
      case 'tensorflow': {
        // The GPU build first; either registers a backend called "tensorflow" (CommonJS, with tfjs's global engine).
        for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
          try {
            require.resolve(pkg);
          } catch {
            continue;
          }
          require(pkg);
          return tf.findBackendFactory('tensorflow') ? null : `${pkg} loaded but registered no "tensorflow" backend`;
        }
        return 'not installed (@tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node)';
      }
      case 'onnxruntime':
        registerOnnxBackend();
        return null;
    }
  } catch (e) {
    return (e as Error).message;
  }
}

/** Registers and activates `name` at once (tf.setBackend finishes before its promise for a synchronous factory). */
function activateNow(name: Exclude<BackendName, 'wasm'>): string | null {
  const why = registerNow(name);
  if (why) return why;
  void tf.setBackend(name);
  return tf.getBackend() === name ? null : 'failed to initialise';
}

export interface BackendChoice { name: BackendName; tried: { name: BackendName; reason: string }[] }

let current: BackendChoice | null = null;

/** The first backend of BACKEND_PREFERENCE that starts, activated and recorded as the selected one. */
export function selectPreferredNow(): BackendChoice {
  const tried: { name: BackendName; reason: string }[] = [];
  for (const name of BACKEND_PREFERENCE) {
    const why = activateNow(name);
    if (!why) return (current = { name, tried });
    tried.push({ name, reason: why });
  }
  throw new Error(`no tensor backend could be initialised: ${tried.map((t) => `${t.name}: ${t.reason}`).join('; ')}`);
}

/** Activates the named backend (wasm excluded: it starts asynchronously) and records it; why not if it cannot. */
export function selectNamedNow(name: Exclude<BackendName, 'wasm'>): string | null {
  const why = activateNow(name);
  if (!why) current = { name, tried: [] };
  return why;
}

/**
 * Activates a backend. `requested` = a backend name, or "auto"/undefined for the first usable one
 * in BACKEND_PREFERENCE (ORZ_BACKEND, when set, replaces "auto"). An explicitly requested backend
 * that cannot load is an error, never a silent fallback.
 */
export async function selectBackend(requested?: string): Promise<BackendChoice> {
  const want = requested && requested !== 'auto' ? requested : (process.env['ORZ_BACKEND'] || 'auto');
  if (want === 'auto') return selectPreferredNow();
  if (!(KNOWN_BACKENDS as readonly string[]).includes(want)) {
    throw new Error(`unknown backend "${want}" (from ${requested ? 'the argument' : 'ORZ_BACKEND'}); known: ${KNOWN_BACKENDS.join(', ')}`);
  }
  if (want === 'wasm') {
    try {
      await import('@tensorflow/tfjs-backend-wasm');
    } catch (e) {
      throw new Error(`backend "wasm" is not available: ${(e as Error).message}`);
    }
    if (!(await tf.setBackend('wasm'))) throw new Error('backend "wasm" failed to initialise');
    return (current = { name: 'wasm', tried: [] });
  }
  const why = selectNamedNow(want as Exclude<BackendName, 'wasm'>);
  if (why === 'failed to initialise') throw new Error(`backend "${want}" failed to initialise`);
  if (why) throw new Error(`backend "${want}" is not available: ${why}`);
  return current!;
}

/** The selected backend, or null before any selection. */
export function currentBackend(): BackendChoice | null {
  return current;
}

/** The active backend's name (selecting the default one first if nothing was selected). */
export async function activeBackend(): Promise<BackendName> {
  return (current ?? (await selectBackend())).name;
}
