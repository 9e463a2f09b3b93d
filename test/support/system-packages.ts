// What the test suite needs from the operating system, installed by the test command itself so that
// `npm test` passes on a fresh machine: Debian's Jupyter clients (the kernel and notebook tests drive the
// orz kernel with them). Missing packages are installed with apt-get as root, or through `sudo -n` when
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
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const missing = missingModules(req);
  if (missing.length === 0) return [];
  const uid = opts.uid ?? process.getuid?.() ?? 0;
  const passwordlessSudo = uid !== 0 && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
  const plan = installPlan(req.packages, { uid, passwordlessSudo });
  if ('error' in plan) throw new Error(`${req.python} cannot import ${missing.join(', ')}: ${plan.error}`);
  log(`${req.python} cannot import ${missing.join(', ')}; installing ${req.packages.join(' ')}`);
  for (const cmd of plan.commands) {
    log(`$ ${cmd.join(' ')}`);
    if (opts.dryRun) continue;
    const r = spawnSync(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (r.status !== 0) throw new Error(`"${cmd.join(' ')}" failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`}); install ${req.packages.join(' ')} and run the tests again`);
  }
  if (!opts.dryRun) {
    const still = missingModules(req);
    if (still.length) throw new Error(`${req.python} still cannot import ${still.join(', ')} after installing ${req.packages.join(' ')}`);
  }
  return plan.commands;
}
