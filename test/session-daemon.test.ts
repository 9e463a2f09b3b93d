// Persistent sessions on real processes and sockets: a daemon spawned in the background, clients in this process
// and in subprocesses, kill -9 and resume through the `orz session` CLI, hostile frames on the real socket.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Dealer } from 'zeromq';
import { inProcessReward, RewardError, type Sample } from '../sdk/reward/index.ts';
import { Session } from '../sdk/session/session.ts';
import { RemoteTrainer } from '../sdk/session/remote-handles.ts';
import { HostTensor } from '../sdk/session/codec.ts';
import { SessionError } from '../sdk/session/errors.ts';
import { processAlive, readConnectionFile, type SessionConnection } from '../sdk/session/connection-file.ts';
import { decodeMessage, encodeMessage, PROTOCOL, Signer } from '../sdk/session/wire.ts';
import { sessionDir, sessionFiles } from '../sdk/session/paths.ts';
import { writeTinyRunProject } from './support/tiny-run-project.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const ORZ = join(REPO, 'bin', 'orz.js');
const NAME = 's1';
const MAX_MESSAGE = 1 << 20;
const TINY = {
  template: 'mini', promptsPerIteration: 2, samplesPerPrompt: 2, generation: { maxNewTokens: 4 }, criticUpdateSteps: 2,
  evalEvery: 0, policyLr: 1e-3, criticLr: 1e-3, warmupSteps: 0, kl: { log: false }, saveRollouts: false,
};

let home = '';
let proj = '';
const children: ChildProcess[] = [];
// Everything with a socket is closed in after(), even when a test fails half way: open sockets keep node alive.
const opened: { close(): unknown }[] = [];
const track = <T extends { close(): unknown }>(x: T): T => (opened.push(x), x);
const attach = async (target: string) => track(await Session.attach(target));

function orz(args: string[]) {
  return spawnSync(process.execPath, [ORZ, ...args], { cwd: REPO, encoding: 'utf8', env: process.env, timeout: 120_000 });
}

async function connection(name = NAME): Promise<SessionConnection> {
  return readConnectionFile(sessionFiles(sessionDir(name)).connection);
}

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'orz-session-'));
  process.env['ORZ_HOME'] = join(home, 'orz');
  process.env['ORZ_BACKEND'] = 'cpu';
  proj = join(home, 'proj');
  await writeTinyRunProject(proj, { problemSeed: 1, problems: 12, trainProblems: 8, modelSeed: 1, iterations: 2, trainer: TINY });
});

after(async () => {
  for (const o of opened) {
    try {
      await o.close();
    } catch {
      // already closed
    }
  }
  for (const c of children) c.kill('SIGKILL');
  try {
    const c = await connection();
    if (processAlive(c.pid)) process.kill(c.pid, 'SIGKILL');
  } catch {
    // no session left
  }
  await rm(home, { recursive: true, force: true });
});

/** A client in its own process: JSON lines on stdout. */
function clientProcess(body: string): { child: ChildProcess; lines: any[]; next: (pred: (l: any) => boolean, ms?: number) => Promise<any> } {
  const file = join(home, `client-${children.length}.mts`);
  const src = `import { Session } from ${JSON.stringify(new URL('../sdk/session/index.ts', import.meta.url).href)};\n` +
    `const out = (x) => process.stdout.write(JSON.stringify(x) + '\\n');\n${body}\n`;
  const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: REPO, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const lines: any[] = [];
  const waiters: { pred: (l: any) => boolean; resolve: (l: any) => void }[] = [];
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const v = JSON.parse(line);
    lines.push(v);
    for (const w of [...waiters]) if (w.pred(v)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(v); }
  });
  const started = writeFile(file, src);
  void started;
  return {
    child, lines,
    next: (pred, ms = 60_000) => new Promise((resolve, reject) => {
      const found = lines.find(pred);
      if (found) return resolve(found);
      const timer = setTimeout(() => reject(new Error(`client process: no matching line in ${ms} ms; stderr:\n${stderr}`)), ms);
      waiters.push({ pred, resolve: (l) => { clearTimeout(timer); resolve(l); } });
      child.on('exit', (code) => { if (lines.find(pred) === undefined) { clearTimeout(timer); reject(new Error(`client process exited (${code}); stderr:\n${stderr}`)); } });
    }),
  };
}

