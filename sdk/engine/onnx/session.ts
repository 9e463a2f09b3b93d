// ONNX Runtime sessions for single-op graphs, run synchronously.
//
// onnxruntime-node's public InferenceSession wraps every call in a promise (setImmediate), but the
// native object underneath (dist/binding.js) loads and runs synchronously, which is what a tfjs
// kernel needs. Sessions are built once per graph key and cached; every dim is symbolic, so one
// session serves all shapes of a given rank.

import { createRequire } from 'node:module';
import { encodeModel, type OnnxGraph } from './proto.ts';

/** The onnxruntime-common Tensor as the native binding sees it: type, data, dims. */
export interface OrtTensor {
  readonly type: string;
  readonly data: Float32Array | Int32Array | Uint8Array | BigInt64Array;
  readonly dims: readonly number[];
}
type OrtTensorCtor = new (type: string, data: OrtTensor['data'], dims: readonly number[]) => OrtTensor;

interface NativeSession {
  loadModel(buffer: ArrayBuffer, byteOffset: number, byteLength: number, options: object): void;
  run(feeds: Record<string, OrtTensor>, fetches: Record<string, OrtTensor | null>, options: object): Record<string, OrtTensor>;
  dispose(): void;
}

interface Native {
  InferenceSession: new () => NativeSession;
  Tensor: OrtTensorCtor;
}

let native: Native | null = null;

/** Loads the native binding once; throws with the reason if onnxruntime-node is unusable. */
export function loadNative(): Native {
  if (native) return native;
  const require = createRequire(import.meta.url);
  let pkgDir: string;
  try {
    pkgDir = require.resolve('onnxruntime-node').replace(/dist[\\/]index\.js$/, '');
  } catch {
    throw new Error('onnx/session: onnxruntime-node is not installed');
  }
  // initOrt passes onnxruntime-common's Tensor class to the binding, so outputs come back as that class
  const { binding, initOrt } = require(`${pkgDir}dist/binding.js`) as { binding: { InferenceSession: Native['InferenceSession'] }; initOrt: () => void };
  const common = require(require.resolve('onnxruntime-common', { paths: [pkgDir] })) as { Tensor: OrtTensorCtor };
  initOrt();
  native = { InferenceSession: binding.InferenceSession, Tensor: common.Tensor };
  return native;
}

/** intra-op threads: ORZ_THREADS, else 2 (the machine's cores are shared with JS). */
export function intraOpThreads(): number {
  const env = process.env['ORZ_THREADS'];
  if (env === undefined || env === '') return 2;
  const n = Number(env);
  if (!Number.isInteger(n) || n < 1) throw new Error(`onnx/session: ORZ_THREADS must be a positive integer, got "${env}"`);
  return n;
}

/** Execution providers ORT may use, best first. Names as onnxruntime-node spells them. */
const KNOWN_PROVIDERS = ['cpu', 'cuda', 'tensorrt', 'dml', 'coreml', 'webgpu', 'qnn', 'xnnpack'];

/**
 * ORZ_ORT_PROVIDERS (comma-separated, e.g. "cuda,cpu"), else ["cpu"]. The CPU provider ships inside
 * onnxruntime-node; the others need their binaries (README "GPU"). Tensors stay in JS memory, so a
 * GPU provider copies inputs and outputs on every call: it pays on the fused layer graphs, not on
 * the small per-op ones.
 */
export function executionProviders(): string[] {
  const env = process.env['ORZ_ORT_PROVIDERS'];
  if (env === undefined || env.trim() === '') return ['cpu'];
  const names = env.split(',').map((x) => x.trim().toLowerCase()).filter(Boolean);
  for (const n of names) {
    if (!KNOWN_PROVIDERS.includes(n)) throw new Error(`onnx/session: ORZ_ORT_PROVIDERS names an unknown execution provider "${n}"; known: ${KNOWN_PROVIDERS.join(', ')}`);
  }
  if (names.length === 0) throw new Error(`onnx/session: ORZ_ORT_PROVIDERS="${env}" names no execution provider`);
  return names;
}

export class OpSession {
  private readonly session: NativeSession;
  private readonly inputNames: string[];
  private readonly outputNames: string[];

  constructor(readonly key: string, graph: OnnxGraph) {
    const { InferenceSession } = loadNative();
    const bytes = encodeModel(graph, key);
    const providers = executionProviders();
    this.session = new InferenceSession();
    try {
      this.session.loadModel(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength, {
        executionProviders: providers,
        intraOpNumThreads: intraOpThreads(),
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        ...(process.env['ORZ_ORT_ARENA'] === '0' ? { enableCpuMemArena: false, enableMemPattern: false } : {}),
        // idle pool threads would spin between our many tiny calls and steal the JS thread's core
        extra: { session: { intra_op: { allow_spinning: '0' } } },
      });
    } catch (e) {
      const hint = providers.some((p) => p !== 'cpu')
        ? ` (execution providers ${providers.join(', ')} from ORZ_ORT_PROVIDERS: a GPU provider needs its binaries, see the README's "GPU" section)`
        : '';
      throw new Error(`onnx/session: cannot build the "${key}" graph${hint}: ${(e as Error).message}`);
    }
    this.inputNames = graph.inputs.map((v) => v.name);
    this.outputNames = graph.outputs.map((v) => v.name);
  }

  /**
   * Runs the graph on `inputs` (in graph-input order) and writes into `outputs` (graph-output
   * order, caller-allocated with the right sizes): ORT fills the given buffers, so nothing is copied.
   */
  run(inputs: OrtTensor[], outputs: OrtTensor[]): void {
    const feeds: Record<string, OrtTensor> = {};
    this.inputNames.forEach((n, i) => { feeds[n] = inputs[i]!; });
    const fetches: Record<string, OrtTensor> = {};
    this.outputNames.forEach((n, i) => { fetches[n] = outputs[i]!; });
    this.session.run(feeds, fetches, {});
    runCount++;
  }

  dispose(): void {
    this.session.dispose();
  }
}

const cache = new Map<string, OpSession>();
let runCount = 0;

/** How many ORT runs this process has made (tests use it to see that a route really ran). */
export function ortRunCount(): number {
  return runCount;
}

/** The cached session for `key`, building it from `graph()` on first use. */
export function sessionFor(key: string, graph: () => OnnxGraph): OpSession {
  let s = cache.get(key);
  if (!s) {
    s = new OpSession(key, graph());
    cache.set(key, s);
  }
  return s;
}

export function cachedSessionCount(): number {
  return cache.size;
}

export function disposeSessions(): void {
  for (const s of cache.values()) s.dispose();
  cache.clear();
}

/** ORT element types a feed or fetch may be declared as ('uint8' views a bool tensor's bytes as numbers). */
export type OrtType = 'float32' | 'int32' | 'bool' | 'uint8' | 'int64';

/** An ORT tensor viewing `data` (no copy) with shape `dims`. */
export function ortTensor(type: OrtType, data: OrtTensor['data'], dims: readonly number[]): OrtTensor {
  return new (loadNative().Tensor)(type, data, dims);
}
