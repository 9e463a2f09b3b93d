// The two Slurm failures a session on a cluster meets besides a cancelled step (test/session-slurm.test.ts), on a
// real one-node cluster the test starts: the whole job cancelled (`scancel JOBID`) and the node lost (`scontrol
// update state=down`, what slurmctld does when a node stops answering). Each fails the running step with an error
// naming the worker, its job, step and node, without consuming the iteration; the next step asks for a new
// allocation (after the node is back), re-launches the worker in it and its rollouts equal an in-process session's.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RolloutBatch } from '../sdk/rollout/rollout-batch.ts';
import { Session } from '../sdk/session/session.ts';
import { processAlive, readConnectionFile } from '../sdk/session/connection-file.ts';
import { sessionDir, sessionFiles } from '../sdk/session/paths.ts';
import { slurmSkipReason, startSlurmCluster, type SlurmCluster } from './support/slurm-cluster.ts';
import { writeTinyRunProject } from './support/tiny-run-project.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const ORZ = join(REPO, 'bin', 'orz.js');
const skip = slurmSkipReason();
if (skip) process.stderr.write(`skipping the Slurm failure test: ${skip}\n`);

let home = '';
let cfg = '';
let cluster: SlurmCluster | null = null;
const opened: { close(): unknown }[] = [];
const pidsToKill: number[] = [];
const rows = (b: RolloutBatch | null) => b!.samples();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  if (skip) return;
  home = await mkdtemp(join(tmpdir(), 'orz-slurm-failures-'));
  process.env['ORZ_HOME'] = join(home, 'orz');
  process.env['ORZ_BACKEND'] = 'cpu';
  cfg = await writeTinyRunProject(home);
  cluster = await startSlurmCluster({ timeoutMs: 30_000 });
});

after(async () => {
  for (const o of opened.reverse()) await Promise.resolve(o.close()).catch(() => {});
  for (const pid of pidsToKill) if (processAlive(pid)) process.kill(pid, 'SIGKILL');
  if (cluster) spawnSync('scontrol', ['update', `nodename=${cluster.node}`, 'state=resume'], { env: cluster.env, stdio: 'ignore' });
  await cluster?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});

const orz = (args: string[]) => spawnSync(process.execPath, [ORZ, ...args], { cwd: REPO, encoding: 'utf8', env: { ...process.env, ...cluster!.env }, timeout: 180_000 });

async function waitUntil(ok: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}\n${await cluster!.logs()}`);
    await sleep(200);
  }
}

test('the whole job cancelled, then the node lost, mid-generate: named errors, the iteration kept, a new allocation next step', { skip: skip ?? false }, async () => {
  const ref = await Session.local({ inProcess: true, name: 'ref' });
  opened.push(ref);
  const refT = await ref.trainerFromRunConfig(cfg, { name: 't' });

  const started = orz(['session', 'start', '--slurm', '--name', 'sf', '--backend', 'cpu', '--time', '10']);
  assert.equal(started.status, 0, `${started.stdout}${started.stderr}\n${await cluster!.logs()}`);
  const c = await readConnectionFile(sessionFiles(sessionDir('sf')).connection);
  pidsToKill.push(c.pid);
  const s = await Session.attach(c);
  opened.push(s);
  const wT = await s.trainerFromRunConfig(cfg, { name: 't' });
  await wT.step();
  await refT.step();
  const squeue = (args: string[]) => cluster!.run('squeue', ['-h', ...args]).trim();

  // One failure: stop the worker so the generate waits on it, break its job the way `fail` does, check the error.
  const failMidGenerate = async (what: string, fail: (jobId: string) => void) => {
    const [victim] = await s.workers();
    assert.ok(victim?.pid && victim.slurm, `${what}: the worker runs as a Slurm step`);
    pidsToKill.push(victim.pid);
    const before = await wT.info();
    process.kill(victim.pid, 'SIGSTOP');
    const step = wT.step();
    await sleep(1500);
    fail(victim.slurm.jobId);
    await assert.rejects(step, (e: Error & { code?: string }) => {
      assert.equal(e.code, 'worker_exited', `${what}: ${e.message}`);
      assert.match(e.message, new RegExp(`rollout worker 0 \\(Slurm job ${victim.slurm!.jobId} step ${victim.slurm!.step} on node ${cluster!.node}, pid ${victim.pid}\\) exited`), what);
      assert.match(e.message, /not consumed and can be retried/, what);
      return true;
    });
    await waitUntil(() => !processAlive(victim.pid!), 15_000, `${what}: the stopped worker to be ended by Slurm`);
    const afterFail = await wT.info();
    assert.equal(afterFail.iteration, before.iteration, `${what}: iteration not consumed`);
    assert.equal(afterFail.dataCursor, before.dataCursor, `${what}: data cursor not advanced`);
    return victim.slurm.jobId;
  };

  // The next step asks for a new allocation and re-launches the worker as a step of it; same rollouts as in-process.
  const recovers = async (what: string, oldJob: string) => {
    await wT.step();
    await refT.step();
    assert.deepEqual(rows(await wT.lastBatch()), rows(await refT.lastBatch()), `${what}: rollouts after recovery`);
    assert.equal(await wT.digest(), await refT.digest(), `${what}: same update after recovery`);
    const [w] = await s.workers();
    assert.equal(w!.state, 'ready');
    assert.ok(w!.slurm && w!.slurm.jobId !== oldJob, `${what}: a new job (was ${oldJob}, now ${w!.slurm?.jobId})`);
    assert.match(squeue(['-j', w!.slurm!.jobId, '-o', '%j %T']), /^orz-session-sf RUNNING$/, `${what}: the new allocation`);
    pidsToKill.push(w!.pid!);
  };

  const cancelled = await failMidGenerate('scancel of the job', (jobId) => cluster!.run('scancel', [jobId]));
  assert.match(squeue(['-j', cancelled, '-o', '%T']), /^(|COMPLETING|CANCELLED)$/, 'the cancelled job is ending or gone');
  await recovers('after scancel', cancelled);

  const lost = await failMidGenerate('node down', () => cluster!.run('scontrol', ['update', `nodename=${cluster!.node}`, 'state=down', 'reason=orz-test']));
  // The node comes back (as an administrator resumes it); until then the new allocation waits for it.
  // slurmctld refuses `resume` while the killed job is still completing on the node, and a node whose slurmd
  // still answers may return to service by itself (then `resume` is an invalid transition): either is back.
  const nodeUp = () => /^(idle|mix|alloc)/.test(cluster!.run('sinfo', ['-h', '-N', '-o', '%t']).trim());
  const resume = () => spawnSync('scontrol', ['update', `nodename=${cluster!.node}`, 'state=resume'], { env: cluster!.env, stdio: 'ignore' }).status === 0;
  await waitUntil(() => nodeUp() || (resume() && nodeUp()), 30_000, 'the node to be back in service');
  await recovers('after the node was lost', lost);

  await s.close();
  const stopped = orz(['session', 'stop', 'sf']);
  assert.equal(stopped.status, 0, stopped.stderr);
  await waitUntil(() => squeue(['-o', '%i']) === '', 15_000, 'no job left');
});
