// Benchmark of the rollout engine's batching: static chunks against continuous batching (slots refilled as
// rows finish), with and without shared prompt prefixes, on the bundled tiny base model sampling ORZ-style
// (temperature 1, ORZ's stop strings) on the mini training prompts: most responses end early at a stop
// string, a few run to the budget, the long tail ORZ's rollouts have. Each case runs in its own process, so
// its peak RSS is its own; every case must produce the same tokens as the static one (same seeds).
//
// The peer is PyTorch's static KV-cache loop (bench/rollout_reference.py, Debian python3-torch) on the same model
// and the static case's rows, each chunk decoded to its longest row, with the same useful tokens counted.
//
// The same run also times the PPO update padded against packed (bench/ppo-packing.ts with its defaults, its record
// nested under `packing`), so all of issue 16's ratios come from one run.
//
//   npm run bench -- rollout [--prompts 16] [--n 8] [--prefix-n 8,64] [--slots 32] [--max-new-tokens 40] [--reps 3] [--backend B] [--no-pytorch] [--no-packing]
// Writes bench/results/rollout-<backend>-<date>.json. The machine is shared: the load average is recorded.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { selectBackend } from '../sdk/engine/backend.ts';
import { applyTemplate, readDataset, resolveTemplate } from '../sdk/data/index.ts';
import { loadModel } from '../sdk/model/index.ts';
import { loadTokenizer } from '../sdk/tokenizer/index.ts';
import { ORZ_STOP, RolloutEngine } from '../sdk/rollout/engine.ts';
import { writeFileAtomic } from '../sdk/util/atomic-write.ts';
import { ensurePythonTorch, PYTHON } from './python-torch.ts';

const { values: args } = parseArgs({
  options: {
    case: { type: 'string' }, // internal: run one case in this process and print its JSON
    prompts: { type: 'string', default: '16' },
    n: { type: 'string', default: '8' },
    'prefix-n': { type: 'string', default: '8,64' },
    slots: { type: 'string', default: '32' },
    'max-new-tokens': { type: 'string', default: '40' },
    reps: { type: 'string', default: '3' }, // timed generate() calls per case: the median is reported (shared machine)
    backend: { type: 'string' },
    'no-pytorch': { type: 'boolean', default: false },
    'no-packing': { type: 'boolean', default: false }, // skip the PPO update padded vs packed (bench/ppo-packing.ts, defaults)
    'peer-input': { type: 'string' }, // internal: where the static case writes its rows for the PyTorch peer
  },
});
const int = (name: string, v: string | undefined) => {
  const x = Number(v);
  if (!(Number.isInteger(x) && x >= 1)) throw new Error(`bench/rollout: --${name} must be an integer >= 1, got ${v}`);
  return x;
};

