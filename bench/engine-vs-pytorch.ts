// The compute engine against PyTorch, side by side in one run (issue 3): the SDK's PPO update
// (critic step + policy step: forward, backward, grad clip, Adam), the forward pass and batched
// KV-cached sampling of the issue's model (vocab 512, d_model 256, 8 heads, 4 layers, T 128, B 16),
// on the tfjs backends and on a PyTorch CPU reference of the same model and step; plus the GEMM rate
// of onnxruntime's MatMul against OpenBLAS sgemm, peak memory, and a per-kernel profile.
//
//   npx tsx bench/engine-vs-pytorch.ts [--backends onnxruntime,onnxruntime-unfused,cpu] [--reps 3] [--rounds 2]
//       [--cpu-reps 1] [--no-install] [--keep-fixture]
//
// "onnxruntime-unfused" is the onnxruntime backend with its fused kernels off (ORZ_FUSED=0): the
// difference is what the fused layer, loss-head and Adam graphs buy.
// Each engine runs in its own process (its own peak RSS). The machine may be shared, so the fast
// engines alternate for --rounds rounds (their repetitions are pooled, medians reported) and the
// load average is recorded. Writes bench/results/engine-vs-pytorch-<date>.json.

import { spawnSync } from 'node:child_process';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { selectBackend } from '../sdk/engine/backend.ts';
import { TransformerLM } from '../sdk/model/index.ts';
import { writeFileAtomic } from '../sdk/util/atomic-write.ts';
import { firstStepAgreement, mergeRounds, summarize, table, targets, type EngineRun } from './comparison.ts';
import { BENCH_META, writeFixture } from './fixture.ts';
import { formatProfile } from './kernel-profile.ts';
import { ensurePythonTorch, PYTHON } from './python-torch.ts';

const { values: args } = parseArgs({
  options: {
    backends: { type: 'string', default: 'onnxruntime,onnxruntime-unfused,cpu' },
    reps: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '2' },
    'cpu-reps': { type: 'string', default: '1' },
    'no-install': { type: 'boolean', default: false },
    'keep-fixture': { type: 'boolean', default: false },
  },
});
const posInt = (name: string, v: string | undefined): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`bench/engine-vs-pytorch: --${name} must be a positive integer, got ${v}`);
  return n;
};
const reps = posInt('reps', args.reps), rounds = posInt('rounds', args.rounds), cpuReps = posInt('cpu-reps', args['cpu-reps']);
const backends = args.backends!.split(',').map((b) => b.trim()).filter(Boolean);
const SLOW = new Set(['cpu', 'wasm']); // minutes per step: run once, 1 warm-up training step, nothing else warmed
const here = import.meta.dirname;
const root = join(here, '..');

if (!args['no-install']) ensurePythonTorch();
const loadStart = loadavg();
const started = new Date();
const fixture = await mkdtemp(join(tmpdir(), 'orz-bench-'));

function runProcess(what: string, cmd: string, argv: string[]): void {
  process.stderr.write(`== ${what}\n`);
  const r = spawnSync(cmd, argv, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`bench/engine-vs-pytorch: ${what} failed (exit ${r.status ?? r.signal})`);
}

async function runEngine(engine: string, round: number, first: boolean): Promise<EngineRun> {
  const out = join(fixture, `result-${engine}-${round}.json`);
  if (engine === 'pytorch') {
    runProcess(`pytorch (round ${round + 1})`, PYTHON, [join(here, 'pytorch_reference.py'), '--fixture', fixture, '--out', out, '--reps', String(reps), '--gemm']);
  } else {
    const slow = SLOW.has(engine);
    const flags = slow
      ? ['--warmup', '1', '--forward-warmup', '0', '--reps', String(cpuReps)]
      : ['--warmup', '1', '--reps', String(reps), '--gemm', ...(first ? ['--profile'] : [])];
    runProcess(`${engine} (round ${round + 1})`, process.execPath, ['--import', 'tsx', join(here, 'engine-steps.ts'), '--fixture', fixture, '--backend', engine, '--out', out, ...flags]);
  }
  return JSON.parse(await readFile(out, 'utf8')) as EngineRun;
}

