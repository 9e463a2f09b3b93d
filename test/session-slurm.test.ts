// Rollout workers as Slurm job steps, on a real one-node Slurm cluster the test starts (test/support/slurm-cluster.ts):
// `orz session start --slurm` asks for an allocation and runs 2 workers in it with srun; their rollouts and updates
// equal an in-process session's; `orz session status` names each worker's node, job and step; scancel of a worker's
// step mid-generate fails the step with an error naming the worker and node, without consuming the iteration, and
// the next step re-launches it; stopping the session cancels its allocation. The sbatch script is checked too.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RolloutBatch } from '../sdk/rollout/rollout-batch.ts';
import { Session } from '../sdk/session/session.ts';
import { processAlive, readConnectionFile } from '../sdk/session/connection-file.ts';
import { sessionDir, sessionFiles } from '../sdk/session/paths.ts';
import { sbatchScript } from '../sdk/session/slurm-cli.ts';
import { slurmSkipReason, startSlurmCluster, type SlurmCluster } from './support/slurm-cluster.ts';
import { writeTinyRunProject } from './support/tiny-run-project.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const ORZ = join(REPO, 'bin', 'orz.js');
const skip = slurmSkipReason();
if (skip) process.stderr.write(`skipping the Slurm session test: ${skip}\n`);

let home = '';
let cfg = '';
let cluster: SlurmCluster | null = null;
const opened: { close(): unknown }[] = [];
const pidsToKill: number[] = [];
const rows = (b: RolloutBatch | null) => b!.samples();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  if (skip) return;
  home = await mkdtemp(join(tmpdir(), 'orz-slurm-session-'));
  process.env['ORZ_HOME'] = join(home, 'orz');
  process.env['ORZ_BACKEND'] = 'cpu';
  cfg = await writeTinyRunProject(home);
  cluster = await startSlurmCluster({ timeoutMs: 30_000 });
});

after(async () => {
  for (const o of opened.reverse()) await Promise.resolve(o.close()).catch(() => {});
  for (const pid of pidsToKill) if (processAlive(pid)) process.kill(pid, 'SIGKILL');
  await cluster?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});

const orz = (args: string[]) => spawnSync(process.execPath, [ORZ, ...args], { cwd: REPO, encoding: 'utf8', env: { ...process.env, ...cluster!.env }, timeout: 180_000 });

test('a session whose 2 workers are srun job steps: same rollouts as in-process, status names node, job and step, scancel of a step fails only its iteration', { skip: skip ?? false }, async () => {
  const ref = await Session.local({ inProcess: true, name: 'ref' });
  opened.push(ref);
  const refT = await ref.trainerFromRunConfig(cfg, { name: 't' });

  const started = orz(['session', 'start', '--slurm', '--workers-per-node', '2', '--name', 'sl', '--backend', 'cpu', '--time', '10']);
  assert.equal(started.status, 0, `${started.stdout}${started.stderr}\n${await cluster!.logs()}`);
  const c = await readConnectionFile(sessionFiles(sessionDir('sl')).connection);
  pidsToKill.push(c.pid);
  const jobs = cluster!.run('squeue', ['-h', '-o', '%i %j']).trim();
  const jobId = /^(\d+) orz-session-sl$/m.exec(jobs)?.[1];
  assert.ok(jobId, `the session asked for an allocation named orz-session-sl: ${jobs}`);
  const s = await Session.attach(c);
  opened.push(s);
  const wT = await s.trainerFromRunConfig(cfg, { name: 't' });

  assert.deepEqual(rows(await wT.generate()), rows(await refT.generate()));
  let workers = await s.workers();
  assert.deepEqual(workers.map((w) => [w.state, w.slurm?.jobId, w.slurm?.node]), [['ready', jobId, cluster!.node], ['ready', jobId, cluster!.node]]);
  const steps = cluster!.run('squeue', ['-h', '-s', '-j', jobId!, '-o', '%i %j']);
  for (const w of workers) {
    pidsToKill.push(w.pid!);
    assert.match(steps, new RegExp(`^${jobId}\\.${w.slurm!.step} orz-worker-${w.worker}$`, 'm'), `worker ${w.worker} is a step of the job`);
  }
  const status = orz(['session', 'status', 'sl']);
  assert.match(status.stdout, new RegExp(`rollout worker 1: ready, pid \\d+, node ${cluster!.node}, Slurm job ${jobId} step ${workers[1]!.slurm!.step}`), status.stderr);

  for (let i = 1; i <= 2; i++) {
    const [a, b] = [await wT.step(), await refT.step()];
    assert.equal(a.iteration, i);
    assert.deepEqual(rows(await wT.lastBatch()), rows(await refT.lastBatch()), `iteration ${i}: same rollouts`);
    assert.equal(await wT.digest(), await refT.digest(), `iteration ${i}: same update`);
  }

  // scancel of worker 1's step while it holds a slice (stopped, so the generate waits on it).
  const before = await wT.info();
  const victim = workers[1]!;
  process.kill(victim.pid!, 'SIGSTOP');
  const step = wT.step();
  await sleep(1500);
  cluster!.run('scancel', [`${jobId}.${victim.slurm!.step}`]);
  await assert.rejects(step, (e: Error & { code?: string }) => {
    assert.equal(e.code, 'worker_exited');
    assert.match(e.message, new RegExp(`rollout worker 1 \\(Slurm job ${jobId} step ${victim.slurm!.step} on node ${cluster!.node}, pid ${victim.pid}\\) exited \\(srun [^)]*: its step was cancelled, failed or lost its node\\) while generating`));
    assert.match(e.message, /not consumed and can be retried/);
    return true;
  });
  const afterFail = await wT.info();
  assert.equal(afterFail.iteration, before.iteration);
  assert.equal(afterFail.dataCursor, before.dataCursor);

  // The next step launches worker 1 as a new step of the same job; its rollouts match in-process again.
  await wT.step();
  await refT.step();
  assert.deepEqual(rows(await wT.lastBatch()), rows(await refT.lastBatch()));
  workers = await s.workers();
  assert.equal(workers[1]!.state, 'ready');
  assert.equal(workers[1]!.starts, 2);
  assert.equal(workers[1]!.slurm!.jobId, jobId);
  assert.notEqual(workers[1]!.slurm!.step, victim.slurm!.step);
  pidsToKill.push(workers[1]!.pid!);

  // Stopping the session ends its steps and cancels the allocation it asked for.
  await s.close();
  const stopped = orz(['session', 'stop', 'sl']);
  assert.equal(stopped.status, 0, stopped.stderr);
  const deadline = Date.now() + 15_000;
  while (cluster!.run('squeue', ['-h', '-j', jobId!, '-o', '%T']).trim() !== '' && Date.now() < deadline) await sleep(200);
  assert.equal(cluster!.run('squeue', ['-h', '-o', '%i']).trim(), '', 'no job left');
  assert.deepEqual(workers.map((w) => processAlive(w.pid!)), [false, false]);
});

