// The backend an `import ... from 'orz'` gets without asking: the best one that can start synchronously,
// chosen while the SDK module loads, and said once on stderr. Without this the first tensor op would
// start tfjs's pure-JS cpu backend (about 100x slower here) and print tfjs's "install our node backend"
// banner. The CLI, sessions and benchmarks still call selectBackend() with their own --backend flags.

import { createRequire } from 'node:module';
import { tf } from './tf.ts';
import { adoptBackend, BACKEND_PREFERENCE, currentBackend, KNOWN_BACKENDS, selectBackend, type BackendChoice, type BackendName } from './backend.ts';
import { registerOnnxBackend } from './onnx/index.ts';

const require = createRequire(import.meta.url);

const DESCRIPTION: Record<BackendName, string> = {
  tensorflow: 'libtensorflow through @tensorflow/tfjs-node',
  onnxruntime: 'native CPU kernels through onnxruntime-node',
  wasm: 'WebAssembly',
  cpu: 'pure JavaScript, slow',
};

/** Registers `name` without awaiting anything; the reason when it cannot. */
function registerNow(name: BackendName): string | null {
  try {
    switch (name) {
      case 'cpu':
        return null;
      case 'onnxruntime':
        registerOnnxBackend();
        return null;
      case 'tensorflow':
        for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
          try { require.resolve(pkg); } catch { continue; }
          require(pkg); // CommonJS; registers "tensorflow" with tfjs's global engine
          return tf.findBackendFactory('tensorflow') ? null : `${pkg} registered no "tensorflow" backend`;
        }
        return 'not installed (@tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node)';
      case 'wasm':
        return 'wasm starts asynchronously';
    }
  } catch (e) {
    return (e as Error).message;
  }
}

/** tf.setBackend finishes before its promise when the factory is synchronous (all of ours but wasm). */
function activateNow(name: BackendName): boolean {
  void tf.setBackend(name);
  return tf.getBackend() === name;
}

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
  const tried: { name: BackendName; reason: string }[] = [];
  if (want !== 'auto') {
    if (!(KNOWN_BACKENDS as readonly string[]).includes(want)) {
      throw new Error(`ORZ_BACKEND=${want}: unknown backend; known: auto, ${KNOWN_BACKENDS.join(', ')}`);
    }
    if (want === 'wasm') {
      // Asynchronous start: the first tensor op must wait for tf.ready(); selectBackend() does that.
      void selectBackend('wasm');
      const choice = { name: 'wasm' as const, tried };
      announce(choice, write);
      return choice;
    }
    const why = registerNow(want as BackendName);
    if (why || !activateNow(want as BackendName)) throw new Error(`ORZ_BACKEND=${want}: backend is not available: ${why ?? 'failed to initialise'}`);
    const choice = adoptBackend({ name: want as BackendName, tried });
    announce(choice, write);
    return choice;
  }
  for (const name of BACKEND_PREFERENCE) {
    const why = registerNow(name);
    if (why) { tried.push({ name, reason: why }); continue; }
    if (activateNow(name)) {
      const choice = adoptBackend({ name, tried });
      announce(choice, write);
      return choice;
    }
    tried.push({ name, reason: 'failed to initialise' });
  }
  throw new Error(`no tensor backend could be initialised: ${tried.map((t) => `${t.name}: ${t.reason}`).join('; ')}`);
}
