// Rollout workers placed by Slurm: the session (the head) runs where `orz session start --slurm` runs, inside the
// caller's allocation (SLURM_JOB_ID set: an sbatch script, salloc) or in one it asks for itself (salloc
// --no-shell, cancelled when the session closes). Each worker is one job step (`srun --overlap -N1 -n1` on its
// node): srun forwards the bootstrap line to the worker's stdin and forwards its end, so a worker still leaves
// with its session. The session key is not on any command line, in the environment or in a job script: the
// bootstrap names a file in the session directory (0700, the file 0600) that the worker reads, which needs the
// session directory on a filesystem the nodes share, as Slurm clusters' home directories are.

import { spawnSync } from 'node:child_process';
import { chmod } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.ts';

/** What `orz session start --slurm` asks for. */
export interface SlurmOptions {
  /** Nodes of the allocation the session asks for (outside an allocation; default 1). */
  nodes?: number;
  /** Rollout workers on each node (default 1). */
  workersPerNode?: number;
  partition?: string;
  /** Time limit of the allocation the session asks for (Slurm's format, e.g. 2:00:00). */
  time?: string;
  /** Host the workers' socket binds to: 127.0.0.1 unless the session was started with a non-loopback --listen. */
  bindHost?: string;
}

/** Where a worker runs, as it reports it from its Slurm environment. */
export interface SlurmStepInfo { jobId: string; step: string; node: string }

export function slurmStepFromEnv(env: NodeJS.ProcessEnv = process.env): SlurmStepInfo | undefined {
  const jobId = env['SLURM_JOB_ID'];
  const step = env['SLURM_STEP_ID'];
  if (!jobId || step === undefined) return undefined;
  return { jobId, step, node: env['SLURMD_NODENAME'] ?? hostname() };
}

const COMMAND_TIMEOUT_MS = 60_000;

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): string {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', timeout: COMMAND_TIMEOUT_MS });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT') {
    const hint = cmd === 'salloc' ? ' (the cluster may be busy: get an allocation first, e.g. salloc, and start the session inside it)' : '';
    throw new Error(`${cmd} ${args.join(' ')} did not finish within ${COMMAND_TIMEOUT_MS / 1000} s${hint}`);
  }
  if (r.error) throw new Error(`cannot run ${cmd} (${r.error.message}); is Slurm installed and on PATH?`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal}): ${(r.stderr || r.stdout).trim()}`);
  return `${r.stdout}${r.stderr}`;
}

/** The hosts of a Slurm node list ("node[1-3],gpu7"), as `scontrol show hostnames` expands them. */
function expandNodes(list: string, env: NodeJS.ProcessEnv): string[] {
  return run('scontrol', ['show', 'hostnames', list], env).split('\n').map((l) => l.trim()).filter(Boolean);
}

/** The `tcp://HOST:*` the workers' socket binds to, and the host the workers connect to. */
export function workerEndpoints(bindHost: string | undefined): { bind: string; connectHost: string | null } {
  const host = bindHost ?? '127.0.0.1';
  const any = host === '0.0.0.0' || host === '*';
  return { bind: `tcp://${any ? '0.0.0.0' : host}:*`, connectHost: any ? hostname() : null };
}

