// Rollout workers: what the session and its worker processes say to each other.
//
// A worker is a child process of the session. It reads one JSON line from stdin (where to connect, the session
// key, its slot number, the tensor backend), connects a DEALER to the session's internal ROUTER and speaks the
// session protocol (wire.ts: the same frames, HMAC-SHA256 signatures with the session key, replay checks):
//
//   worker  -> session  event "ready" {worker, pid, backend}     once connected and its backend is up
//   session -> worker   request {callId, op, args}               op from the fixed table below
//   worker  -> session  progress {callId, kind: "generate", data} / reply {callId, ok, value | error}
//   session -> worker   cancel {callId}                          aborts a generate
//
// The key travels on stdin, not in argv or the environment, where other users' `ps` could read it. A worker
// exits when its stdin closes: the session is gone (even after kill -9), so workers never outlive it.

export const WORKER_OPS = ['worker.ping', 'worker.load', 'worker.weights', 'worker.generate', 'worker.digest', 'worker.release'] as const;
export type WorkerOp = (typeof WORKER_OPS)[number];

/** The first line a worker reads on stdin. */
export interface WorkerBootstrap {
  address: string;
  key: string;
  worker: number;
  backend: string;
  maxMessageSize: number;
}

export interface WorkerReady { worker: number; pid: number; backend: string }

/** One policy copy held by a worker: the trainer it mirrors and the weights version it holds (0: none yet). */
export interface ReplicaInfo { policy: string; version: number; digest?: string }

/** A worker as `session.status()` and `session.workers()` show it. */
export interface WorkerInfo {
  worker: number;
  pid: number | null;
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
