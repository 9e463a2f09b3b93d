// Rollout workers on real processes: a daemon started with two workers generates exactly the batches an in-process
// session generates for the same seed, broadcasts weights after each update (each worker's digest equals the
// trainer's), survives a worker killed mid-generate (the iteration fails clearly and is not consumed; the retry
// matches), and takes its workers with it when it is killed. The worker protocol is checked on its own too.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Dealer } from 'zeromq';
import { loadModel } from '../sdk/model/index.ts';
import { loadTokenizer } from '../sdk/tokenizer/index.ts';
import { RolloutEngine } from '../sdk/rollout/engine.ts';
import type { RolloutBatch } from '../sdk/rollout/rollout-batch.ts';
import { Session } from '../sdk/session/session.ts';
import type { RemoteTrainer } from '../sdk/session/remote-handles.ts';
import { HostTensor } from '../sdk/session/codec.ts';
import { weightsDigest } from '../sdk/session/digest.ts';
import { processAlive, readConnectionFile } from '../sdk/session/connection-file.ts';
import { sessionDir, sessionFiles } from '../sdk/session/paths.ts';
import { encodeMessage, Signer } from '../sdk/session/wire.ts';
import { WorkerPool } from '../sdk/session/workers/worker-pool.ts';
import { WorkerEngine } from '../sdk/session/workers/worker-engine.ts';
import { writeTinyRunProject } from './support/tiny-run-project.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const ORZ = join(REPO, 'bin', 'orz.js');

let home = '';
let proj = '';
const opened: { close(): unknown }[] = [];
const track = <T extends { close(): unknown }>(x: T): T => (opened.push(x), x);
const pidsToKill: number[] = [];

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'orz-workers-'));
  process.env['ORZ_HOME'] = join(home, 'orz');
  process.env['ORZ_BACKEND'] = 'cpu';
  proj = join(home, 'proj');
  await writeTinyRunProject(proj);
});

after(async () => {
  for (const o of opened.reverse()) {
    try {
      await o.close();
    } catch {
      // already closed
    }
  }
  for (const pid of pidsToKill) if (processAlive(pid)) process.kill(pid, 'SIGKILL');
  await rm(home, { recursive: true, force: true });
});

const rows = (b: RolloutBatch | null) => b!.samples();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('per-row sampling streams: a batch generated in slices (firstPromptIndex) or in small chunks equals the whole batch', async () => {
  const model = await loadModel(join(proj, 'base'));
  const tok = await loadTokenizer(join(proj, 'base'));
  try {
    const prompts = ['1 + 2 =', 'what is 3 + 4', 'seven', '10 - 3 =', 'a much longer prompt about 5 + 5 ='];
    const params = { n: 3, maxNewTokens: 8, stop: [], seed: 11, temperature: 1 };
    const whole = await new RolloutEngine(model, tok).generate(prompts, params);
    const chunked = await new RolloutEngine(model, tok, { maxBatchRows: 4 }).generate(prompts, params);
    const engine = new RolloutEngine(model, tok);
    const a = await engine.generate(prompts.slice(0, 2), params);
    const b = await engine.generate(prompts.slice(2), params, { firstPromptIndex: 2 });
    assert.deepEqual(chunked.samples(), whole.samples());
    assert.deepEqual([...a.samples(), ...b.samples()], whole.samples());
    assert.deepEqual(b.samples().map((s) => s.promptIndex), [2, 2, 2, 3, 3, 3, 4, 4, 4]);
    await assert.rejects(engine.generate(prompts, params, { firstPromptIndex: -1 }), /firstPromptIndex must be an integer >= 0/);
    // any subset in any grouping (the eval harness's records grouped by response budget), by promptIndices
    const odd = await engine.generate([prompts[3]!, prompts[1]!], params, { promptIndices: [3, 1] });
    const byIndex = (i: number) => whole.samples().filter((s) => s.promptIndex === i);
    assert.deepEqual(odd.samples(), [...byIndex(3), ...byIndex(1)]);
    await assert.rejects(engine.generate(prompts.slice(0, 2), params, { promptIndices: [1, 1] }), /promptIndices has an index twice/);
    await assert.rejects(engine.generate(prompts.slice(0, 2), params, { promptIndices: [0] }), /one index per prompt \(2\), got 1/);
    await assert.rejects(engine.generate(prompts.slice(0, 1), params, { promptIndices: [0], firstPromptIndex: 0 }), /not both/);
  } finally {
    model.dispose();
  }
});

