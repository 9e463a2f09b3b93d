// Handles: client-side stand-ins for objects held by a session. Methods have the in-process names and return the
// in-process types (RolloutBatch, metrics rows, MetricsLog, EvalResult); what is synchronous in-process is a
// promise here, since it crosses to the session.

import type { PromptInput, GenerateParams, GenerateProgress } from '../rollout/engine.ts';
import type { RolloutBatch } from '../rollout/rollout-batch.ts';
import type { MetricsLog, MetricsRow } from '../ppo/metrics-log.ts';
import type { EvalResult, Experience } from '../ppo/trainer.ts';
import type { TrainerConfig } from '../ppo/config.ts';
import type { ProblemRecord } from '../data/index.ts';
import type { ResolvedModelConfig } from '../model/index.ts';
import type { RewardFn } from '../reward/index.ts';
import { ambientHost } from '../util/ambient.ts';
import type { HostTensor } from './codec.ts';
import type { HandleInfo, HandleKind } from './registry.ts';
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

export interface TrainerInfo extends HandleInfo {
  config: TrainerConfig;
  datasetSize: number;
  evalSize: number;
  reward: 'math' | 'controller';
}

/** Experience from a session: the columns of the in-process one, plus the id update() refers to. */
export interface RemoteExperience extends Experience { id: string }

export interface RemoteRunOptions {
  /** Total iterations to reach (a resumed trainer continues up to this number). */
  iterations: number;
  /** Cancels the run at the next iteration boundary (default: the notebook cell's interrupt, in a kernel). */
  signal?: AbortSignal;
  onIteration?: (row: MetricsRow) => void;
  /** Progress lines (default stderr; null for silence). */
  log?: ((line: string) => void) | null;
}

export class RemoteTrainer extends RemoteObject {
  readonly kind = 'trainer' as const;

  info() { return this.call<TrainerInfo>('trainer.info'); }
  /** Completed iterations. */
  async iteration(): Promise<number> { return (await this.info()).iteration!; }

  /** The RewardFn this client runs when the session asks it to score (trainers created with a function reward). */
  setReward(fn: RewardFn): this {
    this.host.setReward(this.id, fn);
    return this;
  }

  generate(prompts?: (string | PromptInput)[], opts: { signal?: AbortSignal } = {}) {
    return this.call<RolloutBatch>('trainer.generate', { prompts }, { signal: opts.signal });
  }
  score(batch: RolloutBatch) { return this.call<RolloutBatch>('trainer.score', { batch }); }
  makeExperience(batch: RolloutBatch) { return this.call<RemoteExperience>('trainer.makeExperience', { batch }); }
  update(exp: RemoteExperience) { return this.call<MetricsRow>('trainer.update', { experience: exp.id }); }
  step(opts: { signal?: AbortSignal } = {}) {
    return this.call<MetricsRow & { iteration: number }>('trainer.step', {}, { signal: opts.signal ?? ambientHost()?.signal });
  }
  run(opts: RemoteRunOptions): Promise<MetricsRow[]> {
    if ('runDir' in opts) throw new Error('run: a session trainer writes to its run directory inside the session; runDir is not an option here');
    const log = opts.log === null ? null : (opts.log ?? ((l: string) => process.stderr.write(`${l}\n`)));
    return this.call<MetricsRow[]>('trainer.run', { iterations: opts.iterations }, {
      signal: opts.signal ?? ambientHost()?.signal,
      onProgress: (kind, data) => {
        if (kind === 'iteration') opts.onIteration?.(data as MetricsRow);
        else if (kind === 'log') log?.(data as string);
      },
    });
  }
  evaluate(opts: { limit?: number; signal?: AbortSignal } = {}) {
    return this.call<EvalResult>('trainer.evaluate', { limit: opts.limit }, { signal: opts.signal });
  }
  metrics() { return this.call<MetricsLog>('trainer.metrics'); }
  lastBatch() { return this.call<RolloutBatch | null>('trainer.lastBatch'); }
  /** Checkpoints now (the session also does every K iterations and at shutdown). */
  checkpoint() { return this.call<{ iteration: number; dir: string }>('trainer.checkpoint'); }
  /** sha256 of the policy weights. */
  digest() { return this.call<string>('trainer.digest'); }
}

export type RemoteHandle = RemoteModel | RemoteTokenizer | RemoteDataset | RemoteEngine | RemoteTrainer;

export function handleFor(host: HandleHost, info: Pick<HandleInfo, 'id' | 'kind' | 'name'>): RemoteHandle {
  switch (info.kind) {
    case 'model': return new RemoteModel(host, info.id, info.name);
    case 'tokenizer': return new RemoteTokenizer(host, info.id, info.name);
    case 'dataset': return new RemoteDataset(host, info.id, info.name);
    case 'engine': return new RemoteEngine(host, info.id, info.name);
    case 'trainer': return new RemoteTrainer(host, info.id, info.name);
  }
}