let results: Record<string, EngineRun>;
try {
  process.stderr.write(`== fixture (model, batch, reference logits on the cpu backend) in ${fixture}\n`);
  await selectBackend('cpu');
  await writeFixture(fixture);
  const runs = new Map<string, EngineRun[]>();
  const add = (r: EngineRun) => runs.set(r.engine, [...(runs.get(r.engine) ?? []), r]);
  const fast = [...backends.filter((b) => !SLOW.has(b)), 'pytorch'];
  for (let round = 0; round < rounds; round++) {
    for (const engine of fast) add(await runEngine(engine, round, round === 0));
  }
  for (const engine of backends.filter((b) => SLOW.has(b))) add(await runEngine(engine, 0, true));
  results = Object.fromEntries([...runs].map(([k, v]) => [k, mergeRounds(v)]));
} finally {
  if (!args['keep-fixture']) await rm(fixture, { recursive: true, force: true });
}

const torch = results['pytorch']!;
const summaries = Object.values(results).map(summarize);
const torchSummary = summaries.find((s) => s.engine === 'pytorch')!;
const params = TransformerLM.init(BENCH_META.config, 1);
const numParameters = params.numParameters();
params.dispose();
const c = BENCH_META.config;
const lines = [
  `engine vs PyTorch: vocab ${c.vocab_size}, d_model ${c.hidden_size}, ${c.num_attention_heads} heads, ${c.num_hidden_layers} layers, ` +
    `SwiGLU ${c.intermediate_size}, ${(numParameters / 1e6).toFixed(2)}M params; PPO batch B ${BENCH_META.B} x T ${BENCH_META.T}; ` +
    `medians of ${reps} reps x ${rounds} rounds (cpu: ${cpuReps} rep after 1 warm-up step)`,
  ...table(summaries, torchSummary),
];
const verdicts: Record<string, ReturnType<typeof targets>> = {};
const agreement: Record<string, Record<string, number>> = {};
for (const s of summaries.filter((x) => x.engine !== 'pytorch')) {
  verdicts[s.engine] = targets(s, torchSummary);
  agreement[s.engine] = firstStepAgreement(results[s.engine]!, torch);
}
for (const [engine, ts] of Object.entries(verdicts)) {
  if (SLOW.has(engine)) continue;
  lines.push(`targets for ${engine}: ${ts.map((t) => `${t.name} ${ratio(t.value)} (${t.limit}): ${t.met ? 'met' : 'NOT met'}`).join('; ')}`);
}
for (const [engine, a] of Object.entries(agreement)) {
  lines.push(`first step vs PyTorch (${engine}), relative difference: ${Object.entries(a).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', ')}`);
}
for (const [engine, r] of Object.entries(results)) {
  if (r.profile) lines.push(...formatProfile(`${engine} profile, training step`, r.profile.train), ...formatProfile(`${engine} profile, forward`, r.profile.forward));
}
console.log(lines.join('\n'));

function ratio(x: number): string {
  return `${x.toFixed(2)}x`;
}

const require = createRequire(import.meta.url);
const version = (pkg: string) => (require(`${pkg}/package.json`) as { version: string }).version;
const record = {
  bench: 'engine-vs-pytorch',
  date: started.toISOString(),
  machine: {
    cpuModel: cpus()[0]?.model, cores: cpus().length, memoryGB: Math.round(totalmem() / 2 ** 30),
    node: process.version, tfjs: version('@tensorflow/tfjs-core'), onnxruntimeNode: version('onnxruntime-node'),
    torch: torch['torch'], torchThreads: torch['threads'], blas: torch['blas'], python: torch['python'],
    ortThreads: process.env['ORZ_THREADS'] || '2 (default)',
    loadAvgStart: loadStart, loadAvgEnd: loadavg(),
  },
  config: { ...BENCH_META, numParameters, reps, rounds, cpuReps },
  summaries, targets: verdicts, firstStepAgreement: agreement,
  table: lines,
  runs: results,
};
const file = join(here, 'results', `engine-vs-pytorch-${started.toISOString().slice(0, 10)}.json`);
await writeFileAtomic(file, `${JSON.stringify(record, null, 1)}\n`);
console.log(`wrote ${file}`);
