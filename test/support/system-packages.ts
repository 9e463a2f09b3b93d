// What the test suite needs from the operating system, installed by the test command itself so that
// `npm test` passes on a fresh machine: Debian's Jupyter clients (the kernel and notebook tests drive the
// orz kernel with them), PyTorch for the reference scripts and Slurm with munge (the Slurm tests start a one-node cluster of their own). Missing packages are installed with apt-get as root, or through `sudo -n` when
// that works without a password; otherwise the suite stops at once with the exact command to run.

import { spawnSync } from 'node:child_process';

export interface PythonRequirement {
  /** The interpreter the tests use. */
  python: string;
  /** Python modules that must import. */
  modules: string[];
  /** Debian packages that provide them. */
  packages: string[];
}

export const JUPYTER_CLIENTS: PythonRequirement = {
  python: '/usr/bin/python3',
  modules: ['jupyter_client', 'nbclient', 'nbformat', 'jupyter_kernel_test'],
  packages: ['python3-jupyter-client', 'python3-nbclient', 'python3-nbformat', 'python3-jupyter-kernel-test'],
};

// The PyTorch references (bench/*_reference.py and the model tests' reference scripts): Debian's torch, with
// OpenBLAS behind it (without libopenblas0-pthread Debian's torch falls back to the reference BLAS, ~30x slower).
export const TORCH_REFERENCE: PythonRequirement = {
  python: '/usr/bin/python3',
  modules: ['torch'],
  packages: ['python3-torch', 'libopenblas0-pthread'],
};

/** Programs the tests run, and the Debian packages that provide them. */
export interface CommandRequirement { commands: string[]; packages: string[] }

// --no-install-recommends keeps this to the daemons and client commands (about 8 s of apt-get install here).
export const SLURM: CommandRequirement = {
  commands: ['munged', 'slurmctld', 'slurmd', 'srun', 'salloc', 'sbatch', 'scancel', 'squeue', 'sinfo', 'scontrol'],
  packages: ['slurm-wlm', 'munge'],
};

const SBIN_PATH = `${process.env['PATH'] ?? ''}:/usr/sbin:/sbin`;

/** The commands of `req` not found on PATH (with the sbin directories, where Debian puts the daemons). */
export function missingCommands(req: CommandRequirement): string[] {
  return req.commands.filter((c) => spawnSync('sh', ['-c', `command -v ${c}`], { stdio: 'ignore', env: { ...process.env, PATH: SBIN_PATH } }).status !== 0);
}

/** The modules of `req` that do not import (all of them when the interpreter is missing). */
export function missingModules(req: PythonRequirement): string[] {
  return req.modules.filter((m) => spawnSync(req.python, ['-c', `import ${m}`], { stdio: 'ignore' }).status !== 0);
}

export type InstallPlan = { commands: string[][] } | { error: string };

/** How to install `packages`: directly as root, through passwordless sudo, or an error naming the command. */
export function installPlan(packages: string[], how: { uid: number; passwordlessSudo: boolean }): InstallPlan {
  const apt = [['apt-get', 'update'], ['apt-get', 'install', '-y', '--no-install-recommends', ...packages]];
  if (how.uid === 0) return { commands: apt };
  if (how.passwordlessSudo) return { commands: apt.map((c) => ['sudo', '-n', ...c]) };
  return {
    error: `the tests need ${packages.join(', ')} and this user (uid ${how.uid}) cannot install them; run once:\n`
      + `  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${packages.join(' ')}`,
  };
}

export interface EnsureOptions {
  /** Print the plan instead of running it. */
  dryRun?: boolean;
  log?: (line: string) => void;
  uid?: number;
}

/** Installs what `req` lacks; returns the commands it ran (or would run). Throws with the remedy on failure. */
export function ensurePythonModules(req: PythonRequirement, opts: EnsureOptions = {}): string[][] {
  return ensurePackages({ what: `${req.python} cannot import`, missing: () => missingModules(req), packages: req.packages }, opts);
}

/** Installs the packages of `req` when one of its commands is missing; as ensurePythonModules. */
export function ensureCommands(req: CommandRequirement, opts: EnsureOptions = {}): string[][] {
  return ensurePackages({ what: 'not installed:', missing: () => missingCommands(req), packages: req.packages }, opts);
}

interface Want { what: string; missing: () => string[]; packages: string[] }

function ensurePackages(req: Want, opts: EnsureOptions): string[][] {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const missing = req.missing();
  if (missing.length === 0) return [];
  const uid = opts.uid ?? process.getuid?.() ?? 0;
  const passwordlessSudo = uid !== 0 && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
  const plan = installPlan(req.packages, { uid, passwordlessSudo });
  if ('error' in plan) throw new Error(`${req.what} ${missing.join(', ')}: ${plan.error}`);
  log(`${req.what} ${missing.join(', ')}; installing ${req.packages.join(' ')}`);
  for (const cmd of plan.commands) {
    log(`$ ${cmd.join(' ')}`);
    if (opts.dryRun) continue;
    const r = spawnSync(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (r.status !== 0) throw new Error(`"${cmd.join(' ')}" failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`}); install ${req.packages.join(' ')} and run the tests again`);
  }
  if (!opts.dryRun) {
    const still = req.missing();
    if (still.length) throw new Error(`after installing ${req.packages.join(' ')}, still ${req.what} ${still.join(', ')}`);
  }
  return plan.commands;
}
