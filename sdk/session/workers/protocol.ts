// Rollout workers: what the session and its worker processes say to each other.
//
// A worker is a child process of the session, or a Slurm job step (slurm.ts). It reads one JSON line from stdin
// (where to connect, the session key or the file holding it, its slot number and start count, the tensor
// backend), connects a DEALER to the session's internal ROUTER and speaks the session protocol (wire.ts: the same
// frames, HMAC-SHA256 signatures with the session key, replay checks):
//
//   worker  -> session  event "ready" {worker, start, pid, host, backend, slurm?}   once connected and its backend is up
//   session -> worker   request {callId, op, args}               op from the fixed table below
//   worker  -> session  progress {callId, kind: "generate", data} / reply {callId, ok, value | error}
//   session -> worker   cancel {callId}                          aborts a generate
//
// The key travels on stdin (or, for Slurm steps, stays in a 0600 file the bootstrap names), not in argv or the
// environment, where other users' `ps` could read it. A worker exits when its stdin closes: the session is gone
// (even after kill -9), so workers never outlive it.

import type { SlurmStepInfo } from '../slurm.ts';

export const WORKER_OPS = ['worker.ping', 'worker.load', 'worker.weights', 'worker.weightsChunk', 'worker.generate', 'worker.digest', 'worker.release'] as const;
export type WorkerOp = (typeof WORKER_OPS)[number];

/** The first line a worker reads on stdin. */
export interface WorkerBootstrap {
  address: string;
  /** The session key, or (Slurm steps) the path of a file {"key": ...} holding it. */
  key?: string;
  keyFile?: string;
  worker: number;
  /** Which start of this slot (1, 2, ...): the session only takes a ready message of the current one. */
  start: number;
  backend: string;
  maxMessageSize: number;
}

export interface WorkerReady { worker: number; start: number; pid: number; host: string; backend: string; slurm?: SlurmStepInfo }

/** One policy copy held by a worker: the trainer it mirrors and the weights version it holds (0: none yet). */
export interface ReplicaInfo { policy: string; version: number; digest?: string }

/** A worker as `session.status()` and `session.workers()` show it. */
export interface WorkerInfo {
  worker: number;
  pid: number | null;
  /** The machine it runs on (once ready). */
  host: string | null;
  /** Its Slurm job, step and node, when it is a job step. */
  slurm: SlurmStepInfo | null;
  state: 'starting' | 'ready' | 'exited';
  /** How the last process of this slot ended (exit code or signal), if it did. */
  exit: string | null;
  /** Processes started for this slot (a worker that died is restarted at the next generate). */
  starts: number;
  replicas: ReplicaInfo[];
}

/** Error codes a worker call can fail with, besides those of the session protocol. */
export const WORKER_ERRORS = {
  exited: 'worker_exited',
  stale: 'stale_weights',
  noReplica: 'no_replica',
} as const;
