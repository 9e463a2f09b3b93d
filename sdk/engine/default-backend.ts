// The backend an `import ... from 'orz'` gets without asking: the best one that can start synchronously,
// chosen while the SDK module loads, and said once on stderr. Without this the first tensor op would
// start tfjs's pure-JS cpu backend (about 100x slower here) and print tfjs's "install our node backend"
// banner. The CLI, sessions and benchmarks still call selectBackend() with their own --backend flags.

import { currentBackend, KNOWN_BACKENDS, selectBackend, selectNamedNow, selectPreferredNow, type BackendChoice, type BackendName } from './backend.ts';

const DESCRIPTION: Record<BackendName, string> = {
  tensorflow: 'libtensorflow through @tensorflow/tfjs-node',
  onnxruntime: 'native CPU kernels through onnxruntime-node',
  wasm: 'WebAssembly',
  cpu: 'pure JavaScript, slow',
};

let announced = false;

function announce(choice: BackendChoice, write: (line: string) => void): void {
  if (announced) return;
  announced = true;
  // An optional package that is simply not installed is the normal case, not news.
  const notable = choice.tried.filter((t) => !t.reason.startsWith('not installed'));
  const skipped = notable.length ? `; not used: ${notable.map((t) => `${t.name} (${t.reason})`).join(', ')}` : '';
  write(`orz: tensor backend ${choice.name} (${DESCRIPTION[choice.name]})${skipped}; ORZ_BACKEND or selectBackend() to change\n`);
}

/**
 * Chooses and activates the default backend now (ORZ_BACKEND if set, else tensorflow > onnxruntime > cpu)
 * unless one was already selected; says which once per process. An ORZ_BACKEND that cannot load is an error.
 */
export function ensureDefaultBackend(write: (line: string) => void = (l) => void process.stderr.write(l)): BackendChoice {
  const existing = currentBackend();
  if (existing) return existing;
  const want = process.env['ORZ_BACKEND'] || 'auto';
  let choice: BackendChoice;
  if (want === 'auto') {
    choice = selectPreferredNow();
  } else if (!(KNOWN_BACKENDS as readonly string[]).includes(want)) {
    throw new Error(`ORZ_BACKEND=${want}: unknown backend; known: auto, ${KNOWN_BACKENDS.join(', ')}`);
  } else if (want === 'wasm') {
    // Asynchronous start: the first tensor op must wait for tf.ready(); selectBackend() does that.
    void selectBackend('wasm');
    choice = { name: 'wasm', tried: [] };
  } else {
    const why = selectNamedNow(want as Exclude<BackendName, 'wasm'>);
    if (why) throw new Error(`ORZ_BACKEND=${want}: backend is not available: ${why}`);
    choice = currentBackend()!;
  }
  announce(choice, write);
  return choice;
}
