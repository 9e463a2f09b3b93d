// The ambient host: what the surrounding notebook kernel offers SDK code that runs inside a cell, without
// the SDK importing the kernel. The kernel sets it per execution; Trainer.run() reads it for its default
// abort signal (the cell's interrupt) and for live progress displays. Outside a kernel there is none.
//
// It lives on globalThis under a registered symbol, not in a module variable, so two instances of this
// module (the kernel's copy and a notebook project's own node_modules/orz) see the same host.
import type { MimeBundle } from '../viz/html.ts';

export interface AmbientHost {
  /** The current cell's interrupt signal. */
  signal?: AbortSignal;
  /** Show a bundle (display_data); with `update: true`, replace the output shown earlier under `id` (update_display_data). */
  display?(bundle: MimeBundle, opts?: { id?: string; update?: boolean }): void;
}

const AMBIENT_KEY = Symbol.for('orz.ambient');

type AmbientSlot = { [AMBIENT_KEY]?: AmbientHost | null };

export function setAmbientHost(host: AmbientHost | null): void {
  if (host !== null && (typeof host !== 'object' || Array.isArray(host))) {
    throw new Error(`setAmbientHost: host must be an object or null, got ${Array.isArray(host) ? 'an array' : typeof host}`);
  }
  if (host?.display !== undefined && typeof host.display !== 'function') {
    throw new Error(`setAmbientHost: host.display must be a function, got ${typeof host.display}`);
  }
  // Duck-typed: a signal from another realm (vm context, worker-made polyfill) works just as well.
  if (host?.signal !== undefined && (typeof host.signal?.aborted !== 'boolean' || typeof host.signal.addEventListener !== 'function')) {
    throw new Error('setAmbientHost: host.signal must be an AbortSignal');
  }
  (globalThis as AmbientSlot)[AMBIENT_KEY] = host;
}

export function ambientHost(): AmbientHost | null {
  return (globalThis as AmbientSlot)[AMBIENT_KEY] ?? null;
}
