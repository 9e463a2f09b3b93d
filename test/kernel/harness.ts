// Shared by the kernel tests that drive real Jupyter clients: a temporary Jupyter data directory with the
// orz kernel (installed by `orz kernel install --prefix`, the user's way) and tslab's kernel spec, and a
// runner for the Python driver scripts (Debian's /usr/bin/python3 with jupyter_client).

import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PYTHON = '/usr/bin/python3';
export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const ORZ_BIN = join(REPO, 'bin', 'orz.js');
export const DRIVERS = fileURLToPath(new URL('./', import.meta.url));

/** Why the Jupyter Python packages cannot be used, or null when they can. */
export function jupyterPythonProblem(): string | null {
  const r = spawnSync(PYTHON, ['-c', 'import jupyter_client, nbclient, nbformat, jupyter_kernel_test'], { encoding: 'utf8' });
  if (r.error) return `${PYTHON}: ${r.error.message}`;
  return r.status === 0 ? null : `${PYTHON} lacks Jupyter packages (apt-get install python3-jupyter-client python3-nbclient python3-nbformat python3-jupyter-kernel-test): ${r.stderr.trim().split('\n').at(-1)}`;
}

export interface TempJupyter { prefix: string; jupyterPath: string; env: NodeJS.ProcessEnv; cleanup(): Promise<void> }

/** A prefix with kernels "orz" (through the CLI) and, when asked, "tslab". JUPYTER_PATH points at it only. */
export async function tempJupyter(opts: { tslab?: boolean } = {}): Promise<TempJupyter> {
  const prefix = await mkdtemp(join(tmpdir(), 'orz-jupyter-'));
  const install = spawnSync(process.execPath, [ORZ_BIN, 'kernel', 'install', '--prefix', prefix], { encoding: 'utf8', timeout: 120_000 });
  if (install.status !== 0) throw new Error(`orz kernel install failed (${install.status}): ${install.stderr}`);
  const jupyterPath = join(prefix, 'share', 'jupyter');
  if (opts.tslab) {
    // tslab's own installer needs Python's jupyter command; its kernel.json is [tslab, "kernel", "--config-path", file].
    const dir = join(jupyterPath, 'kernels', 'tslab');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'kernel.json'), JSON.stringify({
      argv: [process.execPath, join(REPO, 'node_modules', 'tslab', 'bin', 'tslab'), 'kernel', '--config-path', '{connection_file}'],
      display_name: 'TypeScript (tslab)', language: 'typescript',
    }));
  }
  // A private data dir too, so nothing the developer installed under ~/.local/share/jupyter is picked up first.
  const dataDir = join(prefix, 'user-data');
  return {
    prefix, jupyterPath,
    env: { ...process.env, JUPYTER_PATH: jupyterPath, JUPYTER_DATA_DIR: dataDir, JUPYTER_RUNTIME_DIR: join(prefix, 'runtime'), PYTHONUNBUFFERED: '1' },
    cleanup: () => rm(prefix, { recursive: true, force: true }),
  };
}

export interface PythonRun { code: number | null; stdout: string; stderr: string }

/** Runs a driver script from test/kernel/ (async, so the test runner stays responsive). */
export function runDriver(script: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number, cwd = REPO): Promise<PythonRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [join(DRIVERS, script), ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} timed out after ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr.slice(-4000)}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The JSON lines a driver printed (other lines are ignored). */
export function jsonLines<T>(stdout: string): T[] {
  return stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as T);
}
