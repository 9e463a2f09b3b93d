// orz against PyTorch at three model sizes, side by side in one run (issue 12): the PPO update,
// the forward pass and batched KV-cached sampling of 64 prompts, at the engine bench model (3.4M),
// a Qwen2-shaped 31M model and Qwen2.5-0.5B's shape with random weights; how time grows with the
// tokens per row (forward at T 256/1024/4096, the update at the lengths each size can afford), and
// the peak RSS of every phase on both sides.
//
//   npm run bench -- scale [--sizes bench,30m,0.5b] [--phases train,forward,sampling] [--layers N]
//       [--no-install] [--out FILE] [--keep] [--reuse size=DIR,... --redo engine:phase,...] [--note TEXT]
//
// --phases runs only those phases (the others are absent from the record); --layers N sets every chosen
// size's depth to N layers, and a size named <size>-L<N> (e.g. --sizes 30m,0.5b-L2) sets that one's: the
// same widths, vocab and heads at a fraction of the memory. The full-depth 0.5b cells alone (~18 GB):
//   npm run bench -- scale --sizes 0.5b --phases forward,train
//
// --keep leaves each size's directory (weights, size.json, every phase's result file); --reuse takes such a
// directory back for a size: its weights and results are read, and only the --redo pieces (engine:phase for
// every size, or size/engine:phase, e.g. 30m/orz:forward) run again. --note goes into the record (say there what the reused run was and why pieces were redone).
//
// Every (size, phase, engine) runs in its own process: its peak RSS is its own, and a phase killed
// for memory is recorded as failed without ending the run. orz runs first in each phase (its init
// phase writes the weights both engines load), then PyTorch (bench/scale_reference.py, Debian's
// python3-torch over OpenBLAS, 2 threads; installed with apt-get when missing unless --no-install).
// The workloads per size are in bench/scale-sizes.ts, shrunk with the model so a full run takes
// about 15 minutes on a 2-core machine. Writes bench/results/scale-<date>.json.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../sdk/util/atomic-write.ts';
import { median } from './comparison.ts';
import { ensurePythonTorch, PYTHON } from './python-torch.ts';
import { DEFAULT_SCALE_SIZES, SCALE_SIZES, SCALE_TRAINER, withLayers, type PhaseResult, type ScaleSize } from './scale-sizes.ts';

const PHASES = ['train', 'forward', 'sampling'] as const;
type Phase = (typeof PHASES)[number];
const here = import.meta.dirname;
const root = join(here, '..');

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: DEFAULT_SCALE_SIZES.join(',') },
    'no-install': { type: 'boolean', default: false },
    out: { type: 'string' },
    keep: { type: 'boolean', default: false },
    reuse: { type: 'string', default: '' },
    redo: { type: 'string', default: '' },
    note: { type: 'string' },
    layers: { type: 'string' },
    phases: { type: 'string', default: 'train,forward,sampling' },
  },
});
const selectedPhases = args.phases!.split(',').map((s) => s.trim()).filter(Boolean).map((p) => {
  if (!(PHASES as readonly string[]).includes(p)) throw new Error(`bench/scale: --phases: unknown phase "${p}"; known: ${PHASES.join(', ')}`);
  return p as Phase;
});
const layers = args.layers === undefined ? undefined : Number(args.layers);
if (layers !== undefined && !(Number.isInteger(layers) && layers > 0)) throw new Error(`bench/scale: --layers ${args.layers}: expected a whole number of layers > 0`);
const sizes = args.sizes!.split(',').map((s) => s.trim()).filter(Boolean).map((name) => {
  const cut = /^(.+)-L(\d+)$/.exec(name); // e.g. 0.5b-L2: that size at 2 layers
  const size = cut && SCALE_SIZES[cut[1]!] ? withLayers(SCALE_SIZES[cut[1]!]!, Number(cut[2])) : SCALE_SIZES[name];
  if (!size) throw new Error(`bench/scale: unknown size "${name}"; known: ${Object.keys(SCALE_SIZES).join(', ')}`);
  return layers === undefined ? size : withLayers(size, layers);
});

const reuse = new Map(args.reuse!.split(',').filter(Boolean).map((kv) => {
  const [name, dir] = kv.split('=');
  if (!name || !dir || !existsSync(join(dir, 'size.json'))) throw new Error(`bench/scale: --reuse ${kv}: expected size=DIR with DIR/size.json (a directory --keep left)`);
  return [name, dir] as const;
}));
const redo = new Set(args.redo!.split(',').filter(Boolean));

