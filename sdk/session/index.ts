// sdk/session: persistent training sessions that notebooks attach to (daemon, wire protocol, client, handles).

export { Session, type LocalSessionOptions, type AttachOptions, type SessionTrainerInit } from './session.ts';
export {
  RemoteModel, RemoteTokenizer, RemoteDataset, RemoteEngine, RemoteTrainer,
  type RemoteHandle, type RemoteExperience, type RemoteRunOptions, type TrainerInfo,
} from './remote-handles.ts';
export { SessionEvents, type SessionEvent } from './events.ts';
export { SessionError } from './errors.ts';
export { HostTensor, type Dtype } from './codec.ts';
export { listSessions, readConnectionFile, type SessionConnection, type SessionListing } from './connection-file.ts';
export { orzHome, sessionDir, DEFAULT_SESSION } from './paths.ts';
export type { HandleInfo, HandleKind } from './registry.ts';
export type { SessionStatus } from './service.ts';
export type { WorkerInfo, ReplicaInfo } from './workers/protocol.ts';
