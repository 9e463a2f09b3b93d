// The PyTorch reference needs Debian's python3-torch with OpenBLAS behind it (without
// libopenblas0-pthread, Debian's torch falls back to the reference BLAS, about 30x slower). CI
// machines start clean, so the bench installs both with apt-get when they are missing.

import { spawnSync } from 'node:child_process';

export const PYTHON = '/usr/bin/python3';
const PACKAGES = ['python3-torch', 'libopenblas0-pthread'];

function installed(pkg: string): boolean {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

function torchImports(): boolean {
  return spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

function run(cmd: string[]): void {
  process.stderr.write(`$ ${cmd.join(' ')}\n`);
  const r = spawnSync(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.status !== 0) throw new Error(`bench: "${cmd.join(' ')}" failed (exit ${r.status ?? r.signal}); install ${PACKAGES.join(' ')} by hand or run with --no-pytorch`);
}

/** Installs python3-torch and libopenblas0-pthread with apt-get if either is missing. */
export function ensurePythonTorch(): void {
  const missing = PACKAGES.filter((p) => !installed(p));
  if (missing.length === 0 && torchImports()) return;
  const sudo = process.getuid?.() === 0 ? [] : ['sudo', '-n'];
  process.stderr.write(`bench: installing ${missing.join(' ') || PACKAGES.join(' ')} for the PyTorch reference\n`);
  run([...sudo, 'apt-get', 'update']);
  run([...sudo, 'apt-get', 'install', '-y', '--no-install-recommends', ...PACKAGES]);
  if (!torchImports()) throw new Error(`bench: ${PYTHON} still cannot import torch after installing ${PACKAGES.join(' ')}`);
}
