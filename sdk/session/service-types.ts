// The types the session's operations see of the service (OpService) and the service's settings and status.
// They live apart from service.ts so the operation table, which service.ts loads, does not import it back.

import type { MetricsRow } from '../ppo/metrics-log.ts';
import type { CheckpointKind } from '../run/checkpoint-policy.ts';
import type { CallContext } from './call-context.ts';
import type { Entry, HandleInfo, HandleKind, HandleRegistry, Recipe } from './registry.ts';
import type { WorkerInfo } from './workers/protocol.ts';
import type { SessionWorkers } from './workers/session-workers.ts';
import type { SlurmOptions } from './slurm.ts';

export interface ServiceSettings {
  name: string;
  /** The session directory ($ORZ_HOME/sessions/<name>). */
  dir: string;
  /**
   * Checkpoint every trainer after this many completed iterations (and always at shutdown); null: as each
   * trainer's config says (checkpointEvery, checkpointOverhead, checkpointMinutes), like `orz train`.
   */
  checkpointEvery: number | null;
  backend: string;
  /** When the session was first created (kept across resumes). */
  created?: string;
  log?: (line: string) => void;
  /** Rollout worker processes that trainers generate on (0 or absent: in the session process). */
  workers?: number;
  /** Rollout workers as Slurm job steps (their number: nodes x workers per node); `workers` is then ignored. */
  slurm?: SlurmOptions;
  /** The session key, which also signs the internal worker socket (an in-process session makes one up). */
  key?: string;
  /** Largest message on the internal worker socket (default 256 MB). */
  maxMessageSize?: number;
}

export type EventSink = (event: string, data: unknown) => void;

export interface CallInfo { callId: string; op: string; handle: string | null; client: string; runningSec: number }

export interface SessionStatus {
  name: string;
  pid: number;
  backend: string;
  created: string;
  started: string;
  uptimeSec: number;
  checkpointEvery: number | null;
  handles: HandleInfo[];
  calls: CallInfo[];
  workers: WorkerInfo[];
}

/** What an operation may use of the session service. */
export interface OpService {
  readonly settings: ServiceSettings;
  readonly registry: HandleRegistry;
  readonly emit: EventSink;
  workers: SessionWorkers | null;
  createHandle(kind: HandleKind, name: string | null | undefined, recipe: Recipe): Promise<HandleInfo>;
  releaseHandle(ref: string): Promise<void>;
  info(entry: Entry): HandleInfo;
  status(): SessionStatus;
  /** Checkpoints the trainer of `entry`; returns the checkpoint directory. */
  checkpoint(entry: Entry): Promise<string>;
  /** A checkpoint of `entry` at `iteration` is on disk (written by the run loop). */
  checkpointed(entry: Entry, iteration: number): void;
  /** The session's checkpoint period (undefined: the trainer config's policy). */
  checkpointDue(): ((iteration: number) => CheckpointKind | null) | undefined;
  /** After a trainer iteration, on disk and checkpointed when due: tell the caller and the watchers. */
  afterIteration(entry: Entry, row: MetricsRow, ctx: CallContext, checkpointed: boolean): Promise<void>;
  requestShutdown(): void;
}