test('the worker protocol: load, versioned weights, refusal of stale weights, N = 1 equals in-process, garbage dropped', async () => {
  const logs: string[] = [];
  const key = Signer.newKey();
  const pool = track(await WorkerPool.start({ size: 1, key, backend: 'cpu', maxMessageSize: 1 << 24, log: (l) => logs.push(l) }));
  const [info] = pool.infos();
  assert.equal(info!.state, 'ready');
  pidsToKill.push(info!.pid!);
  const base = join(proj, 'base');
  await assert.rejects(pool.call(0, 'worker.generate', { policy: 'p', version: 1, prompts: [{ prompt: 'x' }], params: {}, firstPromptIndex: 0 }),
    (e: Error & { code?: string }) => e.code === 'no_replica' && /holds no replica of p/.test(e.message));
  await assert.rejects(pool.call(0, 'worker.exec', {}), /unknown worker operation "worker.exec"/);
  await assert.rejects(pool.call(0, 'worker.load', { policy: 'p', modelDir: 'relative/dir', tokenizerPath: base }), /must be an absolute path/);
  await pool.call(0, 'worker.load', { policy: 'p', modelDir: base, tokenizerPath: base });

  const model = await loadModel(base);
  const tok = await loadTokenizer(base);
  try {
    const names = [...model.weights.keys()].sort();
    const tensors = names.map((n) => new HostTensor(model.weights.get(n)!.dataSync() as Float32Array<ArrayBuffer>, [...model.weights.get(n)!.shape], 'float32'));
    await assert.rejects(pool.call(0, 'worker.weights', { policy: 'p', version: 1, names: names.slice(1), tensors: tensors.slice(1) }), /is missing/);
    const bad = tensors.map((t, i) => (i === 0 ? new HostTensor(new Float32Array(3), [3], 'float32') : t));
    await assert.rejects(pool.call(0, 'worker.weights', { policy: 'p', version: 1, names, tensors: bad }), /has shape \[3\]/);
    await pool.call(0, 'worker.weights', { policy: 'p', version: 1, names, tensors });
    await assert.rejects(pool.call(0, 'worker.weights', { policy: 'p', version: 1, names, tensors }), /not newer than the version held/);
    const gen = { policy: 'p', prompts: [{ prompt: '1 + 2 =', level: 1 }], params: { n: 2, maxNewTokens: 5, stop: [], seed: 3 }, firstPromptIndex: 4 };
    await assert.rejects(pool.call(0, 'worker.generate', { ...gen, version: 2 }),
      (e: Error & { code?: string }) => e.code === 'stale_weights' && /holds weights version 1 of p, the session asks for version 2/.test(e.message));
    const batch = (await pool.call(0, 'worker.generate', { ...gen, version: 1 })) as RolloutBatch;
    assert.deepEqual(batch.samples().map((s) => [s.promptIndex, s.sampleIndex, s['level']]), [[4, 0, 1], [4, 1, 1]]);
    const indexed = (await pool.call(0, 'worker.generate', { ...gen, version: 1, promptIndices: [9] })) as RolloutBatch;
    const local = await new RolloutEngine(model, tok).generate(gen.prompts, gen.params, { promptIndices: [9] });
    assert.deepEqual(indexed.samples().map((s) => [s.promptIndex, s.responseIds]), local.samples().map((s) => [s.promptIndex, s.responseIds]), 'promptIndices reach the worker');
    const d = (await pool.call(0, 'worker.digest', { policy: 'p' })) as { digest: string; version: number };
    assert.deepEqual(d, { policy: 'p', version: 1, digest: weightsDigest(model.weights) });

    // Garbage and forged messages on the internal socket are dropped; the worker keeps answering.
    const intruder = track(new Dealer({ linger: 0 }));
    intruder.connect(pool.address);
    await intruder.send([Buffer.from('garbage')]);
    await intruder.send(encodeMessage(new Signer('not-the-session-key-at-all'), 'reply', { callId: 'w0-1', ok: true, value: 1 }));
    await intruder.send(encodeMessage(new Signer(key), 'event', { event: 'ready', data: { worker: 0, pid: 1 } }));
    await sleep(300);
    assert.equal(logs.filter((l) => /dropped a message/.test(l)).length, 3, logs.join('\n'));

    // N = 1 through the engine the session uses equals the in-process engine.
    const engine = new WorkerEngine(pool, 'q', { modelDir: base, tokenizerPath: base }, model, tok, () => 0);
    const prompts = ['1 + 2 =', 'what is 3 + 4', { prompt: 'seven', groundTruth: '7', level: 2 }];
    const params = { n: 2, maxNewTokens: 6, stop: [], seed: 9 };
    const viaWorker = await engine.generate(prompts, params);
    assert.equal(engine.version, 1);
    assert.deepEqual(viaWorker.samples(), (await new RolloutEngine(model, tok).generate(prompts, params)).samples());
    const subset = await engine.generate([prompts[2]!, prompts[0]!], params, { promptIndices: [2, 0] });
    assert.deepEqual(subset.samples(), (await new RolloutEngine(model, tok).generate([prompts[2]!, prompts[0]!], params, { promptIndices: [2, 0] })).samples());
    // A prompt with no room under the 96-position context is skipped in the worker and listed in the session's batch.
    const withLong = [prompts[0]!, '1 + 2 + 3 + 4 = '.repeat(30), prompts[1]!];
    const skippedViaWorker = await engine.generate(withLong, params);
    const skippedLocal = await new RolloutEngine(model, tok).generate(withLong, params);
    assert.equal(skippedLocal.skipped.length, 1);
    assert.deepEqual(skippedViaWorker.skipped, skippedLocal.skipped, 'skipped prompts come back from the worker');
    assert.deepEqual(skippedViaWorker.samples(), skippedLocal.samples());
  } finally {
    model.dispose();
  }
  await pool.close();
  assert.equal(processAlive(info!.pid!), false, 'closing the pool ends the worker');
});