test('a daemon in the background: attach, run an iteration, kill the client, re-attach and find the same state; two clients at once', async () => {
  const s = track(await Session.local({ name: NAME, backend: 'cpu', checkpointEvery: 1, maxMessageSize: MAX_MESSAGE }));
  const conn = await connection();
  assert.equal(conn.pid, (await s.ping()).pid);
  assert.match(conn.address, /^tcp:\/\/127\.0\.0\.1:\d+$/, 'loopback by default');
  assert.equal((await import('node:fs')).statSync(sessionFiles(sessionDir(NAME)).connection).mode & 0o777, 0o600);
  const reused = track(await Session.local({ name: NAME }));
  assert.equal((await reused.ping()).pid, conn.pid, 'Session.local reuses the running daemon');
  await reused.close();

  // Client A (its own process) creates a trainer, runs an iteration, reports, then watches.
  const a = clientProcess(`
    const s = await Session.attach(${JSON.stringify(NAME)});
    const tr = await s.trainerFromRunConfig(${JSON.stringify(join(proj, 'cfg.json'))}, { name: 'mini' });
    await tr.step();
    out({ kind: 'state', iteration: await tr.iteration(), digest: await tr.digest(), metrics: (await tr.metrics()).rows });
    s.events.on('iteration', (d) => out({ kind: 'event', iteration: d.row.iteration, checkpointed: d.checkpointed }));
    setInterval(async () => out({ kind: 'metrics', rows: (await tr.metrics()).rows.length }), 100);
  `);
  const state = await a.next((l) => l.kind === 'state', 90_000);
  assert.equal(state.iteration, 1);

  // This process is a second client: it sees exactly what A built.
  const mini = await s.get<RemoteTrainer>('mini');
  assert.ok(mini instanceof RemoteTrainer);
  assert.equal(await mini.iteration(), 1);
  assert.equal(await mini.digest(), state.digest);
  assert.deepEqual((await mini.metrics()).rows, state.metrics);

  // It drives while A watches events and reads metrics.
  const seen: number[] = [];
  const rows = await mini.run({ iterations: 4, log: null, onIteration: (r) => seen.push(r['iteration'] as number) });
  assert.deepEqual(seen, [2, 3, 4]);
  assert.deepEqual(rows.map((r) => r['iteration']), [2, 3, 4]);
  await a.next((l) => l.kind === 'event' && l.iteration === 4);
  assert.deepEqual(a.lines.filter((l) => l.kind === 'event').map((l) => [l.iteration, l.checkpointed]), [[2, true], [3, true], [4, true]]);
  await a.next((l) => l.kind === 'metrics' && l.rows === 4);
  assert.ok(a.lines.filter((l) => l.kind === 'metrics').length >= 2, 'the watcher read metrics while the run went on');

  const digest = await mini.digest();
  const metrics = (await mini.metrics()).rows;
  a.child.kill('SIGKILL');
  await new Promise((r) => a.child.once('exit', r));
  await s.close();

  const again = await attach(NAME);
  const same = await again.get<RemoteTrainer>('mini');
  assert.equal(await same.iteration(), 4);
  assert.equal(await same.digest(), digest);
  assert.deepEqual((await same.metrics()).rows, metrics);
  const status = orz(['session', 'status', NAME]);
  assert.equal(status.status, 0, status.stderr);
  assert.match(status.stdout, /running, pid \d+, backend cpu/);
  assert.match(status.stdout, /trainer-\d+ "mini"\s+trainer\s+iteration 4 \(checkpoint 4\)/);
  await again.close();
});

