// The remote Trainer API, defined once. Each entry of TRAINER_API is one operation `trainer.<name>` of the
// session's fixed table: whether it waits in the weights queue, the checks its wire arguments pass, and how
// the client handle's method of the same name turns its parameters into those arguments. The session's
// implementations (ops-trainer.ts) and the client's RemoteTrainer methods (remote-handles.ts) are both
// generated from it, and typed by it:
//
//   - a name is a member of Trainer (or one of the few the session adds: info, digest, checkpoint), so a
//     renamed Trainer method is a compile error here;
//   - a call resolves to what the Trainer member gives in-process (a method's awaited result, a property's
//     value; an Experience comes with the id update() refers to), and the session's implementation must
//     return exactly that;
//   - what a client method sends is what the argument checks accept.
//
// This file is loaded by clients too: it imports no tensor code (Trainer is a type here).

import type { Experience, Trainer } from '../ppo/trainer.ts';
import type { TrainerConfig } from '../ppo/config.ts';
import type { MetricsRow } from '../ppo/metrics-log.ts';
import type { PromptInput } from '../rollout/engine.ts';
import type { RolloutBatch } from '../rollout/rollout-batch.ts';
import { ambientHost } from '../util/ambient.ts';
import { arrayOf, int, MAX_PROMPTS, optional, promptInput, rollouts, str, type ArgsOf, type Spec } from './args.ts';
import type { HandleInfo } from './registry.ts';
import type { CallOptions } from './transport.ts';

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

/** What the session offers besides the Trainer's own members, with what each call resolves to. */
interface SessionAdds {
  info: TrainerInfo;
  /** sha256 of the policy weights. */
  digest: string;
  /** Trainer.saveCheckpoint into the session's run directory, which the session keeps track of. */
  checkpoint: { iteration: number; dir: string };
}

export type TrainerApiName = keyof Trainer | keyof SessionAdds;

type OverTheWire<T> = T extends Experience ? RemoteExperience : T;

/** What `trainer.<K>` resolves to: the in-process member's result (or value), or the session addition's. */
export type TrainerResult<K extends TrainerApiName> = K extends keyof SessionAdds ? SessionAdds[K]
  : K extends keyof Trainer ? (Trainer[K] extends (...a: never[]) => infer R ? OverTheWire<Awaited<R>> : Trainer[K])
  : never;

export interface ApiEntry<S extends Spec, P extends unknown[]> {
  /** Queued operations change or compute with shared weights and run one at a time per model. */
  queued: boolean;
  /** The wire arguments and their checks (the session refuses anything else). */
  args: S;
  /** The client side: the handle method's parameters as wire arguments and call options. */
  request(...params: P): { args: ArgsOf<S>; opts?: CallOptions };
}

/** The allow-list's shape: only Trainer members (and the session's additions) may be named. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each entry has its own parameter list
export type TrainerApiTable = { [K in TrainerApiName]?: ApiEntry<Spec, any> };

const entry = <S extends Spec, P extends unknown[]>(e: ApiEntry<S, P>): ApiEntry<S, P> => e;
const none = () => ({ args: {} });
const signalOf = (opts: { signal?: AbortSignal }) => opts.signal ?? ambientHost()?.signal;

export const TRAINER_API = {
  info: entry({ queued: false, args: {}, request: none }),
  /** The metrics rows so far. */
  metrics: entry({ queued: false, args: {}, request: none }),
  /** The scored batch of the last step(), for a look at the samples. */
  lastBatch: entry({ queued: false, args: {}, request: none }),
  /** sha256 of the policy weights. */
  digest: entry({ queued: false, args: {}, request: none }),

  /** One whole PPO iteration; its row is recorded (and checkpointed when due) in the session's run directory. */
  step: entry({
    queued: true, args: {},
    request: (opts: { signal?: AbortSignal } = {}) => ({ args: {}, opts: { signal: signalOf(opts) } }),
  }),
  /** Loops step() up to `iterations` completed iterations; an abort stops it at an iteration boundary. */
  run: entry({
    queued: true, args: { iterations: int({ min: 0 }) },
    request: (opts: RemoteRunOptions) => {
      if ('runDir' in opts) throw new Error('run: a session trainer writes to its run directory inside the session; runDir is not an option here');
      const log = opts.log === null ? null : (opts.log ?? ((l: string) => process.stderr.write(`${l}\n`)));
      return {
        args: { iterations: opts.iterations },
        opts: {
          signal: signalOf(opts),
          onProgress: (kind: string, data: unknown) => {
            if (kind === 'iteration') opts.onIteration?.(data as MetricsRow);
            else if (kind === 'log') log?.(data as string);
          },
        },
      };
    },
  }),

  /** Samples responses for the given prompts (default: the next ones from the dataset). */
  generate: entry({
    queued: true, args: { prompts: optional(arrayOf(promptInput(), { max: MAX_PROMPTS })) },
    request: (prompts?: (string | PromptInput)[], opts: { signal?: AbortSignal } = {}) => ({ args: { prompts }, opts: { signal: opts.signal } }),
  }),
  /** Scores every sample with the trainer's reward; returns the batch with a `reward` column. */
  score: entry({ queued: true, args: { batch: rollouts() }, request: (batch: RolloutBatch) => ({ args: { batch } }) }),
  /** The experience of a scored batch; it waits in the session for update() (a few at most). */
  makeExperience: entry({ queued: true, args: { batch: rollouts() }, request: (batch: RolloutBatch) => ({ args: { batch } }) }),
  /** One PPO update on an experience from makeExperience(). */
  update: entry({
    queued: true, args: { experience: str({ maxLength: 64 }) },
    request: (exp: RemoteExperience) => ({ args: { experience: exp.id } }),
  }),
  /** Decodes the eval set and scores it with the trainer's reward. */
  evaluate: entry({
    queued: true, args: { limit: optional(int({ min: 1 })) },
    request: (opts: { limit?: number; signal?: AbortSignal } = {}) => ({ args: { limit: opts.limit }, opts: { signal: opts.signal } }),
  }),
  /** Checkpoints now (the session also does every K iterations and at shutdown). */
  checkpoint: entry({ queued: true, args: {}, request: none }),
} satisfies TrainerApiTable;

export type TrainerApi = typeof TRAINER_API;

/** The client handle's methods, one per entry, with the entry's parameters and the member's result. */
export type TrainerCalls = {
  [K in keyof TrainerApi]: (...params: Parameters<TrainerApi[K]['request']>) => Promise<TrainerResult<K>>;
};

/** The typed shape of the session's implementation of each entry. */
export type TrainerServe<C, E> = {
  [K in keyof TrainerApi]: (c: C, args: ArgsOf<TrainerApi[K]['args']>, entry: E, trainer: Trainer) => TrainerResult<K> | Promise<TrainerResult<K>>;
};