test('a session with 2 workers: same rollouts as in-process, weights broadcast after each update, a killed worker fails only its iteration', async () => {
  const cfg = join(proj, 'cfg.json');
  const ref = track(await Session.local({ inProcess: true, name: 'ref' }));
  const refT = await ref.trainerFromRunConfig(cfg, { name: 't' });
  const ws = track(await Session.local({ name: 'w2', workers: 2, backend: 'cpu' }));
  const daemon = await readConnectionFile(sessionFiles(sessionDir('w2')).connection);
  pidsToKill.push(daemon.pid); // killed in after() even if an assertion fails first (its workers then leave with it)
  const wT = await ws.trainerFromRunConfig(cfg, { name: 't' });

  // Same seed, same batch: generate() splits the 5 prompts 3 + 2 over the workers and joins them in order. Compared
  // exactly: on the cpu backend at these sizes a row's numbers do not depend on the rows beside it (on onnxruntime
  // log-probs may differ by float32 rounding, bench/session-workers.ts measures that), so the updates match too.
  assert.deepEqual(rows(await wT.generate()), rows(await refT.generate()));
  let workers = await ws.workers();
  assert.equal(workers.length, 2);
  for (const w of workers) {
    assert.equal(w.state, 'ready');
    assert.ok(processAlive(w.pid!));
    pidsToKill.push(w.pid!);
    assert.deepEqual(w.replicas, [{ policy: wT.id, version: 1 }]);
  }
  const status = spawnSync(process.execPath, [ORZ, 'session', 'status', 'w2'], { cwd: REPO, encoding: 'utf8', env: process.env, timeout: 60_000 });
  assert.match(status.stdout, /rollout worker 0: ready, pid \d+, weights trainer-\d+ v1/, status.stderr);

  // Each step's update is broadcast at once: every worker holds the trainer's weights, and the next rollouts match.
  for (let i = 1; i <= 2; i++) {
    const [a, b] = [await wT.step(), await refT.step()];
    assert.equal(a.iteration, i);
    assert.deepEqual(rows(await wT.lastBatch()), rows(await refT.lastBatch()), `iteration ${i}: same rollouts`);
    assert.equal(a['reward/mean'], b['reward/mean']);
    const digest = await wT.digest();
    assert.equal(digest, await refT.digest(), `iteration ${i}: same update`);
    workers = await ws.workers({ digests: true });
    for (const w of workers) assert.deepEqual(w.replicas, [{ policy: wT.id, version: i + 1, digest }], `worker ${w.worker} after iteration ${i}`);
  }

  // Worker 1 dies while it holds a slice: the iteration fails with a clear error and is not consumed.
  const before = await wT.info();
  const victim = workers[1]!.pid!;
  process.kill(victim, 'SIGSTOP'); // it cannot answer: the generate waits on it
  const step = wT.step();
  await sleep(1500);
  process.kill(victim, 'SIGKILL');
  await assert.rejects(step, (e: Error & { code?: string }) => {
    assert.equal(e.code, 'worker_exited');
    assert.match(e.message, new RegExp(`rollout worker 1 \\(pid ${victim}\\) exited \\(SIGKILL\\) while generating`));
    assert.match(e.message, /not consumed and can be retried/);
    return true;
  });
  const afterFail = await wT.info();
  assert.equal(afterFail.iteration, before.iteration);
  assert.equal(afterFail.dataCursor, before.dataCursor);
  const st = await ws.status();
  assert.equal(st.workers[1]!.state, 'exited');
  assert.equal(st.workers[1]!.exit, 'SIGKILL');

  // The retry restarts the worker, sends it the current weights and draws the same prompts: it matches in-process.
  await wT.step();
  await refT.step();
  assert.deepEqual(rows(await wT.lastBatch()), rows(await refT.lastBatch()));
  workers = await ws.workers();
  assert.equal(workers[1]!.state, 'ready');
  assert.equal(workers[1]!.starts, 2);
  pidsToKill.push(workers[1]!.pid!);
  assert.notEqual(workers[1]!.pid, victim);

  // kill -9 of the session: its workers see their stdin close and leave; none outlives it.
  process.kill(daemon.pid, 'SIGKILL');
  const deadline = Date.now() + 15_000;
  while (workers.some((w) => processAlive(w.pid!)) && Date.now() < deadline) await sleep(100);
  assert.deepEqual(workers.map((w) => processAlive(w.pid!)), [false, false]);
});

test('an in-process session with a worker: generation runs in the worker process, close() ends it', async () => {
  const s = track(await Session.local({ inProcess: true, name: 'inproc-w1', workers: 1 }));
  const t = await s.trainerFromRunConfig(join(proj, 'cfg.json'));
  const row = await t.step();
  assert.equal(row.iteration, 1);
  const [w] = await s.workers({ digests: true });
  pidsToKill.push(w!.pid!);
  assert.notEqual(w!.pid, process.pid);
  assert.deepEqual(w!.replicas, [{ policy: t.id, version: 2, digest: await t.digest() }]);
  await s.close();
  assert.equal(processAlive(w!.pid!), false);
});