test('orz session sbatch: the submitted script runs the session inside the batch job, its worker a step of that job', { skip: skip ?? false }, async () => {
  const script = join(home, 'session.sbatch');
  const wrote = orz(['session', 'sbatch', '--name', 'batch', '--workers-per-node', '1', '--backend', 'cpu', '-o', script]);
  assert.equal(wrote.status, 0, wrote.stderr);
  const submitted = cluster!.run('sbatch', ['--parsable', `--chdir=${home}`, script]).trim();
  const jobId = submitted.split(';')[0]!;
  const file = sessionFiles(sessionDir('batch')).connection;
  const deadline = Date.now() + 120_000;
  while (!processAliveFile(file) && Date.now() < deadline) await sleep(300);
  assert.ok(processAliveFile(file), `no running session from job ${jobId}: ${cluster!.run('squeue', ['-h', '-o', '%i %T %j'])}\n${await cluster!.logs()}`);
  const c = await readConnectionFile(file);
  pidsToKill.push(c.pid);
  const s = await Session.attach(c);
  opened.push(s);
  const t = await s.trainerFromRunConfig(cfg);
  assert.equal((await t.step()).iteration, 1);
  const [w] = await s.workers();
  assert.equal(w!.slurm!.jobId, jobId, 'the worker is a step of the batch job');
  pidsToKill.push(w!.pid!);
  await s.close();
  assert.equal(orz(['session', 'stop', 'batch']).status, 0);
  const end = Date.now() + 15_000;
  while (cluster!.run('squeue', ['-h', '-j', jobId, '-o', '%T']).trim() !== '' && Date.now() < end) await sleep(200);
  assert.equal(cluster!.run('squeue', ['-h', '-j', jobId, '-o', '%T']).trim(), '', 'the job ends with its session');
});

function processAliveFile(path: string): boolean {
  try {
    const c = JSON.parse(readFileSync(path, 'utf8')) as { pid: number };
    return processAlive(c.pid);
  } catch {
    return false;
  }
}

test('the sbatch script: directives, the session in the foreground listening on the first node, no key', { skip: skip ?? false }, () => {
  const script = sbatchScript({ name: 'big', nodes: 4, workersPerNode: 2, partition: 'gpu', time: '2:00:00' });
  for (const d of ['--job-name=orz-session-big', '--nodes=4', '--ntasks-per-node=2', '--partition=gpu', '--time=2:00:00']) assert.match(script, new RegExp(`^#SBATCH ${d}$`, 'm'));
  assert.match(script, /session start --foreground --slurm --name big --workers-per-node 2 --listen "tcp:\/\/\$\(hostname\):\*"/);
  assert.doesNotMatch(script, /key/i);
  assert.equal(spawnSync('bash', ['-n'], { input: script }).status, 0, 'bash parses it');
});

test('start: Slurm flags without --slurm, and --workers with --slurm, are usage errors; --listen sets where workers bind', async () => {
  const { listenHost, workerEndpoints } = await import('../sdk/session/slurm.ts');
  const noSlurm = spawnSync(process.execPath, [ORZ, 'session', 'start', '--nodes', '2'], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
  assert.equal(noSlurm.status, 2);
  assert.match(noSlurm.stderr, /--nodes needs --slurm/);
  const both = spawnSync(process.execPath, [ORZ, 'session', 'start', '--slurm', '--workers', '2'], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
  assert.equal(both.status, 2);
  assert.match(both.stderr, /--nodes x --workers-per-node; drop --workers/);
  assert.equal(listenHost('tcp://node7:5555'), 'node7');
  assert.equal(listenHost('tcp://127.0.0.1:*'), '127.0.0.1');
  assert.deepEqual(workerEndpoints(undefined), { bind: 'tcp://127.0.0.1:*', connectHost: null });
  assert.equal(workerEndpoints('0.0.0.0').bind, 'tcp://0.0.0.0:*');
});