test('bad keys, garbage frames, replays and oversized messages are rejected while a good client keeps working', async () => {
  const conn = await connection();
  const good = await attach(NAME);
  const mini = await good.get<RemoteTrainer>('mini');
  await assert.rejects(Session.attach({ ...conn, key: Signer.newKey() }), (e: Error) => e instanceof SessionError && e.code === 'unauthenticated' && /rejected our signature/.test(e.message));

  const raw = track(new Dealer({ receiveTimeout: 5000 }));
  raw.connect(conn.address);
  const signer = new Signer(conn.key);
  const exchange = async (frames: (Buffer | string)[]) => {
    await raw.send(frames);
    const reply = decodeMessage((await raw.receive()) as Buffer[], signer, { allowUnsigned: true });
    assert.equal(reply.header.type, 'reply');
    return reply;
  };
  const request = (payload: object, buffers: Buffer[] = [], s: Signer = signer) => encodeMessage(s, 'request', payload, buffers);
  const code = (r: { payload: Record<string, unknown> }) => (r.payload['error'] as { code?: string }).code;

  assert.equal(code(await exchange(['hello'])), 'malformed');
  assert.equal(code(await exchange(['<IDS|MSG>', 'x', '{}', '{}'])), 'protocol');
  const forged = await exchange(request({ callId: 'f1', op: 'session.ping' }, [], new Signer(Signer.newKey())));
  assert.equal(code(forged), 'unauthenticated');
  assert.equal(forged.signed, false, 'the answer to an unauthenticated message is unsigned');
  assert.equal(forged.payload['callId'], 'f1');
  assert.equal(code(await exchange([PROTOCOL, signer.sign([Buffer.from('{'), Buffer.from('}')]), '{', '}'])), 'malformed');

  const ping = request({ callId: 'p1', op: 'session.ping' });
  const ok = await exchange(ping);
  assert.equal(ok.payload['ok'], true);
  assert.equal(ok.signed, true);
  assert.equal(code(await exchange(ping)), 'replay');

  assert.equal(code(await exchange(request({ callId: 'u1', op: 'process.exit' }))), 'unknown_op');
  const badArg = await exchange(request({ callId: 'b1', op: 'trainer.run', handle: 'mini', args: { iterations: -1 } }));
  assert.match((badArg.payload['error'] as { message: string }).message, /trainer\.run: argument "iterations" must be an integer >= 0, got -1/);
  const badValue = await exchange(request({ callId: 'b2', op: 'trainer.score', handle: 'mini', args: { batch: { $orz: 'rollouts', buffer: 3 } } }));
  assert.equal(code(badValue), 'malformed');
  assert.match((badValue.payload['error'] as { message: string }).message, /arguments\.batch: buffer index 3/);
  const tooLarge = await exchange(request({ callId: 'big1', op: 'session.ping' }, [Buffer.alloc(MAX_MESSAGE / 2), Buffer.alloc(MAX_MESSAGE / 2)]));
  assert.equal(code(tooLarge), 'too_large');
  assert.equal(tooLarge.payload['callId'], 'big1');

  // One frame over twice the limit: zeromq drops it and disconnects that peer; nothing reaches the session.
  await raw.send(request({ callId: 'big2', op: 'session.ping' }, [Buffer.alloc(2 * MAX_MESSAGE + 1)]));
  raw.receiveTimeout = 1500;
  await assert.rejects(raw.receive(), /timed out|EAGAIN|Socket timed out/i);
  raw.close();

  assert.equal((await good.ping()).pid, conn.pid);
  const before = await mini.iteration();
  assert.ok(processAlive(conn.pid));
  const log = await readFile(sessionFiles(sessionDir(NAME)).log, 'utf8');
  assert.match(log, /rejected a message from [0-9a-f]+: unauthenticated: bad signature/);
  assert.equal(await mini.iteration(), before);
  await good.close();
});

