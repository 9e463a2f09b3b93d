// From the engines' raw measurements (bench/engine-steps.ts, bench/pytorch_reference.py) to the
// comparison: medians, ratios against PyTorch, the targets, agreement checks and the table.

import type { Profile } from './kernel-profile.ts';

/** What one engine process reports (several rounds of the same engine are merged first). */
export interface EngineRun {
  engine: string;
  check: { relErr: number };
  firstStep: { critic: Record<string, unknown>; policy: Record<string, unknown> };
  trainSeconds: number[]; criticSeconds: number[]; policySeconds: number[];
  forwardSeconds: number[]; samplingSeconds: number[]; sampledTokens: number;
  gemm: { n: number; seconds: number[]; gflops: number }[];
  profile?: { train: Profile; forward: Profile } | null;
  peakRssMB: number;
  loadAvg: number[];
  [extra: string]: unknown;
}

export interface Summary {
  engine: string;
  rounds: number;
  trainS: number; criticS: number; policyS: number; forwardS: number; samplingS: number;
  samplingTokPerS: number;
  gemmGflops: Record<string, number>;
  peakRssMB: number;
  logitsRelErr: number;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Median wall ms of `reps` runs of `step` after one warm-up run (the micro-benchmarks' timer). */
export function medianMs(step: () => void, reps: number): number {
  step();
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    step();
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** Rounds of one engine as one run: all timed repetitions together, the worst memory and check. */
export function mergeRounds(runs: EngineRun[]): EngineRun {
  const [first] = runs;
  if (!first) throw new Error('bench/comparison: no runs to merge');
  const cat = (k: 'trainSeconds' | 'criticSeconds' | 'policySeconds' | 'forwardSeconds' | 'samplingSeconds') => runs.flatMap((r) => r[k]);
  return {
    ...first,
    trainSeconds: cat('trainSeconds'), criticSeconds: cat('criticSeconds'), policySeconds: cat('policySeconds'),
    forwardSeconds: cat('forwardSeconds'), samplingSeconds: cat('samplingSeconds'),
    gemm: mergeGemm(runs),
    profile: runs.find((r) => r.profile)?.profile ?? null,
    peakRssMB: Math.max(...runs.map((r) => r.peakRssMB)),
    check: { relErr: Math.max(...runs.map((r) => r.check.relErr)) },
    loadAvg: runs.flatMap((r) => r.loadAvg),
    rounds: runs.length,
  };
}

/**
 * GEMM timings of every round pooled per size. The rate is taken from the fastest repetition: it
 * measures what the kernel can do, and on a shared machine every disturbance only adds time.
 */
function mergeGemm(runs: EngineRun[]): EngineRun['gemm'] {
  const bySize = new Map<number, number[]>();
  for (const g of runs.flatMap((r) => r.gemm)) bySize.set(g.n, [...(bySize.get(g.n) ?? []), ...g.seconds]);
  return [...bySize].map(([n, seconds]) => ({ n, seconds, gflops: (2 * n ** 3) / Math.min(...seconds) / 1e9 }));
}

export function summarize(r: EngineRun): Summary {
  const samplingS = median(r.samplingSeconds);
  return {
    engine: r.engine, rounds: (r['rounds'] as number | undefined) ?? 1,
    trainS: median(r.trainSeconds), criticS: median(r.criticSeconds), policyS: median(r.policySeconds),
    forwardS: median(r.forwardSeconds), samplingS, samplingTokPerS: r.sampledTokens / samplingS,
    gemmGflops: Object.fromEntries(r.gemm.map((g) => [String(g.n), g.gflops])),
    peakRssMB: r.peakRssMB, logitsRelErr: r.check.relErr,
  };
}

export interface Target { name: string; limit: string; value: number; met: boolean }

/** The targets for an engine against PyTorch (ratios are engine / PyTorch). */
export function targets(e: Summary, torch: Summary): Target[] {
  const ns = Object.keys(torch.gemmGflops).filter((n) => e.gemmGflops[n] !== undefined).map(Number);
  const out: Target[] = [
    { name: 'training step time', limit: '<= 1.5x PyTorch', value: e.trainS / torch.trainS, met: e.trainS / torch.trainS <= 1.5 },
    { name: 'forward time', limit: '<= 1.2x PyTorch', value: e.forwardS / torch.forwardS, met: e.forwardS / torch.forwardS <= 1.2 },
    { name: 'sampling tokens/s', limit: '>= 1x PyTorch', value: e.samplingTokPerS / torch.samplingTokPerS, met: e.samplingTokPerS >= torch.samplingTokPerS },
  ];
  if (ns.length) {
    const n = String(Math.max(...ns)); // the largest size: GEMM at its steady rate
    const r = e.gemmGflops[n]! / torch.gemmGflops[n]!;
    out.push({ name: `GEMM rate (n=${n})`, limit: '>= 0.6x OpenBLAS', value: r, met: r >= 0.6 });
  }
  return out;
}

/** Relative differences of the first step's losses and gradient norms (same weights, same batch). */
export function firstStepAgreement(e: EngineRun, torch: EngineRun): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of ['critic', 'policy'] as const) {
    for (const k of ['loss', 'grad_norm']) {
      const a = Number(e.firstStep[part][k]), b = Number(torch.firstStep[part][k]);
      out[`${part}/${k}`] = Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);
    }
  }
  return out;
}

const sec = (s: number) => (s >= 10 ? `${s.toFixed(1)} s` : s >= 1 ? `${s.toFixed(2)} s` : `${(s * 1000).toFixed(0)} ms`);
const ratio = (x: number) => (x >= 10 ? `${x.toFixed(0)}x` : `${x.toFixed(2)}x`);

/** The side-by-side table: one column per engine, PyTorch first, ratios in brackets. */
export function table(summaries: Summary[], torch: Summary): string[] {
  const others = summaries.filter((s) => s !== torch);
  const cols = [torch, ...others];
  const W = 22;
  const row = (label: string, cell: (s: Summary) => string) => `${label.padEnd(36)}${cols.map((s) => cell(s).padStart(W)).join('')}`;
  const timeRow = (label: string, key: 'trainS' | 'criticS' | 'policyS' | 'forwardS') =>
    row(label, (s) => (s === torch ? sec(s[key]) : `${sec(s[key])} (${ratio(s[key] / torch[key])})`));
  const lines = [
    row('', (s) => s.engine),
    timeRow('training step (critic + policy)', 'trainS'),
    timeRow('  critic step', 'criticS'),
    timeRow('  policy step', 'policyS'),
    timeRow('forward [16,128] -> logits', 'forwardS'),
    row('sampling tokens/s (64 x 96 new)', (s) => (s === torch ? s.samplingTokPerS.toFixed(0) : `${s.samplingTokPerS.toFixed(0)} (${ratio(s.samplingTokPerS / torch.samplingTokPerS)})`)),
  ];
  for (const n of Object.keys(torch.gemmGflops)) {
    lines.push(row(`GEMM ${n}x${n} GFLOP/s (best rep)`, (s) => {
      const g = s.gemmGflops[n];
      if (g === undefined) return '-';
      return s === torch ? g.toFixed(1) : `${g.toFixed(1)} (${ratio(g / torch.gemmGflops[n]!)})`;
    }));
  }
  lines.push(row('peak RSS', (s) => (s === torch ? `${s.peakRssMB.toFixed(0)} MB` : `${s.peakRssMB.toFixed(0)} MB (${ratio(s.peakRssMB / torch.peakRssMB)})`)));
  lines.push(row('logits rel. error vs SDK cpu', (s) => s.logitsRelErr.toExponential(1)));
  return lines;
}