/** The host of a zeromq tcp endpoint given to --listen ("tcp://node1:5555" -> "node1"), or undefined. */
export function listenHost(listen: string | undefined): string | undefined {
  const m = listen ? /^tcp:\/\/(.+):[^:]+$/.exec(listen) : null;
  return m ? m[1]!.replace(/^\[|\]$/g, '') : undefined;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export class SlurmAllocation {
  private constructor(
    /** The job whose steps the workers are. */
    public jobId: string,
    public nodes: string[],
    /** The session asked for this allocation (and cancels it at the end); false: the caller's. */
    readonly owned: boolean,
    readonly opts: SlurmOptions,
    readonly env: NodeJS.ProcessEnv,
    readonly log: (line: string) => void,
  ) {}

  /** The caller's allocation, or a new one of `opts.nodes` nodes. */
  static acquire(opts: SlurmOptions, name: string, log: (line: string) => void, env: NodeJS.ProcessEnv = process.env): SlurmAllocation {
    const inside = env['SLURM_JOB_ID'];
    if (inside) {
      const nodes = expandNodes(env['SLURM_JOB_NODELIST'] ?? env['SLURM_NODELIST'] ?? hostname(), env);
      log(`Slurm: rollout workers run as steps of job ${inside} (this allocation: ${nodes.join(', ')})`);
      return SlurmAllocation.#checked(new SlurmAllocation(inside, nodes, false, opts, env, log));
    }
    const a = new SlurmAllocation('', [], true, opts, env, log);
    a.#allocate(name);
    return SlurmAllocation.#checked(a);
  }

  static #checked(a: SlurmAllocation): SlurmAllocation {
    const remote = a.nodes.filter((n) => n !== hostname());
    if (remote.length && LOOPBACK.has(a.opts.bindHost ?? '127.0.0.1')) {
      a.release();
      throw new Error(`the Slurm allocation has nodes other than this one (${remote.join(', ')}), whose workers cannot reach a loopback socket; start the session with --listen tcp://${hostname()}:PORT (or tcp://0.0.0.0:PORT)`);
    }
    return a;
  }

  #allocate(name: string): void {
    const args = ['--no-shell', `--nodes=${this.opts.nodes ?? 1}`, `--job-name=orz-session-${name}`];
    if (this.opts.partition) args.push(`--partition=${this.opts.partition}`);
    if (this.opts.time) args.push(`--time=${this.opts.time}`);
    const out = run('salloc', args, this.env);
    const id = /Granted job allocation (\d+)/.exec(out)?.[1];
    if (!id) throw new Error(`salloc ${args.join(' ')} did not say which job it granted: ${out.trim()}`);
    this.jobId = id;
    this.nodes = expandNodes(run('squeue', ['-h', '-j', id, '-o', '%N'], this.env).trim(), this.env);
    this.log(`Slurm: allocated job ${id} on ${this.nodes.join(', ')}`);
  }

  get workersPerNode(): number {
    return this.opts.workersPerNode ?? 1;
  }

  get size(): number {
    return this.nodes.length * this.workersPerNode;
  }

  /** The node worker `w` runs on: workers fill the nodes in order, workersPerNode each. */
  nodeOf(worker: number): string {
    return this.nodes[Math.floor(worker / this.workersPerNode) % this.nodes.length]!;
  }

  /** Before (re)starting a step: an allocation of ours that was cancelled or ended is asked for again. */
  ensureRunning(name: string): void {
    const state = spawnSync('squeue', ['-h', '-j', this.jobId, '-o', '%T'], { env: this.env, encoding: 'utf8', timeout: 30_000 }).stdout?.trim();
    if (state === 'RUNNING') return;
    if (!this.owned) throw new Error(`Slurm job ${this.jobId}, whose steps the rollout workers are, is ${state || 'gone'}; start the session in a running allocation`);
    this.log(`Slurm: job ${this.jobId} is ${state || 'gone'}; asking for a new allocation`);
    this.#allocate(name);
  }

  /** The command that starts worker `w` as a job step on its node (the worker program appended). */
  stepCommand(worker: number): { command: string; args: string[] } {
    return {
      command: 'srun',
      args: [`--jobid=${this.jobId}`, '--overlap', '--nodes=1', '--ntasks=1', `--nodelist=${this.nodeOf(worker)}`,
        `--job-name=orz-worker-${worker}`, '--kill-on-bad-exit=1', '--quiet'],
    };
  }

  release(): void {
    if (!this.owned || !this.jobId) return;
    const r = spawnSync('scancel', [this.jobId], { env: this.env, stdio: 'ignore', timeout: 30_000 });
    if (r.status !== 0) this.log(`Slurm: scancel ${this.jobId} failed (exit ${r.status ?? r.error?.message}); cancel it by hand`);
  }
}

/** Writes the file a worker reads the session key from (0600 in the 0700 session directory). */
export async function writeWorkerKeyFile(dir: string, key: string): Promise<string> {
  const path = join(dir, 'worker-key.json');
  await writeFileAtomic(path, JSON.stringify({ key }) + '\n');
  await chmod(path, 0o600);
  return path;
}
