// What a rollout worker can be asked to do: a fixed table of operations with checked arguments, as in the session
// itself. A worker holds policy replicas (one per trainer that generates on workers), each with the weights version
// the session last sent it, and generates only with the version the session names: never with stale weights.

import { tf } from '../../engine/tf.ts';
import { loadModel, type TransformerLM } from '../../model/index.ts';
import { loadTokenizer, type Tokenizer } from '../../tokenizer/index.ts';
import { RolloutEngine, type GenerateParams, type PromptInput } from '../../rollout/engine.ts';
import { ArgumentError, arrayOf, int, optional, parseArgs, plainObject, str, type ArgsOf, type Check, type Spec } from '../args.ts';
import { HostTensor } from '../codec.ts';
import { weightsDigest } from '../digest.ts';
import { generateParams } from '../ops-objects.ts';
import { WORKER_ERRORS, type ReplicaInfo, type WorkerOp } from './protocol.ts';
import { ChunkAssembly, type WeightPart } from './weights-chunks.ts';

interface Replica { model: TransformerLM; tokenizer: Tokenizer; engine: RolloutEngine; version: number; assembly: ChunkAssembly | null }

/** What a running operation may use of its request: the cancel signal and the progress channel back. */
export interface WorkerCall { signal: AbortSignal; progress(kind: string, data: unknown): void }

const coded = (message: string, code: string) => Object.assign(new Error(message), { code });

const absolutePath = (): Check<string> => (v, at) => {
  const s = str({ maxLength: 4096 })(v, at);
  if (!s.startsWith('/')) throw new ArgumentError(`argument "${at}" must be an absolute path, got ${JSON.stringify(s)}`);
  return s;
};

const float32Tensor = (): Check<HostTensor> => (v, at) => {
  if (!(v instanceof HostTensor) || v.dtype !== 'float32') throw new ArgumentError(`argument "${at}" must be a float32 tensor`);
  return v;
};

/** A prompt as the trainer builds it: text plus fields that become columns (strings, numbers; null = absent). */
const workerPrompt = (): Check<PromptInput> => (v, at) => {
  const o = plainObject()(v, at);
  if (typeof o['prompt'] !== 'string') throw new ArgumentError(`argument "${at}.prompt" must be a string`);
  for (const [k, x] of Object.entries(o)) {
    if (x !== null && typeof x !== 'string' && typeof x !== 'number') throw new ArgumentError(`argument "${at}.${k}" must be a string, a number or null`);
  }
  return o as PromptInput;
};

const weightPart = (): Check<WeightPart> => (v, at) => {
  const o = plainObject()(v, at);
  const name = str({ maxLength: 512 })(o['name'], `${at}.name`);
  const shape = arrayOf(int({ min: 0 }), { max: 8 })(o['shape'], `${at}.shape`);
  return { name, shape, offset: int({ min: 0 })(o['offset'], `${at}.offset`) };
};

const policy = () => str({ maxLength: 128 });
const MAX_ITEMS = 1 << 16;

const SPECS = {
  'worker.ping': {},
  'worker.load': { policy: policy(), modelDir: absolutePath(), tokenizerPath: absolutePath(), maxBatchRows: optional(int({ min: 1, max: MAX_ITEMS })) },
  'worker.weights': {
    policy: policy(), version: int({ min: 1 }),
    names: arrayOf(str({ maxLength: 512 }), { max: MAX_ITEMS }), tensors: arrayOf(float32Tensor(), { max: MAX_ITEMS }),
  },
  'worker.weightsChunk': {
    policy: policy(), version: int({ min: 1 }), chunk: int({ min: 0 }), chunks: int({ min: 1, max: MAX_ITEMS }),
    parts: arrayOf(weightPart(), { max: MAX_ITEMS }), tensors: arrayOf(float32Tensor(), { max: MAX_ITEMS }), digest: optional(str({ maxLength: 64 })),
  },
  'worker.generate': {
    policy: policy(), version: int({ min: 1 }), prompts: arrayOf(workerPrompt(), { max: MAX_ITEMS }),
    params: generateParams(), firstPromptIndex: int({ min: 0 }),
    // each prompt's index when the prompts are not a contiguous slice (engine.ts GenerateOptions.promptIndices)
    promptIndices: optional(arrayOf(int({ min: 0 }), { max: MAX_ITEMS })),
  },
  'worker.digest': { policy: policy() },
  'worker.release': { policy: policy() },
} satisfies Record<WorkerOp, Spec>;

export class WorkerState {
  readonly #replicas = new Map<string, Replica>();

  constructor(readonly worker: number, readonly backend: string) {}

