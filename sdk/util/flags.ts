// Command-line flags for `orz` commands: each flag declared once with its type and help text, so
// parsing, validation ("--limit must be a positive integer, got \"abc\"") and `--help` come from one table.

import { parseArgs } from 'node:util';

/** A mistake in how a command was called: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  constructor(message: string, readonly usage?: string) {
    super(message);
    this.name = 'UsageError';
  }
}

interface FlagBase { help: string; short?: string; arg?: string }
export type FlagSpec =
  | (FlagBase & { type: 'string'; default?: string; choices?: readonly string[] })
  | (FlagBase & { type: 'boolean' })
  | (FlagBase & { type: 'int'; default?: number; min?: number })
  | (FlagBase & { type: 'number'; default?: number; min?: number; exclusiveMin?: boolean });

type ValueOf<F extends FlagSpec> =
  F extends { type: 'boolean' } ? boolean
    : F extends { type: 'int' | 'number'; default: number } ? number
      : F extends { type: 'int' | 'number' } ? number | undefined
        : F extends { type: 'string'; default: string } ? string
          : string | undefined;

export type FlagValues<S extends Record<string, FlagSpec>> = { [K in keyof S]: ValueOf<S[K]> };

export interface CommandSpec<S extends Record<string, FlagSpec>> {
  /** e.g. "orz eval". */
  name: string;
  /** The synopsis after the name, e.g. "<config.json> [options]". */
  synopsis: string;
  /** One or two lines on what the command does. */
  summary: string;
  flags: S;
  /** Positional arguments allowed (default none). */
  positionals?: { min: number; max: number; name: string };
}

/** Declares a command (the identity, so the flag table keeps its literal types). */
export function defineCommand<S extends Record<string, FlagSpec>>(cmd: CommandSpec<S>): CommandSpec<S> {
  return cmd;
}

/** The `--help` text of a command. */
export function commandHelp<S extends Record<string, FlagSpec>>(cmd: CommandSpec<S>): string {
  const rows = Object.entries(cmd.flags).map(([name, f]) => {
    const arg = f.type === 'boolean' ? '' : ` ${f.arg ?? (f.type === 'string' ? 'TEXT' : 'N')}`;
    const dflt = 'default' in f && f.default !== undefined ? ` (default ${f.default})` : '';
    return [`  ${f.short ? `-${f.short}, ` : ''}--${name}${arg}`, `${f.help}${dflt}`] as const;
  });
  rows.push(['  -h, --help', 'show this help']);
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return `usage: ${[cmd.name, cmd.synopsis].filter(Boolean).join(' ')}\n${cmd.summary}\n\noptions:\n${rows.map(([l, r]) => `${l.padEnd(width)}${r}`).join('\n')}\n`;
}

function describe(v: string): string {
  return JSON.stringify(v);
}

function checkNumber(flag: string, f: Extract<FlagSpec, { type: 'int' | 'number' }>, raw: string): number {
  // Number('') is 0 and Number(' 1') is 1: only a plain decimal literal counts as a number here.
  const n = /^-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(raw.trim()) && raw.trim() === raw ? Number(raw) : NaN;
  const min = f.min ?? -Infinity;
  if (f.type === 'int') {
    if (!Number.isInteger(n) || n < min) {
      const what = min === 1 ? 'a positive integer' : min === 0 ? 'an integer >= 0' : min > -Infinity ? `an integer >= ${min}` : 'an integer';
      throw new UsageError(`--${flag} must be ${what}, got ${describe(raw)}`);
    }
    return n;
  }
  const exclusive = f.type === 'number' && f.exclusiveMin;
  if (!Number.isFinite(n) || (exclusive ? n <= min : n < min)) {
    throw new UsageError(`--${flag} must be a number${min > -Infinity ? ` ${exclusive ? '>' : '>='} ${min}` : ''}, got ${describe(raw)}`);
  }
  return n;
}

/**
 * Parses `argv` for `cmd`. Returns null after printing the help when `--help`/`-h` is given (anywhere).
 * Unknown flags, missing values and values of the wrong type throw a UsageError naming the flag.
 */
export function parseFlags<S extends Record<string, FlagSpec>>(cmd: CommandSpec<S>, argv: string[], out: (text: string) => void = (t) => process.stdout.write(t)): { values: FlagValues<S>; positionals: string[] } | null {
  const usage = commandHelp(cmd);
  if (argv.includes('--help') || argv.includes('-h')) { out(usage); return null; }
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, f] of Object.entries(cmd.flags)) options[name] = { type: f.type === 'boolean' ? 'boolean' : 'string', ...(f.short ? { short: f.short } : {}) };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    // node's messages name the flag ("Unknown option '--x'", "Option '--limit <value>' argument missing")
    throw new UsageError(`${cmd.name}: ${(e as Error).message.split('. ')[0]}`, usage);
  }
  const values: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(cmd.flags)) {
    const raw = parsed.values[name];
    if (f.type === 'boolean') { values[name] = raw === true; continue; }
    if (raw === undefined) { values[name] = f.default; continue; }
    const text = raw as string;
    if (f.type === 'string') {
      if (text === '') throw new UsageError(`${cmd.name}: --${name} needs a value`, usage);
      if (f.choices && !f.choices.includes(text)) throw new UsageError(`${cmd.name}: --${name} must be one of ${f.choices.join(', ')}, got ${describe(text)}`, usage);
      values[name] = text;
    } else {
      try {
        values[name] = checkNumber(name, f, text);
      } catch (e) {
        throw new UsageError(`${cmd.name}: ${(e as Error).message}`, usage);
      }
    }
  }
  const pos = cmd.positionals ?? { min: 0, max: 0, name: '' };
  const n = parsed.positionals.length;
  if (n < pos.min || n > pos.max) {
    const want = pos.max === 0 ? 'no positional arguments' : pos.min === pos.max ? `exactly ${pos.min} ${pos.name}` : pos.min === 0 ? `at most ${pos.max} ${pos.name}` : `${pos.min} to ${pos.max} ${pos.name}`;
    throw new UsageError(`${cmd.name}: expected ${want}, got ${n === 0 ? 'none' : parsed.positionals.map(describe).join(' ')}`, usage);
  }
  return { values: values as FlagValues<S>, positionals: parsed.positionals };
}

/** A command with subcommands (`orz session start|list|status|stop`): its help lists each one. */
export interface CommandGroup {
  /** e.g. "orz session". */
  name: string;
  summary: string;
  commands: readonly CommandSpec<Record<string, FlagSpec>>[];
}

/** The `--help` text of a command group: each subcommand's synopsis and summary. */
export function groupHelp(group: CommandGroup): string {
  const lines = group.commands.map((c) => `  ${[c.name, c.synopsis].filter(Boolean).join(' ')}\n${c.summary.split('\n').map((l) => `      ${l}`).join('\n')}`);
  return `${group.name}: ${group.summary}\n\nusage:\n${lines.join('\n')}\n\n\`${group.name} <command> --help\` for a command's options\n`;
}
