// `orz kernel ...`: install / list / remove the Jupyter kernel spec, and run the kernel (what Jupyter calls).
// sdk/cli/main.ts imports this module dynamically, so the SDK never depends on the kernel.

// The flag table is sdk/util/flags.ts: a dependency-free module (node:util only), so importing it keeps the
// kernel's start-up free of the SDK and tfjs.
import { commandHelp, defineCommand, groupHelp, parseFlags, UsageError, type CommandSpec, type FlagSpec } from '../sdk/util/flags.ts';
import { DEFAULT_DISPLAY_NAME, DEFAULT_KERNEL_NAME, installKernel, listKernels, removeKernel, type InstallLocation } from './install.ts';

const LOCATION_FLAGS = {
  user: { type: 'boolean', help: 'this user\'s kernels: $JUPYTER_DATA_DIR or ~/.local/share/jupyter/kernels (the default)' },
  prefix: { type: 'string', arg: 'DIR', help: 'DIR/share/jupyter/kernels' },
  'sys-prefix': { type: 'boolean', help: 'the active virtualenv or conda env' },
} as const;

const INSTALL = defineCommand({
  name: 'orz kernel install',
  synopsis: '[--user | --prefix DIR | --sys-prefix] [--name NAME] [--display-name TEXT]',
  summary: 'Writes the kernel spec (kernel.json and logos) that Jupyter starts the orz kernel from.',
  flags: {
    ...LOCATION_FLAGS,
    name: { type: 'string', arg: 'NAME', help: `kernel name (default "${DEFAULT_KERNEL_NAME}")` },
    'display-name': { type: 'string', arg: 'TEXT', help: `name shown in Jupyter (default "${DEFAULT_DISPLAY_NAME}")` },
  },
});

const LIST = defineCommand({
  name: 'orz kernel list',
  synopsis: '',
  summary: 'Kernel specs on Jupyter\'s search path (JUPYTER_PATH, user dir, env, system).',
  flags: {},
});

const REMOVE = defineCommand({
  name: 'orz kernel remove',
  synopsis: '[NAME] [--user | --prefix DIR | --sys-prefix]',
  summary: `Removes an orz kernel spec (default name "${DEFAULT_KERNEL_NAME}").`,
  positionals: { min: 0, max: 1, name: 'kernel name' },
  flags: LOCATION_FLAGS,
});

const RUN = defineCommand({
  name: 'orz kernel run',
  synopsis: '--connection-file FILE   (or -f FILE, or FILE)',
  summary: 'Runs the kernel; Jupyter does this through kernel.json.',
  positionals: { min: 0, max: 1, name: 'connection file' },
  flags: { 'connection-file': { type: 'string', short: 'f', arg: 'FILE', help: 'the connection file Jupyter wrote' } },
});

export const KERNEL_USAGE = groupHelp({ name: 'orz kernel', summary: 'the TypeScript Jupyter kernel', commands: [INSTALL, LIST, REMOVE, RUN] });

function location(command: CommandSpec<Record<string, FlagSpec>>, values: { user?: boolean; prefix?: string | undefined; 'sys-prefix'?: boolean }): InstallLocation | undefined {
  const chosen = [values.user && 'user', values.prefix !== undefined && 'prefix', values['sys-prefix'] && 'sys-prefix'].filter(Boolean);
  if (chosen.length > 1) throw new UsageError(`${command.name}: choose one of --user, --prefix, --sys-prefix (got ${chosen.map((c) => `--${c}`).join(', ')})`, commandHelp(command));
  if (values.prefix !== undefined) return { kind: 'prefix', prefix: values.prefix };
  if (values['sys-prefix']) return { kind: 'sys-prefix' };
  if (values.user) return { kind: 'user' };
  return undefined;
}

/** Runs `orz kernel <argv>`; returns the exit code (run never returns while the kernel lives). Usage errors print the usage. */
export async function kernelCommand(argv: string[]): Promise<number> {
  try {
    return await dispatch(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${e.message}\n\n${e.usage ?? KERNEL_USAGE}`);
      return 2;
    }
    throw e;
  }
}

async function dispatch(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'install': {
      const parsed = parseFlags(INSTALL, rest);
      if (!parsed) return 0;
      const { values } = parsed;
      const name = values.name ?? DEFAULT_KERNEL_NAME;
      const dir = await installKernel({
        location: location(INSTALL, values) ?? { kind: 'user' }, name, displayName: values['display-name'] ?? DEFAULT_DISPLAY_NAME,
      });
      process.stdout.write(`installed kernel spec "${name}" in ${dir}\n`);
      return 0;
    }
    case 'list': {
      if (!parseFlags(LIST, rest)) return 0;
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
      const parsed = parseFlags(REMOVE, rest);
      if (!parsed) return 0;
      const loc = location(REMOVE, parsed.values);
      const dir = await removeKernel({ name: parsed.positionals[0] ?? DEFAULT_KERNEL_NAME, ...(loc ? { location: loc } : {}) });
      process.stdout.write(`removed ${dir}\n`);
      return 0;
    }
    case 'run': {
      const parsed = parseFlags(RUN, rest);
      if (!parsed) return 0;
      const file = parsed.values['connection-file'] ?? parsed.positionals[0];
      if (!file) throw new UsageError(`${RUN.name}: --connection-file FILE is required`, commandHelp(RUN));
      const { runKernel } = await import('./main.ts');
      await runKernel(file);
      return 0;
    }
    case undefined: case 'help': case '--help': case '-h':
      process.stdout.write(KERNEL_USAGE);
      return sub === undefined ? 2 : 0;
    default:
      throw new UsageError(`orz kernel: unknown subcommand "${sub}"`);
  }
}
