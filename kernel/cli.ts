// `orz kernel ...`: install / list / remove the Jupyter kernel spec, and run the kernel (what Jupyter calls).
// sdk/cli/main.ts imports this module dynamically, so the SDK never depends on the kernel.

import { parseArgs } from 'node:util';
import { DEFAULT_DISPLAY_NAME, DEFAULT_KERNEL_NAME, installKernel, listKernels, removeKernel, type InstallLocation } from './install.ts';

export const KERNEL_USAGE = `orz kernel: the TypeScript Jupyter kernel

usage:
  orz kernel install [--user | --prefix DIR | --sys-prefix] [--name NAME] [--display-name TEXT]
      Writes the kernel spec (kernel.json and logos). Default: --user ($JUPYTER_DATA_DIR or
      ~/.local/share/jupyter/kernels/orz). --prefix DIR installs into DIR/share/jupyter/kernels;
      --sys-prefix into the active virtualenv / conda env.
  orz kernel list
      Kernel specs on Jupyter's search path (JUPYTER_PATH, user dir, env, system).
  orz kernel remove [NAME] [--user | --prefix DIR | --sys-prefix]
      Removes an orz kernel spec (default name: orz).
  orz kernel run --connection-file FILE   (or -f FILE)
      Runs the kernel; Jupyter does this through kernel.json.
`;

export class KernelUsageError extends Error {}

function location(values: { user?: boolean; prefix?: string; 'sys-prefix'?: boolean }): InstallLocation | undefined {
  const chosen = [values.user && 'user', values.prefix !== undefined && 'prefix', values['sys-prefix'] && 'sys-prefix'].filter(Boolean);
  if (chosen.length > 1) throw new KernelUsageError(`choose one of --user, --prefix, --sys-prefix (got ${chosen.map((c) => `--${c}`).join(', ')})`);
  if (values.prefix !== undefined) {
    if (values.prefix === '') throw new KernelUsageError('--prefix needs a directory');
    return { kind: 'prefix', prefix: values.prefix };
  }
  if (values['sys-prefix']) return { kind: 'sys-prefix' };
  if (values.user) return { kind: 'user' };
  return undefined;
}

const LOCATION_OPTIONS = { user: { type: 'boolean' }, prefix: { type: 'string' }, 'sys-prefix': { type: 'boolean' } } as const;

/** Runs `orz kernel <argv>`; returns the exit code (run never returns while the kernel lives). Usage errors print the usage. */
export async function kernelCommand(argv: string[]): Promise<number> {
  try {
    return await dispatch(argv);
  } catch (e) {
    if (e instanceof KernelUsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${(e as Error).message}\n\n${KERNEL_USAGE}`);
      return 2;
    }
    throw e;
  }
}

async function dispatch(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'install': {
      const { values, positionals } = parseArgs({
        args: rest, allowPositionals: true,
        options: { ...LOCATION_OPTIONS, name: { type: 'string' }, 'display-name': { type: 'string' } },
      });
      if (positionals.length) throw new KernelUsageError(`orz kernel install: unexpected argument "${positionals[0]}"`);
      const dir = await installKernel({
        location: location(values) ?? { kind: 'user' }, name: values.name ?? DEFAULT_KERNEL_NAME, displayName: values['display-name'] ?? DEFAULT_DISPLAY_NAME,
      });
      process.stdout.write(`installed kernel spec "${values.name ?? DEFAULT_KERNEL_NAME}" in ${dir}\n`);
      return 0;
    }
    case 'list': {
      const { positionals } = parseArgs({ args: rest, allowPositionals: true, options: {} });
      if (positionals.length) throw new KernelUsageError(`orz kernel list: unexpected argument "${positionals[0]}"`);
      const specs = listKernels();
      if (specs.length === 0) process.stdout.write('no kernel specs found\n');
      const width = Math.max(0, ...specs.map((s) => s.name.length));
      for (const s of specs) {
        const notes = [s.orz ? 'orz' : '', s.shadowed ? 'shadowed' : ''].filter(Boolean).join(', ');
        process.stdout.write(`${s.name.padEnd(width)}  ${s.dir}${notes ? `  (${notes})` : ''}\n`);
      }
      return 0;
    }
    case 'remove': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: LOCATION_OPTIONS });
      if (positionals.length > 1) throw new KernelUsageError('orz kernel remove: at most one kernel name');
      const loc = location(values);
      const dir = await removeKernel({ name: positionals[0] ?? DEFAULT_KERNEL_NAME, ...(loc ? { location: loc } : {}) });
      process.stdout.write(`removed ${dir}\n`);
      return 0;
    }
    case 'run': {
      const { values, positionals } = parseArgs({
        args: rest, allowPositionals: true, options: { 'connection-file': { type: 'string', short: 'f' } },
      });
      const file = values['connection-file'] ?? (positionals.length === 1 ? positionals[0] : undefined);
      if (!file) throw new KernelUsageError('orz kernel run: --connection-file FILE is required');
      const { runKernel } = await import('./main.ts');
      await runKernel(file);
      return 0;
    }
    case undefined: case 'help': case '--help': case '-h':
      process.stdout.write(KERNEL_USAGE);
      return sub === undefined ? 2 : 0;
    default:
      throw new KernelUsageError(`orz kernel: unknown subcommand "${sub}"`);
  }
}
