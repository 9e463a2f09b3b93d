// Session edge cases on a real daemon, sockets and files: a reward set where the session would never call it,
// messages over the size limit, bad connection files, a start that fails, and a reward that fails on one sample.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Dealer } from 'zeromq';
import { writeTinyRunProject } from './support/tiny-run-project.ts';
import { RewardError, type Sample } from '../sdk/reward/index.ts';
import { Session } from '../sdk/session/session.ts';
import type { RemoteTrainer } from '../sdk/session/remote-handles.ts';
import { HostTensor } from '../sdk/session/codec.ts';
import { SessionError } from '../sdk/session/errors.ts';
import { processAlive, readConnectionFile } from '../sdk/session/connection-file.ts';
import { decodeMessage, encodeMessage, Signer } from '../sdk/session/wire.ts';
import { sessionDir, sessionFiles } from '../sdk/session/paths.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const ORZ = join(REPO, 'bin', 'orz.js');
const NAME = 'edges';
const MAX_MESSAGE = 1 << 20;
const TINY = {
  template: 'mini', promptsPerIteration: 4, samplesPerPrompt: 2, generation: { maxNewTokens: 3 }, criticUpdateSteps: 1,
  evalEvery: 0, warmupSteps: 0, kl: { log: false }, saveRollouts: false,
};

let home = '';
let proj = '';
const opened: { close(): unknown }[] = [];
const track = <T extends { close(): unknown }>(x: T): T => (opened.push(x), x);
const files = () => sessionFiles(sessionDir(NAME));
/** The test daemon: started by the first test that needs it, reused by the others. */
const local = async () => track(await Session.local({ name: NAME, backend: 'cpu', maxMessageSize: MAX_MESSAGE }));

function orz(args: string[]) {
  return spawnSync(process.execPath, [ORZ, ...args], { cwd: REPO, encoding: 'utf8', env: process.env, timeout: 120_000 });
}

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'orz-session-edges-'));
  process.env['ORZ_HOME'] = join(home, 'orz');
  process.env['ORZ_BACKEND'] = 'cpu';
  proj = join(home, 'proj');
  await writeTinyRunProject(proj, { problemSeed: 2, problems: 8, vocabSize: 280, modelSeed: 1, iterations: 1, trainer: TINY });
});

after(async () => {
  for (const o of opened) {
    try {
      await o.close();
    } catch {
      // already closed
    }
  }
  try {
    const c = await readConnectionFile(files().connection);
    if (processAlive(c.pid)) process.kill(c.pid, 'SIGKILL');
  } catch {
    // no session left
  }
  await rm(home, { recursive: true, force: true });
});

test('setReward refuses, with the reason, on a trainer whose reward runs in the session; it arms a controller trainer', async () => {
  const s = await local();
  const math = await s.trainerFromRunConfig(join(proj, 'cfg.json'), { name: 'math' });
  const why = /setReward: trainer trainer-\d+ \("math"\) scores with the session's built-in math reward, so a function set here would never be called; create the trainer with the function instead/;
  assert.throws(() => math.setReward(() => 1), why);
  await assert.rejects(s.get('math', { reward: () => 1 }), why);
  const ctl = await s.trainerFromRunConfig(join(proj, 'cfg.json'), { name: 'ctl', reward: () => 0 });
  assert.equal((await s.get<RemoteTrainer>('ctl')).setReward(() => 1).reward, 'controller');
  void ctl;
});