interface CaseResult {
  case: string; n: number; rows: number; seconds: number; times: number[]; tokensPerSec: number; responseTokens: number; peakRssMB: number;
  prefillPrompts: number; prefillSec: number; lengths: { p50: number; p90: number; max: number; atBudget: number }; hash: string;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function runCase(name: string, n: number): Promise<CaseResult> {
  await selectBackend(args.backend);
  const dir = resolve('data/mini/base');
  const [model, tokenizer, records] = await Promise.all([loadModel(dir), loadTokenizer(dir), readDataset(resolve('data/mini/train.json'))]);
  const template = resolveTemplate('mini');
  const count = n > 8 ? Math.max(1, Math.round(int('prompts', args.prompts) * 8 / n)) : int('prompts', args.prompts);
  const prompts = records.slice(0, count).map((r) => ({ prompt: applyTemplate(template, r.prompt) }));
  let prefillPrompts = 0, prefillSec = 0;
  const engine = new RolloutEngine(model, tokenizer, {
    maxBatchRows: int('slots', args.slots),
    batching: name === 'static' ? 'static' : 'continuous',
    sharePrefixes: name === 'continuous+prefix',
    onPrefill: (k, s) => { prefillPrompts += k; prefillSec += s; },
  });
  const params = { temperature: 1, maxNewTokens: int('max-new-tokens', args['max-new-tokens']), n, stop: ORZ_STOP, seed: 1 };
  await engine.generate(prompts.slice(0, 2), { ...params, n: 1, maxNewTokens: 4 }); // warm up
  prefillPrompts = 0; prefillSec = 0;
  let batch: Awaited<ReturnType<RolloutEngine['generate']>> | null = null;
  const times: number[] = [];
  for (let r = 0; r < int('reps', args.reps); r++) {
    prefillPrompts = 0; prefillSec = 0;
    const t0 = performance.now();
    batch = await engine.generate(prompts, params);
    times.push((performance.now() - t0) / 1000);
  }
  batch = batch!;
  const seconds = median(times);
  const lengths = batch.samples().map((s) => s.responseIds.length).sort((a, b) => a - b);
  const tokens = lengths.reduce((a, b) => a + b, 0);
  const q = (f: number) => lengths[Math.min(lengths.length - 1, Math.floor(f * lengths.length))]!;
  if (args['peer-input']) {
    const rows = batch.samples().map((s) => ({ promptIds: s.promptIds, length: s.responseIds.length }));
    await writeFile(args['peer-input'], JSON.stringify({ modelDir: dir, slots: int('slots', args.slots), temperature: 1, seed: 1, rows }));
  }
  return {
    case: name, n, rows: batch.length, seconds, times, tokensPerSec: tokens / seconds, responseTokens: tokens,
    peakRssMB: process.resourceUsage().maxRSS / 1024, prefillPrompts, prefillSec,
    lengths: { p50: q(0.5), p90: q(0.9), max: lengths.at(-1)!, atBudget: batch.samples().filter((s) => s.finishReason === 'length').length },
    hash: createHash('sha256').update(JSON.stringify(batch.samples().map((s) => s.responseIds))).digest('hex').slice(0, 16),
  };
}

function spawnCase(name: string, n: number, peerInput?: string): CaseResult {
  const pass = Object.entries(args).filter(([k, v]) => k !== 'case' && typeof v === 'string').flatMap(([k, v]) => [`--${k}`, String(v)]);
  const peer = peerInput ? ['--peer-input', peerInput] : [];
  const r = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--case', `${name}:${n}`, ...pass, ...peer], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench/rollout: case ${name} n=${n} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as CaseResult;
}

if (args.case) {
  const [name, n] = args.case.split(':');
  process.stdout.write(`${JSON.stringify(await runCase(name!, Number(n)))}\n`);
} else {
  const n = int('n', args.n);
  const load = () => loadavg().map((x) => Number(x.toFixed(2)));
  const loadBefore = load();
  const tmp = await mkdtemp(join(tmpdir(), 'orz-bench-rollout-'));
  const peerInput = join(tmp, 'rows.json');
  const cases = ['static', 'continuous', 'continuous+prefix'].map((c) => spawnCase(c, n, c === 'static' ? peerInput : undefined));
  const pytorch = args['no-pytorch'] ? null : await runPyTorchPeer(peerInput, join(tmp, 'pytorch.json'));
  const packing = args['no-packing'] ? null : await runPackingBench(join(tmp, 'packing.json'));
  await rm(tmp, { recursive: true, force: true });
  const prefix = args['prefix-n']!.split(',').map((x) => int('prefix-n', x)).map((pn) => {
    const apart = pn === n ? cases[1]! : spawnCase('continuous', pn);
    const shared = pn === n ? cases[2]! : spawnCase('continuous+prefix', pn);
    if (apart.hash !== shared.hash) throw new Error(`bench/rollout: n=${pn}: shared prefixes changed the tokens`);
    return { n: pn, rows: shared.rows, prefillSecApart: apart.prefillSec, prefillSecShared: shared.prefillSec, prefillSaved: 1 - shared.prefillSec / apart.prefillSec, promptsPrefilled: [apart.prefillPrompts, shared.prefillPrompts] };
  });
  for (const c of cases) if (c.hash !== cases[0]!.hash) throw new Error(`bench/rollout: ${c.case} produced other tokens than static`);
  const [st, co, cp] = cases as [CaseResult, CaseResult, CaseResult];
  const result = {
    date: new Date().toISOString(), backend: args.backend ?? 'auto', cpus: cpus().length, loadAverage: { before: loadBefore, after: load() },
    workload: { prompts: Number(args.prompts), n, slots: Number(args.slots), maxNewTokens: Number(args['max-new-tokens']), lengths: st.lengths },
    cases,
    ratios: {
      continuousVsStaticTokensPerSec: co.tokensPerSec / st.tokensPerSec,
      continuousPrefixVsStaticTokensPerSec: cp.tokensPerSec / st.tokensPerSec,
      continuousVsStaticPeakRss: co.peakRssMB / st.peakRssMB,
      continuousPrefixVsStaticPeakRss: cp.peakRssMB / st.peakRssMB,
      ...(pytorch ? {
        staticVsPyTorchTokensPerSec: st.tokensPerSec / pytorch.tokensPerSec,
        continuousPrefixVsPyTorchTokensPerSec: cp.tokensPerSec / pytorch.tokensPerSec,
        continuousPrefixVsPyTorchPeakRss: cp.peakRssMB / pytorch.peakRssMB,
      } : {}),
      ...(packing ? {
        packedVsPaddedUpdateTime: packing.ratios.packedVsPaddedTime,
        packedVsPaddedUpdatePeakRss: packing.ratios.packedVsPaddedPeakRss,
        packedVsPaddedTokenSlots: packing.ratios.packedVsPaddedTensorTokens,
      } : {}),
    },
    pytorch,
    packing,
    prefix,
    note: 'tokens/s = response tokens / the median wall time of --reps generate() calls after a warm-up; peak RSS is each case\'s own process (model and runtime included); prefill time is summed over the continuous engine\'s prefills. All cases gave the same tokens. pytorch: the static KV-cache loop of bench/rollout_reference.py on the static case\'s rows (its own samples, the same useful tokens per row; each chunk decoded to its longest row).',
  };
  const out = join(import.meta.dirname, 'results', `rollout-${result.backend}-${result.date.slice(0, 10)}.json`);
  await mkdir(join(import.meta.dirname, 'results'), { recursive: true });
  await writeFileAtomic(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify({ ratios: result.ratios, prefix, lengths: st.lengths, loadAverage: result.loadAverage }, null, 2));
  console.log(`wrote ${out}`);
}

interface PackingResult { workload: unknown; cases: unknown[]; ratios: { packedVsPaddedTime: number; packedVsPaddedPeakRss: number; packedVsPaddedTensorTokens: number } }

/** The PPO update over padded rows against packed sequences on its long-tailed workload (bench/ppo-packing.ts), in this run. */
async function runPackingBench(out: string): Promise<PackingResult> {
  const backend = args.backend ? ['--backend', args.backend] : [];
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'ppo-packing.ts'), '--out', out, ...backend], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench/rollout: the packing bench failed (exit ${r.status ?? r.signal}; --no-packing skips it):\n${r.stderr}`);
  return JSON.parse(await readFile(out, 'utf8')) as PackingResult;
}

interface PeerResult { case: string; torch: string; threads: number; rows: number; seconds: number; responseTokens: number; tokensPerSec: number; decodeSteps: number; peakRssMB: number }

/** PyTorch's static KV-cache loop over the static case's rows (bench/rollout_reference.py), in its own process. */
async function runPyTorchPeer(input: string, out: string): Promise<PeerResult> {
  ensurePythonTorch();
  const r = spawnSync(PYTHON, [join(import.meta.dirname, 'rollout_reference.py'), '--input', input, '--out', out, '--reps', String(int('reps', args.reps))], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench/rollout: the PyTorch peer failed (exit ${r.status ?? r.signal}; --no-pytorch skips it):\n${r.stderr}`);
  return JSON.parse(await readFile(out, 'utf8')) as PeerResult;
}