/** One engine's attempt at one phase: what it measured (possibly partial) and how it ended. */
interface Attempt { result: PhaseResult | null; failed: string | null; wallSeconds: number }

function run(what: string, cmd: string, argv: string[], out: string | null): Attempt {
  process.stderr.write(`== ${what}\n`);
  const t0 = performance.now();
  const r = spawnSync(cmd, argv, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  const failed = r.status === 0 ? null : `exit ${r.status ?? r.signal}${r.signal === 'SIGKILL' ? ' (killed: out of memory?)' : ''}`;
  if (failed) process.stderr.write(`bench/scale: ${what} failed (${failed}); recording what it finished\n`);
  const result = out && existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8')) as PhaseResult) : null;
  return { result, failed, wallSeconds: (performance.now() - t0) / 1000 };
}

const orz = (dir: string, phase: string, out: string | null) =>
  run(`orz ${phase}`, process.execPath, ['--import', 'tsx', join(here, 'scale-steps.ts'), '--dir', dir, '--phase', phase, ...(out ? ['--out', out] : [])], out);
const torch = (dir: string, phase: string, out: string) =>
  run(`pytorch ${phase}`, PYTHON, [join(here, 'scale_reference.py'), '--dir', dir, '--phase', phase, '--out', out], out);

interface SizeRecord { size: ScaleSize; init: Attempt; phases: Record<Phase, { orz: Attempt; pytorch: Attempt }> }

/** A result file of a reused directory, read instead of run. */
function reused(out: string): Attempt {
  const result = existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8')) as PhaseResult) : null;
  return { result, failed: result ? null : 'no result in the reused directory (see the note)', wallSeconds: NaN };
}

async function runSize(size: ScaleSize): Promise<SizeRecord> {
  const kept = reuse.get(size.name);
  const dir = kept ?? await mkdtemp(join(tmpdir(), `orz-scale-${size.name}-`));
  process.stderr.write(`== size ${size.name}: ${size.what} (in ${dir})\n`);
  try {
    let init: Attempt = { result: null, failed: null, wallSeconds: NaN };
    if (!kept) {
      await writeFileAtomic(join(dir, 'size.json'), `${JSON.stringify({ ...size, trainer: SCALE_TRAINER }, null, 1)}\n`);
      init = orz(dir, 'init', null);
      if (init.failed) throw new Error(`bench/scale: writing the ${size.name} weights failed (${init.failed})`);
    }
    const phases = {} as SizeRecord['phases'];
    const piece = (engine: 'orz' | 'pytorch', phase: Phase) => {
      const out = join(dir, `${engine}-${phase}.json`);
      if (kept && !redo.has(`${engine}:${phase}`) && !redo.has(`${size.name}/${engine}:${phase}`)) return reused(out);
      return engine === 'orz' ? orz(dir, phase, out) : torch(dir, phase, out);
    };
    const skipped: Attempt = { result: null, failed: null, wallSeconds: NaN };
    for (const phase of PHASES) phases[phase] = selectedPhases.includes(phase) ? { orz: piece('orz', phase), pytorch: piece('pytorch', phase) } : { orz: skipped, pytorch: skipped };
    return { size, init, phases };
  } finally {
    if (!args.keep && !kept) await rm(dir, { recursive: true, force: true });
  }
}

/** One row of the comparison: median seconds per engine at one (size, phase, T), and orz / PyTorch. */
export interface Row { size: string; phase: Phase; T: number; rows: number; orzS: number; torchS: number; ratio: number; orzRssMB: number; torchRssMB: number }

function rowsOf(rec: SizeRecord): Row[] {
  const out: Row[] = [];
  for (const phase of PHASES) {
    const { orz: o, pytorch: p } = rec.phases[phase];
    const lengths = [...new Set([...(o.result?.runs ?? []), ...(p.result?.runs ?? [])].map((x) => x.T))].sort((a, b) => a - b);
    for (const T of lengths) {
      const r = o.result?.runs.find((x) => x.T === T), t = p.result?.runs.find((x) => x.T === T);
      const orzS = r ? median(r.seconds) : NaN, torchS = t ? median(t.seconds) : NaN;
      out.push({
        size: rec.size.name, phase, T, rows: (r ?? t)!.rows, orzS, torchS, ratio: orzS / torchS,
        orzRssMB: o.result?.peakRssMB ?? NaN, torchRssMB: p.result?.peakRssMB ?? NaN,
      });
    }
  }
  return out;
}

/** Seconds at each T over seconds at the first T, per engine: how time grows with tokens per row. */
function growth(rows: Row[]): Record<string, Record<string, number[]>> {
  const g: Record<string, Record<string, number[]>> = {};
  for (const r of rows.filter((x) => x.phase !== 'sampling')) {
    const first = rows.find((x) => x.size === r.size && x.phase === r.phase)!;
    const key = `${r.size} ${r.phase}`;
    g[key] ??= { T: [], orz: [], pytorch: [] };
    g[key]['T']!.push(r.T);
    g[key]['orz']!.push(+(r.orzS / first.orzS).toFixed(2));
    g[key]['pytorch']!.push(+(r.torchS / first.torchS).toFixed(2));
  }
  return g;
}

const fmt = (s: number) => (Number.isFinite(s) ? (s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(2)} s`) : '—');
const gb = (mb: number) => (Number.isFinite(mb) ? `${(mb / 1024).toFixed(2)} GB` : '—');

export function table(rows: Row[]): string[] {
  const lines = ['| size | phase | rows x T | orz | PyTorch | orz / PyTorch | peak RSS orz / PyTorch |', '|---|---|---|---|---|---|---|'];
  for (const r of rows) {
    const shape = r.phase === 'sampling' ? `${r.rows} x ${r.T} (prompt + new)` : `${r.rows} x ${r.T}`;
    lines.push(`| ${r.size} | ${r.phase} | ${shape} | ${fmt(r.orzS)} | ${fmt(r.torchS)} | ${Number.isFinite(r.ratio) ? `${r.ratio.toFixed(2)}x` : '—'} | ${gb(r.orzRssMB)} / ${gb(r.torchRssMB)} |`);
  }
  return lines;
}

if (!args['no-install']) ensurePythonTorch();
const started = new Date();
const loadStart = loadavg();
const records: SizeRecord[] = [];
for (const size of sizes) records.push(await runSize(size));
const rows = records.flatMap(rowsOf);
const lines = table(rows);
const failures = records.flatMap((r) => PHASES.flatMap((p) => (['orz', 'pytorch'] as const)
  .filter((e) => r.phases[p][e].failed).map((e) => `${r.size.name} ${p} ${e}: ${r.phases[p][e].failed}`)));
const checks = Object.fromEntries(records.map((r) => [r.size.name, r.phases.forward.pytorch.result?.checkRelErr ?? null]));
console.log([
  `scale: orz (onnxruntime, ${process.env['ORZ_THREADS'] || 2} threads) against PyTorch ${records[0]?.phases.train.pytorch.result?.['torch'] ?? ''} (2 threads); medians; orz / PyTorch < 1 means orz is faster`,
  ...lines,
  `logits, PyTorch against orz (max |diff| / max |orz|): ${Object.entries(checks).map(([k, v]) => `${k} ${v === null ? '—' : v.toExponential(1)}`).join(', ')}`,
  ...(failures.length ? [`failed: ${failures.join('; ')}`] : []),
].join('\n'));

const loadEnd = loadavg();
const record = {
  bench: 'scale',
  date: started.toISOString(),
  ...(args.note ? { note: args.note } : {}),
  ...(reuse.size ? { reused: Object.fromEntries(reuse), redone: [...redo] } : {}),
  wallMinutes: +((Date.now() - started.getTime()) / 60000).toFixed(1),
  machine: {
    cpuModel: cpus()[0]?.model, cores: cpus().length, memoryGB: Math.round(totalmem() / 2 ** 30), node: process.version,
    python: PYTHON, torch: records[0]?.phases.train.pytorch.result?.['torch'], blas: records[0]?.phases.train.pytorch.result?.['blas'],
    loadAvgStart: loadStart, loadAvgEnd: loadEnd,
    shared: 'the machine is shared with other sessions running their own work: the load average above is everyone\'s, and times move with it',
  },
  method: 'each (size, phase, engine) in its own process; orz then PyTorch per phase; the weights are shared (orz writes, both load), ' +
    'the batches are random ids of the same shapes on each side; the workloads shrink with the model so a full run takes ~15 minutes on 2 cores ' +
    '(0.5b: 1 row, one timed repetition) — see sizes',
  sizes: Object.fromEntries(records.map((r) => [r.size.name, r.size])),
  rows, growthOverFirstT: growth(rows), logitsRelErr: checks, failures,
  table: lines,
  raw: Object.fromEntries(records.map((r) => [r.size.name, r.phases])),
};
const file = args.out ?? join(here, 'results', `scale-${started.toISOString().slice(0, 10)}.json`);
await writeFileAtomic(file, `${JSON.stringify(record, null, 1)}\n`);
console.log(`wrote ${file}`);
