// Handles: client-side stand-ins for objects held by a session. Methods have the in-process names and return the
// in-process types (RolloutBatch, metrics rows, MetricsLog, EvalResult); what is synchronous in-process is a
// promise here, since it crosses to the session.

import type { PromptInput, GenerateParams, GenerateProgress } from '../rollout/engine.ts';
import type { RolloutBatch } from '../rollout/rollout-batch.ts';
import type { ProblemRecord } from '../data/index.ts';
import type { ResolvedModelConfig } from '../model/index.ts';
import type { RewardFn } from '../reward/index.ts';
import type { HostTensor } from './codec.ts';
import type { HandleInfo, HandleKind, RewardSpec } from './registry.ts';
import { TRAINER_API, type TrainerApi, type TrainerCalls } from './trainer-api.ts';
import type { CallOptions } from './transport.ts';

/** What a handle needs from its session. */
export interface HandleHost {
  call(op: string, handle: string | null, args: object, opts?: CallOptions): Promise<unknown>;
  setReward(handle: string, fn: RewardFn | null): void;
}

export abstract class RemoteObject {
  abstract readonly kind: HandleKind;

  constructor(protected readonly host: HandleHost, readonly id: string, readonly name: string | null) {}

  protected call<T>(op: string, args: object = {}, opts?: CallOptions): Promise<T> {
    return this.host.call(op, this.id, args, opts) as Promise<T>;
  }

  /** Frees the object in the session (handles built on it must be released first). */
  async release(): Promise<void> {
    await this.host.call('session.release', null, { handle: this.id });
    this.host.setReward(this.id, null);
  }

  toString(): string {
    return `${this.kind} ${this.id}${this.name ? ` ("${this.name}")` : ''}`;
  }
}

export class RemoteModel extends RemoteObject {
  readonly kind = 'model' as const;
  info() { return this.call<{ config: ResolvedModelConfig; parameters: number; weights: { name: string; shape: number[] }[] }>('model.info'); }
  /** One weight as float32 values with its shape. */
  weight(name: string) { return this.call<HostTensor>('model.weight', { name }); }
  /** sha256 of every weight: equal digests mean equal weights. */
  digest() { return this.call<string>('model.digest'); }
}

export class RemoteTokenizer extends RemoteObject {
  readonly kind = 'tokenizer' as const;
  info() { return this.call<{ vocabSize: number; padId: number; eosId: number | null }>('tokenizer.info'); }
  encode(text: string) { return this.call<number[]>('tokenizer.encode', { text }); }
  decode(ids: number[], opts: { skipSpecial?: boolean } = {}) { return this.call<string>('tokenizer.decode', { ids, ...opts }); }
}

export class RemoteDataset extends RemoteObject {
  readonly kind = 'dataset' as const;
  info() { return this.call<{ length: number; path: string | null }>('dataset.info'); }
  async length(): Promise<number> { return (await this.info()).length; }
  records(opts: { offset?: number; limit?: number } = {}) { return this.call<ProblemRecord[]>('dataset.records', opts); }
}

export class RemoteEngine extends RemoteObject {
  readonly kind = 'engine' as const;
  info() { return this.call<{ model: string; tokenizer: string; maxBatchRows: number }>('engine.info'); }
  generate(prompts: (string | PromptInput)[], params: Partial<GenerateParams> = {}, opts: { signal?: AbortSignal; onProgress?: (p: GenerateProgress) => void } = {}) {
    return this.call<RolloutBatch>('engine.generate', { prompts, params }, {
      signal: opts.signal, onProgress: (kind, data) => { if (kind === 'generate') opts.onProgress?.(data as GenerateProgress); },
    });
  }
}

export type { TrainerInfo, RemoteExperience, RemoteRunOptions } from './trainer-api.ts';

// The trainer's remote methods (generate, score, makeExperience, update, step, run, evaluate, metrics,
// lastBatch, info, digest, checkpoint) come from TRAINER_API, installed on the prototype below.
export interface RemoteTrainer extends TrainerCalls {}

export class RemoteTrainer extends RemoteObject {
  readonly kind = 'trainer' as const;

  /** `reward`: where the trainer's reward runs, as it was created ("math": in the session; "controller": here). */
  constructor(host: HandleHost, id: string, name: string | null, readonly reward: RewardSpec) {
    super(host, id, name);
  }

  /** Completed iterations. */
  async iteration(): Promise<number> { return (await this.info()).iteration!; }

  /**
   * The RewardFn this client runs when the session asks it to score. Only trainers created with a function reward
   * ask; a trainer created with the built-in math reward scores inside the session, so this refuses.
   */
  setReward(fn: RewardFn): this {
    if (this.reward !== 'controller') {
      throw new Error(`setReward: ${this} scores with the session's built-in math reward, so a function set here would never be called; create the trainer with the function instead (session.trainer({ ..., reward: fn }) or session.trainerFromRunConfig(path, { reward: fn }))`);
    }
    this.host.setReward(this.id, fn);
    return this;
  }
}

for (const name of Object.keys(TRAINER_API) as (keyof TrainerApi)[]) {
  const request = TRAINER_API[name].request as (...params: unknown[]) => { args: object; opts?: CallOptions };
  Object.defineProperty(RemoteTrainer.prototype, name, {
    value: { [name](this: RemoteTrainer, ...params: unknown[]) {
      const { args, opts } = request(...params);
      return this.host.call(`trainer.${name}`, this.id, args, opts);
    } }[name],
    writable: true, configurable: true,
  });
}

export type RemoteHandle = RemoteModel | RemoteTokenizer | RemoteDataset | RemoteEngine | RemoteTrainer;

export function handleFor(host: HandleHost, info: Pick<HandleInfo, 'id' | 'kind' | 'name' | 'recipe'>): RemoteHandle {
  switch (info.kind) {
    case 'model': return new RemoteModel(host, info.id, info.name);
    case 'tokenizer': return new RemoteTokenizer(host, info.id, info.name);
    case 'dataset': return new RemoteDataset(host, info.id, info.name);
    case 'engine': return new RemoteEngine(host, info.id, info.name);
    case 'trainer': return new RemoteTrainer(host, info.id, info.name, info.recipe.kind === 'trainer' ? info.recipe.reward : 'math');
  }
}
