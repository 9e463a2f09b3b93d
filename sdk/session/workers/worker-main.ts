// A rollout worker process (see protocol.ts): started by the session with `node --import tsx worker-main.ts`,
// it reads its bootstrap line from stdin, brings up the session's tensor backend, connects to the session and
// serves requests until its stdin closes. Every message is checked (size, signature, replay) before it is read,
// and a bad one is logged and dropped: nothing received can crash the worker or run code.

import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { createInterface } from 'node:readline';
import { Dealer } from 'zeromq';
import { decodeValue, encodeValue } from '../codec.ts';
import { errorToWire } from '../errors.ts';
import { SendQueue } from '../send-queue.ts';
import { decodeMessage, encodeMessage, ReplayGuard, Signer, WireError, type MessageType, type WireMessage } from '../wire.ts';
import { slurmStepFromEnv } from '../slurm.ts';
import type { WorkerBootstrap, WorkerReady } from './protocol.ts';
import { WorkerState } from './worker-ops.ts';

const log = (line: string) => process.stderr.write(`${line}\n`);

/** The first stdin line; afterwards the end of stdin means the session is gone. */
function readBootstrap(): Promise<WorkerBootstrap> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: process.stdin });
    let got = false;
    lines.once('line', (line) => {
      got = true;
      try {
        const b = JSON.parse(line) as Partial<WorkerBootstrap>;
        if (typeof b.address !== 'string' || (typeof b.key !== 'string' && typeof b.keyFile !== 'string') || !Number.isInteger(b.worker)
          || !Number.isInteger(b.start) || typeof b.backend !== 'string' || !Number.isInteger(b.maxMessageSize)) {
          throw new Error('expected {address, key or keyFile, worker, start, backend, maxMessageSize}');
        }
        resolve(b as WorkerBootstrap);
      } catch (e) {
        reject(new Error(`bad bootstrap line on stdin: ${(e as Error).message}`));
      }
    });
    lines.on('close', () => {
      if (!got) reject(new Error('stdin closed before the bootstrap line'));
      else process.exit(0); // the session closed our stdin (or died): leave with it
    });
  });
}

/** The session key: from the bootstrap line, or from the 0600 file it names (Slurm steps). */
async function sessionKey(boot: WorkerBootstrap): Promise<string> {
  if (boot.key) return boot.key;
  const path = boot.keyFile!;
  let key: unknown;
  try {
    key = (JSON.parse(await readFile(path, 'utf8')) as { key?: unknown }).key;
  } catch (e) {
    throw new Error(`cannot read the session key from ${path} on ${hostname()} (is the session directory on a filesystem this node shares?): ${(e as Error).message}`);
  }
  if (typeof key !== 'string' || !key) throw new Error(`${path} holds no "key" string`);
  return key;
}

async function main(): Promise<void> {
  const boot = await readBootstrap();
  const key = await sessionKey(boot);
  const { selectBackend } = await import('../../engine/backend.ts');
  const backend = (await selectBackend(boot.backend)).name;
  const state = new WorkerState(boot.worker, backend);
  const signer = new Signer(key);
  const guard = new ReplayGuard();
  const dealer = new Dealer({ maxMessageSize: boot.maxMessageSize, linger: 0 });
  const out = new SendQueue(dealer, (e) => log(`send failed: ${e.message}`));
  const send = (type: MessageType, payload: object, buffers: Uint8Array[] = []) => out.push(encodeMessage(signer, type, payload, buffers));
  const running = new Map<string, AbortController>();

  const serve = async (msg: WireMessage): Promise<void> => {
    const p = msg.payload;
    const callId = typeof p['callId'] === 'string' && p['callId'].length <= 128 ? p['callId'] : null;
    const op = typeof p['op'] === 'string' ? p['op'] : null;
    if (!callId || !op) {
      await send('reply', { callId, ok: false, error: errorToWire(new Error('a request needs "callId" and "op" strings'), 'malformed') });
      return;
    }
    const controller = new AbortController();
    running.set(callId, controller);
    try {
      const args = decodeValue(p['args'] ?? {}, msg.buffers, 'arguments');
      const value = await state.run(op, args, {
        signal: controller.signal,
        progress: (kind, data) => {
          const { json, buffers } = encodeValue(data);
          void send('progress', { callId, kind, data: json }, buffers);
        },
      });
      const { json, buffers } = encodeValue(value);
      await send('reply', { callId, ok: true, value: json }, buffers);
    } catch (e) {
      await send('reply', { callId, ok: false, error: errorToWire(e) });
    } finally {
      running.delete(callId);
    }
  };

  dealer.connect(boot.address);
  const slurm = slurmStepFromEnv();
  const ready: WorkerReady = { worker: boot.worker, start: boot.start, pid: process.pid, host: hostname(), backend, ...(slurm ? { slurm } : {}) };
  await send('event', { event: 'ready', data: ready });
  for await (const frames of dealer) {
    let msg: WireMessage;
    try {
      msg = decodeMessage(frames as Buffer[], signer, { maxBytes: boot.maxMessageSize, replay: guard });
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
      log(`rejected a message: ${e.code}: ${e.message}`);
      continue;
    }
    if (msg.header.type === 'request') {
      void serve(msg).catch((e: unknown) => log(`internal error: ${(e as Error).stack ?? e}`));
    } else if (msg.header.type === 'cancel') {
      const id = msg.payload['callId'];
      if (typeof id === 'string') running.get(id)?.abort(Object.assign(new Error('generation cancelled by the session'), { name: 'AbortError' }));
    } else {
      log(`ignored a ${msg.header.type} message`);
    }
  }
}

main().catch((e: unknown) => {
  log(`rollout worker failed: ${(e as Error).stack ?? e}`);
  process.exit(1);
});
