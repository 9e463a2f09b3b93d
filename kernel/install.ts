// Kernel specs without Python: `orz kernel install` writes kernel.json and the logos where Jupyter looks
// (jupyter_core's data directories), `list` and `remove` read the same search path.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../sdk/util/atomic-write.ts';
import { ORZ_VERSION } from './exec/version.ts';
import { logoPng } from './logo.ts';

export const DEFAULT_KERNEL_NAME = 'orz';
export const DEFAULT_DISPLAY_NAME = 'TypeScript (orz)';
const NAME_PATTERN = /^[a-z0-9._-]+$/i;

/** Where to install: the user's data directory, a prefix (P/share/jupyter), or the active Python env's prefix. */
export type InstallLocation = { kind: 'user' } | { kind: 'prefix'; prefix: string } | { kind: 'sys-prefix' };

/** jupyter_core's jupyter_data_dir(): $JUPYTER_DATA_DIR, else the platform's per-user data directory. */
export function userDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env['JUPYTER_DATA_DIR']) return resolve(env['JUPYTER_DATA_DIR']);
  const home = env['HOME'] || homedir();
  if (process.platform === 'darwin') return join(home, 'Library', 'Jupyter');
  if (process.platform === 'win32') return join(env['APPDATA'] || join(home, 'AppData', 'Roaming'), 'jupyter');
  return join(env['XDG_DATA_HOME'] || join(home, '.local', 'share'), 'jupyter');
}

/** The Python environment Jupyter runs from, as far as we can tell without Python: an active venv or conda env. */
function sysPrefix(env: NodeJS.ProcessEnv = process.env): string | null {
  return env['VIRTUAL_ENV'] || env['CONDA_PREFIX'] || null;
}

export function kernelsDir(location: InstallLocation, env: NodeJS.ProcessEnv = process.env): string {
  switch (location.kind) {
    case 'user': return join(userDataDir(env), 'kernels');
    case 'prefix': return join(resolve(location.prefix), 'share', 'jupyter', 'kernels');
    case 'sys-prefix': {
      const p = sysPrefix(env);
      if (!p) throw new Error('--sys-prefix: no active Python environment (neither VIRTUAL_ENV nor CONDA_PREFIX is set); use --prefix <dir> or --user');
      return join(p, 'share', 'jupyter', 'kernels');
    }
  }
}

/** Directories holding kernels/ in Jupyter's search order (jupyter_core's jupyter_path()). */
export function jupyterDataPath(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs: string[] = [];
  for (const p of (env['JUPYTER_PATH'] ?? '').split(delimiter)) if (p) dirs.push(resolve(p));
  dirs.push(userDataDir(env));
  const sp = sysPrefix(env);
  if (sp) dirs.push(join(sp, 'share', 'jupyter'));
  if (process.platform !== 'win32') dirs.push('/usr/local/share/jupyter', '/usr/share/jupyter');
  return [...new Set(dirs)];
}

function checkName(name: string): void {
  if (!NAME_PATTERN.test(name)) throw new Error(`kernel name "${name}" is invalid: use letters, digits, ".", "_" and "-" only`);
}

/** The command Jupyter runs: this node binary and this checkout's bin/orz.js, so no PATH lookup is involved. */
export function kernelSpec(displayName = DEFAULT_DISPLAY_NAME): Record<string, unknown> {
  const orzBin = fileURLToPath(new URL('../bin/orz.js', import.meta.url));
  return {
    argv: [process.execPath, orzBin, 'kernel', 'run', '--connection-file', '{connection_file}'],
    display_name: displayName,
    language: 'typescript',
    interrupt_mode: 'message',
    metadata: { orz_version: ORZ_VERSION, debugger: false },
  };
}

export interface InstallOptions { location?: InstallLocation; name?: string; displayName?: string; env?: NodeJS.ProcessEnv }

/** Writes <kernels dir>/<name>/{kernel.json, logo-32x32.png, logo-64x64.png}; returns that directory. */
export async function installKernel(opts: InstallOptions = {}): Promise<string> {
  const name = (opts.name ?? DEFAULT_KERNEL_NAME).toLowerCase(); // Jupyter treats kernel names case-insensitively
  checkName(name);
  const dir = join(kernelsDir(opts.location ?? { kind: 'user' }, opts.env), name);
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, 'kernel.json'), `${JSON.stringify(kernelSpec(opts.displayName), null, 2)}\n`);
  for (const size of [32, 64]) await writeFileAtomic(join(dir, `logo-${size}x${size}.png`), [logoPng(size)]);
  return dir;
}

export interface KernelSpecEntry { name: string; dir: string; displayName: string; orz: boolean; shadowed: boolean }

function readSpec(dir: string): { displayName: string; orz: boolean } | null {
  try {
    const spec = JSON.parse(readFileSync(join(dir, 'kernel.json'), 'utf8')) as { display_name?: unknown; metadata?: { orz_version?: unknown } };
    return { displayName: String(spec.display_name ?? ''), orz: typeof spec.metadata?.orz_version === 'string' };
  } catch {
    return null;
  }
}

/** Every kernel spec on the search path; `shadowed` ones are hidden by an earlier one with the same name. */
export function listKernels(env: NodeJS.ProcessEnv = process.env): KernelSpecEntry[] {
  const out: KernelSpecEntry[] = [];
  const seen = new Set<string>();
  for (const base of jupyterDataPath(env)) {
    const kdir = join(base, 'kernels');
    if (!existsSync(kdir)) continue;
    for (const entry of readdirSync(kdir).sort()) {
      const dir = join(kdir, entry);
      if (!statSync(dir).isDirectory()) continue;
      const spec = readSpec(dir);
      if (!spec) continue;
      const name = entry.toLowerCase();
      out.push({ name, dir, displayName: spec.displayName, orz: spec.orz, shadowed: seen.has(name) });
      seen.add(name);
    }
  }
  return out;
}

/**
 * Removes the orz kernel spec `name`: from `location` if given, else the one Jupyter would use (first on the
 * search path). Refuses specs that orz did not write. Returns the removed directory.
 */
export async function removeKernel(opts: { name?: string; location?: InstallLocation; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const name = (opts.name ?? DEFAULT_KERNEL_NAME).toLowerCase();
  checkName(name);
  let dir: string | undefined;
  if (opts.location) {
    dir = join(kernelsDir(opts.location, opts.env), name);
    if (!existsSync(join(dir, 'kernel.json'))) throw new Error(`no kernel spec "${name}" in ${dir}`);
  } else {
    dir = listKernels(opts.env).find((k) => k.name === name && !k.shadowed)?.dir;
    if (!dir) throw new Error(`no kernel spec "${name}" on the Jupyter search path (${jupyterDataPath(opts.env).join(', ')})`);
  }
  if (!readSpec(dir)?.orz) throw new Error(`${dir} is not an orz kernel spec (no metadata.orz_version in kernel.json); not removing it`);
  await rm(dir, { recursive: true });
  return dir;
}
