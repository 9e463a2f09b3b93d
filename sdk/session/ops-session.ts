// Operations on the session itself: creating handles from recipes, finding, listing and releasing them,
// status and shutdown.

import { handleRef, oneOf, int, optional, plainObject, str } from './args.ts';
import { ORZ_VERSION } from './connection-file.ts';
import { sessionOp, type Operation } from './op.ts';
import { PROTOCOL } from './wire.ts';

const name = () => optional(str({ maxLength: 64 }));
const path = () => str({ maxLength: 4096 });

export const SESSION_OPERATIONS: Record<string, Operation> = {
  'session.ping': sessionOp({}, ({ service }) => ({
    name: service.settings.name, pid: process.pid, protocol: PROTOCOL, version: ORZ_VERSION, time: Date.now(),
  })),
  'session.status': sessionOp({}, ({ service }) => service.status()),
  'session.handles': sessionOp({}, ({ service }) => service.registry.entries().map((e) => service.info(e))),
  'session.get': sessionOp({ ref: handleRef() }, ({ service }, a) => service.info(service.registry.get(a.ref))),

  'session.loadModel': sessionOp({ path: path(), name: name() }, ({ service }, a) =>
    service.createHandle('model', a.name, { kind: 'model', path: a.path })),
  'session.loadTokenizer': sessionOp({ path: path(), name: name() }, ({ service }, a) =>
    service.createHandle('tokenizer', a.name, { kind: 'tokenizer', path: a.path })),
  'session.readDataset': sessionOp({ path: path(), name: name() }, ({ service }, a) =>
    service.createHandle('dataset', a.name, { kind: 'dataset', path: a.path })),

  'session.rolloutEngine': sessionOp(
    { model: handleRef(), tokenizer: handleRef(), maxBatchRows: optional(int({ min: 1, max: 1 << 16 })), name: name() },
    ({ service }, a) => service.createHandle('engine', a.name, {
      kind: 'engine', model: service.registry.get(a.model, 'model').id, tokenizer: service.registry.get(a.tokenizer, 'tokenizer').id,
      ...(a.maxBatchRows ? { maxBatchRows: a.maxBatchRows } : {}),
    }),
  ),

  'session.trainer': sessionOp(
    {
      policy: handleRef(), tokenizer: handleRef(), dataset: handleRef(), evalDataset: optional(handleRef()),
      reward: oneOf('math', 'controller'), config: optional(plainObject()), name: name(),
    },
    ({ service }, a) => {
      const r = service.registry;
      return service.createHandle('trainer', a.name, {
        kind: 'trainer', from: 'handles',
        policy: r.get(a.policy, 'model').id, tokenizer: r.get(a.tokenizer, 'tokenizer').id, dataset: r.get(a.dataset, 'dataset').id,
        ...(a.evalDataset ? { evalDataset: r.get(a.evalDataset, 'dataset').id } : {}),
        reward: a.reward, config: a.config ?? {},
      });
    },
  ),
  'session.trainerFromRunConfig': sessionOp(
    { path: path(), reward: optional(oneOf('math', 'controller')), name: name() },
    ({ service }, a) => service.createHandle('trainer', a.name, { kind: 'trainer', from: 'runConfig', path: a.path, reward: a.reward ?? 'math' }),
  ),

  'session.release': sessionOp({ handle: handleRef() }, async ({ service }, a) => {
    await service.releaseHandle(a.handle);
    return null;
  }),
  /** Replies first; the transport then stops the session (checkpointing every trainer) and exits. */
  'session.shutdown': sessionOp({}, ({ service }) => {
    service.requestShutdown();
    return { stopping: true };
  }),
};
