// A real single-node Slurm cluster for the tests: Debian's munged, slurmctld and slurmd, started in the foreground
// as children of the test with a generated slurm.conf for this host (its own ports, state, spool, logs and munge
// key and socket in a temp directory), so nothing of the machine's own Slurm or munge is used or changed.
// slurmSkipReason() says why the machine cannot run it (the tests then skip with that message); stop() ends every
// daemon and checks that none is left.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

import { missingCommands, SLURM } from './system-packages.ts';

/** Why this machine cannot run the test cluster, or null when it can. */
export function slurmSkipReason(): string | null {
  const missing = missingCommands(SLURM);
  if (missing.length) return `Slurm test cluster: ${missing.join(', ')} not installed (apt-get install ${SLURM.packages.join(' ')}; test/support/ensure-test-deps.ts does it)`;
  // slurmd runs job steps as their owner and slurmctld as SlurmUser; a single-user cluster needs root for both.
  if (process.getuid?.() !== 0) return `Slurm test cluster: slurmd must run as root (uid ${process.getuid?.()})`;
  return null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface SlurmConfOptions { dir: string; node: string; cpus: number; ctldPort: number; slurmdPort: number; mungeSocket: string }

/** slurm.conf for one node running both daemons as root, without cgroups (pgid process tracking, no task plugin). */
export function slurmConf(o: SlurmConfOptions): string {
  return [
    'ClusterName=orztest', `SlurmctldHost=${o.node}`, `SlurmctldPort=${o.ctldPort}`, `SlurmdPort=${o.slurmdPort}`,
    'SlurmUser=root', 'SlurmdUser=root', 'AuthType=auth/munge', 'CredType=cred/munge', `AuthInfo=socket=${o.mungeSocket}`,
    `StateSaveLocation=${o.dir}/state`, `SlurmdSpoolDir=${o.dir}/spool`,
    `SlurmctldPidFile=${o.dir}/slurmctld.pid`, `SlurmdPidFile=${o.dir}/slurmd.pid`,
    `SlurmctldLogFile=${o.dir}/log/slurmctld.log`, `SlurmdLogFile=${o.dir}/log/slurmd.log`,
    'ProctrackType=proctrack/pgid', 'TaskPlugin=task/none', 'JobAcctGatherType=jobacct_gather/none',
    'AccountingStorageType=accounting_storage/none', 'JobCompType=jobcomp/none', 'MpiDefault=none',
    'SelectType=select/cons_tres', 'SelectTypeParameters=CR_CPU', 'SchedulerType=sched/builtin',
    'ReturnToService=2', 'InactiveLimit=0', 'KillWait=2', 'MinJobAge=10',
    `NodeName=${o.node} CPUs=${o.cpus} State=UNKNOWN`,
    `PartitionName=orz Nodes=${o.node} Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4`,
    '',
  ].join('\n');
}

export interface SlurmCluster {
  dir: string;
  node: string;
  partition: string;
  /** The environment Slurm's commands need to talk to this cluster (SLURM_CONF). */
  env: NodeJS.ProcessEnv;
  /** Runs a Slurm command against this cluster; throws with its output when it fails. */
  run(cmd: string, args: string[]): string;
  /** The daemons' logs (for assertion messages). */
  logs(): Promise<string>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts munged, slurmctld and slurmd, and waits until the node is idle (at most `timeoutMs`). */
export async function startSlurmCluster(opts: { timeoutMs?: number; cpus?: number } = {}): Promise<SlurmCluster> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const dir = await mkdtemp(join(tmpdir(), 'orz-slurm-'));
  await chmod(dir, 0o700);
  for (const d of ['state', 'spool', 'log', 'munge']) await mkdir(join(dir, d), { mode: 0o700 });
  const keyFile = join(dir, 'munge', 'munge.key');
  await writeFile(keyFile, randomBytes(1024), { mode: 0o400 });
  const mungeSocket = join(dir, 'munge', 'munge.sock');
  const node = hostname();
  const conf = join(dir, 'slurm.conf');
  await writeFile(conf, slurmConf({ dir, node, cpus: opts.cpus ?? 2, ctldPort: await freePort(), slurmdPort: await freePort(), mungeSocket }));
  const env = { ...process.env, SLURM_CONF: conf, PATH: `${process.env['PATH']}:/usr/sbin:/sbin` };
  const daemons: ChildProcess[] = [];
  const daemon = (cmd: string, args: string[]) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', () => {}); // read, so a chatty daemon never blocks on a full pipe
    daemons.push(child);
    return child;
  };
  const run = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { env, encoding: 'utf8', timeout: 20_000 });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.error?.message ?? `exit ${r.status ?? r.signal}`}\n${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  const logs = async () => {
    const parts = await Promise.all(['munge/munged.log', 'log/slurmctld.log', 'log/slurmd.log'].map(async (f) => `--- ${f}\n${await readFile(join(dir, f), 'utf8').catch(() => '(none)')}`));
    return parts.join('\n');
  };
  // slurmstepd (one per job step) is started by slurmd and outlives it if a step hangs: ours are the new ones.
  const stepdsBefore = new Set(slurmstepds());
  const stop = async () => {
    if (daemons.length === 3 && daemons.every((d) => d.exitCode === null)) {
      spawnSync('scancel', ['--user', 'root'], { env, stdio: 'ignore', timeout: 10_000 });
      await waitFor(() => slurmstepds().every((p) => stepdsBefore.has(p)), Date.now() + 10_000, 'job steps to end').catch(() => {});
    }
    for (const d of [...daemons].reverse()) {
      if (d.exitCode !== null || d.signalCode !== null) continue;
      d.kill('SIGTERM');
      const gone = new Promise((r) => d.once('exit', r));
      if (await Promise.race([gone.then(() => true), sleep(5000).then(() => false)]) === false) {
        d.kill('SIGKILL');
        await gone;
      }
    }
    const left = [...daemons.filter((d) => alive(d.pid!)).map((d) => `${d.spawnfile} (pid ${d.pid})`),
      ...slurmstepds().filter((p) => !stepdsBefore.has(p)).map((p) => `slurmstepd (pid ${p})`)];
    // Reported as a failure, then ended anyway, so that a broken stop does not leave daemons on the machine.
    for (const d of daemons) if (alive(d.pid!)) d.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    if (left.length) throw new Error(`Slurm test cluster: still running after stop: ${left.join(', ')}`);
  };
  try {
    daemon('munged', ['--foreground', '--force', `--key-file=${keyFile}`, `--socket=${mungeSocket}`, `--pid-file=${dir}/munge/munged.pid`, `--log-file=${dir}/munge/munged.log`, `--seed-file=${dir}/munge/seed`]);
    await waitFor(() => spawnSync('sh', ['-c', `echo | munge --socket=${mungeSocket} | unmunge --socket=${mungeSocket}`], { stdio: 'ignore' }).status === 0, Date.now() + timeoutMs, 'munged answering');
    daemon('slurmctld', ['-D', '-i']);
    daemon('slurmd', ['-D']);
    await waitFor(() => {
      const r = spawnSync('sinfo', ['-h', '-N', '-o', '%t'], { env, encoding: 'utf8', timeout: 5000 });
      return r.status === 0 && r.stdout.trim() === 'idle';
    }, Date.now() + timeoutMs, `node ${node} idle`);
    for (const d of daemons) if (d.exitCode !== null) throw new Error(`${d.spawnfile} exited (code ${d.exitCode})`);
  } catch (e) {
    const why = `Slurm test cluster did not start within ${timeoutMs / 1000} s: ${(e as Error).message}\n${await logs()}`;
    await stop().catch(() => {});
    throw new Error(why);
  }
  return { dir, node, partition: 'orz', env, run, logs, stop };
}

function slurmstepds(): number[] {
  return spawnSync('pgrep', ['-x', 'slurmstepd'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(ok: () => boolean, deadline: number, what: string): Promise<void> {
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}