  #replica(id: string): Replica {
    const r = this.#replicas.get(id);
    if (!r) throw coded(`rollout worker ${this.worker} holds no replica of ${id}: the session must load it first`, WORKER_ERRORS.noReplica);
    return r;
  }

  /** Runs one request. Only the names of the table select code; arguments are checked against its spec. */
  async run(op: string, rawArgs: unknown, call: WorkerCall): Promise<unknown> {
    const args = <S extends Spec>(spec: S) => parseArgs(op, rawArgs, spec);
    switch (op as WorkerOp) {
      case 'worker.ping':
        args(SPECS['worker.ping']);
        return { worker: this.worker, pid: process.pid, backend: this.backend };
      case 'worker.load': return this.#load(args(SPECS['worker.load']));
      case 'worker.weights': return this.#weights(args(SPECS['worker.weights']));
      case 'worker.weightsChunk': return this.#weightsChunk(args(SPECS['worker.weightsChunk']));
      case 'worker.generate': {
        const a = args(SPECS['worker.generate']);
        const r = this.#replica(a.policy);
        if (r.version !== a.version) {
          throw coded(`rollout worker ${this.worker} holds weights version ${r.version} of ${a.policy}, the session asks for version ${a.version}: it does not generate with stale weights`, WORKER_ERRORS.stale);
        }
        return r.engine.generate(a.prompts, a.params as Partial<GenerateParams>, {
          signal: call.signal, onProgress: (p) => call.progress('generate', p),
          ...(a.promptIndices === undefined ? { firstPromptIndex: a.firstPromptIndex } : { promptIndices: a.promptIndices }),
        });
      }
      case 'worker.digest': {
        const a = args(SPECS['worker.digest']);
        const r = this.#replica(a.policy);
        return { policy: a.policy, version: r.version, digest: weightsDigest(r.model.weights) } satisfies ReplicaInfo;
      }
      case 'worker.release': {
        const a = args(SPECS['worker.release']);
        this.#replicas.get(a.policy)?.model.dispose();
        this.#replicas.delete(a.policy);
        return null;
      }
      default:
        throw coded(`unknown worker operation ${JSON.stringify(op)} (known: ${Object.keys(SPECS).join(', ')})`, 'unknown_op');
    }
  }

  async #load(a: ArgsOf<(typeof SPECS)['worker.load']>): Promise<ReplicaInfo & { parameters: number }> {
    // The model directory gives the architecture; the weights that count arrive with worker.weights.
    const [model, tokenizer] = await Promise.all([loadModel(a.modelDir), loadTokenizer(a.tokenizerPath)]);
    this.#replicas.get(a.policy)?.model.dispose();
    const engine = new RolloutEngine(model, tokenizer, a.maxBatchRows ? { maxBatchRows: a.maxBatchRows } : {});
    this.#replicas.set(a.policy, { model, tokenizer, engine, version: 0, assembly: null });
    return { policy: a.policy, version: 0, parameters: model.numParameters() };
  }

  /** One chunk of a broadcast (weights-chunks.ts); the last one to arrive assigns the whole version. */
  #weightsChunk(a: ArgsOf<(typeof SPECS)['worker.weightsChunk']>): ReplicaInfo & { received: boolean } {
    const r = this.#replica(a.policy);
    const where = `worker.weightsChunk (${a.policy} version ${a.version})`;
    if (a.version <= r.version) throw new ArgumentError(`${where}: not newer than the version held, ${r.version}`);
    // A chunk of a newer version drops what was collected of an older one (that broadcast was abandoned).
    if (r.assembly?.version !== a.version) r.assembly = new ChunkAssembly(a.version, a.chunks);
    r.assembly.add({ ...a, digest: a.digest ?? undefined }, where);
    if (!r.assembly.done) return { policy: a.policy, version: r.version, received: true };
    const assembly = r.assembly;
    r.assembly = null;
    return { ...this.#weights({ policy: a.policy, version: a.version, ...assembly.complete(where) }), received: true };
  }

  #weights(a: ArgsOf<(typeof SPECS)['worker.weights']>): ReplicaInfo {
    const r = this.#replica(a.policy);
    if (a.version <= r.version) throw new ArgumentError(`worker.weights: argument "version": ${a.version} is not newer than the version held, ${r.version}`);
    if (a.names.length !== a.tensors.length) throw new ArgumentError(`worker.weights: ${a.names.length} names for ${a.tensors.length} tensors`);
    const given = new Map(a.names.map((n, i) => [n, a.tensors[i]!]));
    // A broadcast carries every weight: checked whole before anything is assigned, so a bad one changes nothing.
    for (const [n, v] of r.model.weights) {
      const t = given.get(n);
      if (!t) throw new ArgumentError(`worker.weights: weight ${JSON.stringify(n)} is missing`);
      if (t.shape.join() !== v.shape.join()) throw new ArgumentError(`worker.weights: ${n} has shape [${t.shape}], the model has [${v.shape}]`);
    }
    if (given.size !== r.model.weights.size) {
      const extra = [...given.keys()].find((n) => !r.model.weights.has(n));
      throw new ArgumentError(`worker.weights: ${extra ? `unknown weight ${JSON.stringify(extra)}` : 'a weight name is repeated'}`);
    }
    for (const [n, v] of r.model.weights) {
      const t = given.get(n)!;
      const value = tf.tensor(t.data as Float32Array, t.shape, 'float32');
      v.assign(value);
      value.dispose();
    }
    r.version = a.version;
    return { policy: a.policy, version: r.version };
  }
}