test('a controller reward failing on one sample is reported once, with that sample\'s index', async () => {
  const s = await local();
  const ctl = await s.trainerFromRunConfig(join(proj, 'cfg.json'), {
    name: 'boom', reward: (x: Sample) => { if (x['promptIndex'] === 1 && x['sampleIndex'] === 1) throw new Error('boom'); return 0; },
  });
  await assert.rejects(ctl.step(), (e: Error) => {
    assert.ok(e instanceof RewardError, `${e}`);
    assert.equal(e.sampleIndex, 3); // prompt 1, sample 1 of 2
    assert.match(e.message, /threw: boom on sample 3 \(prompt /);
    assert.equal(e.message.split('boom').length, 2, `reported more than once: ${e.message}`);
    assert.equal(e.message.match(/on sample/g)?.length, 1, `names more than one sample: ${e.message}`);
    assert.doesNotMatch(e.message, /whole batch/);
    return true;
  });
  assert.equal(await ctl.iteration(), 0);
});

test('a message over the limit is dropped, logged with its size and the limit, and answered; the client refuses to send one', async () => {
  await local();
  const c = await readConnectionFile(files().connection);
  const raw = track(new Dealer({ receiveTimeout: 10_000 }));
  raw.connect(c.address);
  const signer = new Signer(c.key);
  const frames = encodeMessage(signer, 'request', { callId: 'big', op: 'session.ping' }, [Buffer.alloc(MAX_MESSAGE + MAX_MESSAGE / 2)]);
  const size = frames.reduce((a, f) => a + f.length, 0);
  await raw.send(frames);
  const reply = decodeMessage((await raw.receive()) as Buffer[], signer);
  assert.equal(reply.payload['callId'], 'big');
  assert.equal((reply.payload['error'] as { code: string }).code, 'too_large');
  raw.close();
  const log = await readFile(files().log, 'utf8');
  assert.match(log, new RegExp(`dropped a message from [0-9a-f]+: too_large: message of ${size} bytes exceeds the limit of ${MAX_MESSAGE} bytes`));

  assert.equal(c.maxMessageSize, MAX_MESSAGE, 'the connection file tells clients the limit');
  const s = await local();
  const big = new HostTensor(new Float32Array(MAX_MESSAGE / 4 + 1), [MAX_MESSAGE / 4 + 1], 'float32');
  await assert.rejects(s.call('session.ping', null, { big }), (e: Error) => e instanceof SessionError && e.code === 'too_large' &&
    new RegExp(`session\\.ping: the request is \\d+ bytes, over session "${NAME}"'s limit of ${MAX_MESSAGE} bytes \\(connection file ${files().connection}\\); nothing was sent`).test(e.message));
  assert.equal((await s.ping()).pid, c.pid);
});

test('a bad key, a wrong key and a session that does not answer: each error names the connection file', async () => {
  await local();
  const c = await readConnectionFile(files().connection);
  const write = async (name: string, fields: object) => {
    const path = join(home, name);
    await writeFile(path, JSON.stringify({ ...c, ...fields }));
    return path;
  };
  const short = await write('short-key.json', { key: 'abc' });
  await assert.rejects(Session.attach(short), new RegExp(`connection file ${short}: "key" has 3 characters, a session key has at least 16`));
  const wrong = await write('wrong-key.json', { key: Signer.newKey() });
  await assert.rejects(Session.attach(wrong), (e: Error) => e instanceof SessionError && e.code === 'unauthenticated' && e.message.includes(`stale connection file ${wrong}?`));
  const port = await new Promise<number>((resolve) => { const srv = createServer(); srv.listen(0, '127.0.0.1', () => { const p = (srv.address() as { port: number }).port; srv.close(() => resolve(p)); }); });
  const silent = await write('silent.json', { address: `tcp://127.0.0.1:${port}` });
  await assert.rejects(Session.attach(silent, { timeoutMs: 300 }), new RegExp(`did not answer within 0\\.3 s \\(pid ${c.pid}, connection file ${silent}\\)`));
});

test('`orz session start` that fails prints its reason first, without earlier runs\' log lines', async () => {
  const name = 'edges-bad';
  const dir = sessionDir(name);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(sessionFiles(dir).log, Array.from({ length: 20 }, (_, i) => `stale line ${i} from an earlier run\n`).join(''));
  const busy = createServer();
  const port = await new Promise<number>((resolve) => busy.listen(0, '127.0.0.1', () => resolve((busy.address() as { port: number }).port)));
  try {
    const r = orz(['session', 'start', '--name', name, '--backend', 'cpu', '--listen', `tcp://127.0.0.1:${port}`]);
    assert.notEqual(r.status, 0);
    const first = r.stderr.split('\n')[0]!;
    assert.match(first, new RegExp(`^orz session start: session "${name}" did not start \\(exit 1\\): cannot bind tcp://127\\.0\\.0\\.1:${port}: `), r.stderr);
    assert.doesNotMatch(r.stderr, /stale line/);
    assert.ok(r.stderr.includes(sessionFiles(dir).log), 'names the log file');
  } finally {
    busy.close();
  }
});