test('a RewardFn in the controller scores the session\'s rollouts; its error is a RewardError and consumes no iteration', async () => {
  const s = await attach(NAME);
  const model = await s.loadModel(join(proj, 'base'));
  const tok = await s.loadTokenizer(join(proj, 'base'));
  const data = await s.readDataset(join(proj, 'train.json'), { name: 'arith' });
  assert.equal(await data.length(), 8);
  const scored: string[] = [];
  // In process: these rewards record what they saw in this file's arrays (a worker thread could not).
  const byLength = inProcessReward((x: Sample) => { scored.push(x.response); return x.response.length % 2; });
  const tr = await s.trainer({ policy: model, tokenizer: tok, dataset: data, reward: byLength, config: { ...TINY, seed: 5 }, name: 'ctl' });
  const row = await tr.step();
  assert.equal(row.iteration, 1);
  const batch = (await tr.lastBatch())!;
  assert.deepEqual(batch.samples().map((x) => x.reward), batch.samples().map((x) => x.response.length % 2));
  assert.deepEqual(scored, batch.samples().map((x) => x.response));
  assert.equal(await model.digest(), await tr.digest(), 'the trainer trains the model handle it was built on');
  const w = await model.weight('model.embed_tokens.weight');
  assert.ok(w instanceof HostTensor);
  assert.deepEqual(w.shape, (await model.info()).weights.find((x) => x.name === 'model.embed_tokens.weight')!.shape);

  // The user's function fails on sample 1: the step fails with a RewardError naming it, and nothing is consumed.
  const failedPrompts: string[] = [];
  tr.setReward(inProcessReward((x: Sample) => {
    failedPrompts.push(x.prompt);
    if (x['promptIndex'] === 0 && x['sampleIndex'] === 1) throw new Error('boom');
    return 0;
  }));
  await assert.rejects(tr.step(), (e: Error) => e instanceof RewardError && e.sampleIndex === 1 && /boom/.test(e.message));
  const info = await tr.info();
  assert.equal(info.iteration, 1);
  assert.equal(info.dataCursor, 2);
  tr.setReward(byLength);
  await tr.step();
  assert.deepEqual([...new Set((await tr.lastBatch())!.samples().map((x) => x.prompt))], [...new Set(failedPrompts)], 'the retried iteration draws the same prompts');

  // Re-attached without the function, the session cannot score; get(name, {reward}) re-arms it.
  const other = await attach(NAME);
  await assert.rejects((await other.get<RemoteTrainer>('ctl')).step(), /no reward function for trainer-\d+/);
  const rearmed = await other.get<RemoteTrainer>('ctl', { reward: byLength });
  assert.equal((await rearmed.step()).iteration, 3);

  // A cancelled run stops at an iteration boundary and resolves with the rows done; the queue goes on.
  const ac = new AbortController();
  const rows = await rearmed.run({ iterations: 100, log: null, signal: ac.signal, onIteration: () => ac.abort() });
  assert.ok(rows.length >= 1 && rows.length < 5, `${rows.length} rows`);
  const engine = await other.rolloutEngine(model, tok);
  const progress: number[] = [];
  const gen = await engine.generate(['Ann has 3 pens.'], { n: 3, maxNewTokens: 3, seed: 1 }, { onProgress: (p) => progress.push(p.finished) });
  assert.equal(gen.length, 3);
  assert.deepEqual(progress, [3]);
  await assert.rejects(engine.generate(['x'], { temprature: 1 } as never), /argument "params\.temprature" is not a generation parameter/);
  await other.close();
  await s.close();
});

test('kill -9 mid-run: `orz session start --resume` restores the last checkpoint, loses no completed iteration, and the run continues exactly', async () => {
  const s = await attach(NAME);
  const mini = await s.get<RemoteTrainer>('mini');
  const pid = (await s.ping()).pid;
  let lastSeen = 0;
  s.events.on('iteration', (d) => { if (d.handle === mini.id) lastSeen = Math.max(lastSeen, d.row.iteration); });
  const running = mini.run({ iterations: 10, log: null }).then(() => null, (e: Error) => e);
  await s.events.next('iteration', (d) => d.handle === mini.id && d.row.iteration >= 6);
  process.kill(pid, 'SIGKILL');
  const err = await running;
  assert.ok(err instanceof SessionError && err.code === 'disconnected', `the pending run fails as disconnected, got ${err}`);
  await s.close();
  assert.ok(lastSeen >= 6);

  const r = orz(['session', 'start', '--resume', NAME]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`session ${NAME} started: pid \\d+`));
  const s2 = await attach(NAME);
  assert.notEqual((await s2.ping()).pid, pid);
  const back = await s2.get<RemoteTrainer>('mini');
  const it = await back.iteration();
  assert.ok(it >= lastSeen, `resumed at ${it}, but iteration ${lastSeen} had completed`);
  assert.deepEqual((await back.metrics()).rows.map((x) => x['iteration']), Array.from({ length: it }, (_, i) => i + 1));
  await back.run({ iterations: 8, log: null });
  const rows = (await back.metrics()).rows;
  assert.deepEqual(rows.map((x) => x['iteration']), [1, 2, 3, 4, 5, 6, 7, 8]);

  // The same run without a crash, in the same session: same weights, same per-iteration numbers.
  const ref = await s2.trainerFromRunConfig(join(proj, 'cfg.json'), { name: 'ref' });
  await ref.run({ iterations: 8, log: null });
  assert.equal(await back.digest(), await ref.digest());
  const refRows = (await ref.metrics()).rows;
  for (const k of ['reward/mean', 'policy/loss', 'critic/loss']) assert.deepEqual(rows.map((x) => x[k]), refRows.map((x) => x[k]), k);
  await s2.close();

  const stop = orz(['session', 'stop', NAME]);
  assert.equal(stop.status, 0, stop.stderr);
  const c = await connection();
  assert.ok(!processAlive(c.pid));
  assert.match(orz(['session', 'list']).stdout, new RegExp(`${NAME}\\s+stopped`));
  await assert.rejects(Session.attach(NAME), /not running .* orz session start --resume s1/);
});
