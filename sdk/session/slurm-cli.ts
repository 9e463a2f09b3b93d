// The Slurm side of `orz session`: the flags `start --slurm` and `sbatch` share, the options they turn into, and
// `orz session sbatch`, which prints (or writes) a batch script that runs a session with its workers as steps of
// the batch job.

import { chmod } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { defineCommand, parseFlags, UsageError, type FlagSpec } from '../util/flags.ts';
import { DEFAULT_SESSION, checkSessionName } from './paths.ts';
import { listenHost, type SlurmOptions } from './slurm.ts';

export const SLURM_FLAGS = {
  nodes: { type: 'int', min: 1, arg: 'N', help: 'with --slurm outside an allocation: nodes to ask for (default 1)' },
  'workers-per-node': { type: 'int', min: 1, arg: 'K', help: 'with --slurm: rollout workers (job steps) on each node (default 1)' },
  partition: { type: 'string', arg: 'P', help: 'with --slurm: Slurm partition of the allocation' },
  time: { type: 'string', arg: 'T', help: 'with --slurm: time limit of the allocation (e.g. 2:00:00)' },
} as const satisfies Record<string, FlagSpec>;

interface SlurmFlagValues { nodes?: number; 'workers-per-node'?: number; partition?: string; time?: string; listen?: string }

/** `start --slurm` flags as the session's Slurm options; the workers' socket binds where --listen does. */
export function slurmOptions(v: SlurmFlagValues): SlurmOptions {
  return {
    ...(v.nodes !== undefined ? { nodes: v.nodes } : {}),
    ...(v['workers-per-node'] !== undefined ? { workersPerNode: v['workers-per-node'] } : {}),
    ...(v.partition ? { partition: v.partition } : {}),
    ...(v.time ? { time: v.time } : {}),
    ...(listenHost(v.listen) ? { bindHost: listenHost(v.listen)! } : {}),
  };
}

/** Slurm flags without --slurm are a mistake, not something to ignore. */
export function checkSlurmFlags(command: string, v: SlurmFlagValues & { slurm?: boolean; workers?: number }): void {
  const given = (Object.keys(SLURM_FLAGS) as (keyof typeof SLURM_FLAGS)[]).filter((f) => v[f] !== undefined);
  if (!v.slurm && given.length) throw new UsageError(`${command}: --${given[0]} needs --slurm`);
  if (v.slurm && v.workers !== undefined) throw new UsageError(`${command}: with --slurm the workers are --nodes x --workers-per-node; drop --workers`);
}

export const SBATCH = defineCommand({
  name: 'orz session sbatch',
  synopsis: '[options]',
  summary: 'Prints a Slurm batch script that runs a session (on the first node) with its rollout workers as job steps;\n' +
    'submit it with `sbatch`, then attach from a notebook with the connection file in the session directory.',
  flags: {
    name: { type: 'string', arg: 'NAME', help: `session name (default "${DEFAULT_SESSION}")` },
    ...SLURM_FLAGS,
    nodes: { type: 'int', min: 1, arg: 'N', help: 'nodes of the job (default 1)' },
    port: { type: 'int', min: 1, arg: 'PORT', help: 'request port of the session on the first node (default: a free port; see the connection file)' },
    backend: { type: 'string', arg: 'B', help: 'tensor backend of the session and its workers' },
    output: { type: 'string', short: 'o', arg: 'FILE', help: 'write the script to FILE (mode 0755) instead of printing it' },
  },
});

const ORZ_BIN = fileURLToPath(new URL('../../bin/orz.js', import.meta.url));
const quote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export interface SbatchOptions { name: string; nodes: number; workersPerNode: number; partition?: string; time?: string; port?: number; backend?: string }

/**
 * The batch script: the session runs in the foreground in the batch step, so the job lasts as long as the session
 * (`orz session stop` ends both); its workers are steps of the same job. It listens on the first node's name so
 * that workers on the other nodes and clients reach it; the key stays in the session directory, not in the script.
 */
export function sbatchScript(o: SbatchOptions): string {
  const directives = [`--job-name=orz-session-${o.name}`, `--nodes=${o.nodes}`, `--ntasks-per-node=${o.workersPerNode}`,
    ...(o.partition ? [`--partition=${o.partition}`] : []), ...(o.time ? [`--time=${o.time}`] : []), `--output=orz-session-${o.name}-%j.log`];
  const start = [quote(process.execPath), quote(ORZ_BIN), 'session', 'start', '--foreground', '--slurm', '--name', quote(o.name),
    '--workers-per-node', String(o.workersPerNode), '--listen', `"tcp://$(hostname):${o.port ?? '*'}"`, ...(o.backend ? ['--backend', quote(o.backend)] : [])];
  return [
    '#!/bin/bash',
    ...directives.map((d) => `#SBATCH ${d}`),
    '# orz session with its rollout workers as steps of this job (orz session sbatch).',
    `# Attach with Session.attach('${o.name}') once the connection file is written (orz session status ${o.name}).`,
    'set -euo pipefail',
    `exec ${start.join(' ')}`,
    '',
  ].join('\n');
}

export async function sbatchCommand(argv: string[]): Promise<number> {
  const parsed = parseFlags(SBATCH, argv);
  if (!parsed) return 0;
  const v = parsed.values;
  const script = sbatchScript({
    name: checkSessionName(v.name ?? DEFAULT_SESSION), nodes: v.nodes ?? 1, workersPerNode: v['workers-per-node'] ?? 1,
    partition: v.partition, time: v.time, port: v.port, backend: v.backend,
  });
  if (!v.output) {
    process.stdout.write(script);
    return 0;
  }
  await writeFileAtomic(v.output, script);
  await chmod(v.output, 0o755);
  process.stdout.write(`wrote ${v.output}; submit it with: sbatch ${v.output}\n`);
  return 0;
}
