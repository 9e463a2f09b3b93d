// The memory pre-flight: the estimate of memory-plan.ts against the memory this machine has free (or a
// stated budget, e.g. a GPU's), and, for a run that cannot fit, the settings that would make it fit, each
// found by estimating again with that one setting changed.

import { readFileSync } from 'node:fs';
import { freemem } from 'node:os';
import type { ModelConfig } from '../model/config.ts';
import { resolveTrainerConfig, type TrainerConfig } from '../ppo/config.ts';
import type { RunConfig } from './run-config.ts';
import { fmtBytes, fmtCount, memoryPlan, type MemoryPlan, type MemoryPlanInput } from './memory-plan.ts';

export interface PreflightOptions {
  backend: string;
  /** Tokens of the longest prompt, template applied (promptTokensOf measures it on the dataset). */
  promptTokens: number;
  /** A stated budget in bytes (--memory-budget, e.g. a GPU's memory); default: the memory free now. */
  budgetBytes?: number;
  /** Memory free now (default MemAvailable from /proc/meminfo, else os.freemem()). */
  freeBytes?: number;
  /** The process's resident memory with the backend loaded and no model (default: measured now, VmRSS). */
  baselineBytes?: number;
  generationRows?: number;
  /** The eval set's samples and longest prompt (memory-plan.ts MemoryPlanInput.evaluation). */
  evaluation?: { samples: number; promptTokens: number };
}

/** The backend the runtime terms (kernel scratch, buffer pool, baseline) were fitted and checked on. */
export const FITTED_BACKEND = 'onnxruntime';

export interface Suggestion {
  /** Settings to change together (one, or micro-batch rows and one more), by dotted path in the run config. */
  changes: { setting: string; value: number }[];
  /** The estimate with these changes. */
  peakBytes: number;
}

export interface PreflightResult {
  plan: MemoryPlan;
  estimate: number;
  /** Bytes the estimate is compared with, and where that figure came from. */
  available: number;
  availableFrom: string;
  fits: boolean;
  /** Empty when the run fits; else up to three changes that fit, found by re-estimating. */
  suggestions: Suggestion[];
  /** The report: a heading, the table of terms, and the verdict (with the suggestions when it does not fit). */
  lines: string[];
  /** One line for a run's log: estimated peak, where, available, verdict. */
  summary: string;
}

/** MemAvailable (bytes) from /proc/meminfo: what the kernel can give without swapping; os.freemem() elsewhere. */
export function availableMemory(): { bytes: number; from: string } {
  try {
    const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (m) return { bytes: Number(m[1]) * 1024, from: 'MemAvailable' };
  } catch { /* not Linux */ }
  return { bytes: freemem(), from: 'os.freemem()' };
}

/** This process's resident memory now (VmRSS), or the V8 figure where /proc is not there. */
export function residentBytes(): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch { /* not Linux */ }
  return process.memoryUsage().rss;
}

/** Longest prompt in tokens over `prompts` (already templated), e.g. a dataset's records through the run's template. */
export function promptTokensOf(prompts: Iterable<string>, encode: (text: string) => number[]): number {
  let longest = 0;
  for (const p of prompts) longest = Math.max(longest, encode(p).length);
  return longest;
}

export function preflight(rc: RunConfig, model: ModelConfig, opts: PreflightOptions): PreflightResult {
  const trainer = resolveTrainerConfig(rc.trainer, `run config ${rc.name}`, 'trainer');
  const baseline = opts.baselineBytes ?? residentBytes();
  const input: MemoryPlanInput = { model, trainer, backend: opts.backend, promptTokens: opts.promptTokens, baselineBytes: baseline };
  if (opts.generationRows !== undefined) input.generationRows = opts.generationRows;
  if (opts.evaluation) input.evaluation = opts.evaluation;
  const plan = memoryPlan(input);
  // Free memory already excludes what this process holds (the baseline); a stated budget covers everything.
  const stated = opts.budgetBytes !== undefined;
  const free = stated ? null : opts.freeBytes !== undefined ? { bytes: opts.freeBytes, from: 'free memory' } : availableMemory();
  const available = stated ? opts.budgetBytes! : free!.bytes + baseline;
  const availableFrom = stated ? '--memory-budget' : `${free!.from} + this process`;
  const fits = plan.peakBytes <= available;
  const suggestions = fits ? [] : suggest(input, available);
  const summary = `memory: estimated peak ${fmtBytes(plan.peakBytes)} (${plan.peakPhase}) of ${fmtBytes(available)} available (${availableFrom}): ${fits ? 'fits' : 'does not fit'}`;
  return { plan, estimate: plan.peakBytes, available, availableFrom, fits, suggestions, lines: report(rc.name, plan, available, availableFrom, fits, suggestions, opts.backend), summary };
}

interface Knob { setting: string; current: number; min: number; set: (c: TrainerConfig, v: number) => TrainerConfig }

/**
 * Each knob alone, at the largest value below the configured one whose estimate fits; at most three.
 * When no knob alone fits, micro-batches of one row together with each other knob.
 */
function suggest(input: MemoryPlanInput, available: number): Suggestion[] {
  const t = input.trainer;
  const peak = (c: TrainerConfig) => memoryPlan({ ...input, trainer: c }).peakBytes;
  // micro-batches split the training forward/backward; the rows they start from are the larger minibatch
  const samples = t.promptsPerIteration * t.samplesPerPrompt;
  const minibatch = Math.ceil(samples / Math.min(t.policyUpdateSteps, t.advantageEstimator === 'gae' ? t.criticUpdateSteps : Infinity));
  const micro: Knob = { setting: 'trainer.microBatchRows', current: t.microBatchRows > 0 ? Math.min(t.microBatchRows, minibatch) : minibatch, min: 1, set: (c, v) => ({ ...c, microBatchRows: v }) };
  const others: Knob[] = [
    { setting: 'trainer.samplesPerPrompt', current: t.samplesPerPrompt, min: t.advantageEstimator === 'grpo' ? 2 : 1, set: (c, v) => ({ ...c, samplesPerPrompt: v }) },
    { setting: 'trainer.generation.maxNewTokens', current: t.generation.maxNewTokens, min: 1, set: (c, v) => ({ ...c, generation: { ...c.generation, maxNewTokens: v } }) },
    { setting: 'trainer.promptsPerIteration', current: t.promptsPerIteration, min: 1, set: (c, v) => ({ ...c, promptsPerIteration: v }) },
  ];
  const search = (base: TrainerConfig, k: Knob, fixed: Suggestion['changes']): Suggestion | null => {
    const value = largestFitting(k.min, k.current - 1, (v) => peak(k.set(base, v)) <= available);
    return value === null ? null : { changes: [...fixed, { setting: k.setting, value }], peakBytes: peak(k.set(base, value)) };
  };
  const alone = [micro, ...others].map((k) => search(t, k, [])).filter((x): x is Suggestion => x !== null);
  if (alone.length > 0) return alone.slice(0, 3);
  if (micro.current <= 1) return [];
  const oneRow = micro.set(t, 1);
  return others.map((k) => search(oneRow, k, [{ setting: micro.setting, value: 1 }])).filter((x): x is Suggestion => x !== null).slice(0, 3);
}

/** The largest v in [lo, hi] with fits(v), for a fits that holds below some threshold; null when none. */
function largestFitting(lo: number, hi: number, fits: (v: number) => boolean): number | null {
  if (hi < lo || !fits(lo)) return null;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function report(name: string, plan: MemoryPlan, available: number, from: string, fits: boolean, suggestions: Suggestion[], backend: string): string[] {
  const s = plan.shapes;
  const lines = [
    `memory pre-flight (${name}): ${fmtCount(s.params)} params, ${s.samples} samples, T=${s.T} (prompt ${s.promptTokens} + ${s.newTokens} new), ` +
    `generation ${s.generationRows} rows, training ${s.policyRows} rows per micro-batch; peak in the ${plan.peakPhase}`,
  ];
  const width = Math.max(...plan.terms.map((t) => t.name.length), 5);
  if (backend !== FITTED_BACKEND) {
    lines.push(`  (backend ${backend}: these formulas were fitted and checked against measured peaks on ${FITTED_BACKEND} only; on ${backend} the estimate is unchecked)`);
  }
  for (const t of plan.terms) lines.push(`  ${t.name.padEnd(width)}  ${fmtBytes(t.bytes).padStart(9)}  ${t.formula}`);
  lines.push(`  ${'total'.padEnd(width)}  ${fmtBytes(plan.peakBytes).padStart(9)}  peak of one iteration; available ${fmtBytes(available)} (${from})`);
  if (fits) {
    lines.push(`fits: estimated peak ${fmtBytes(plan.peakBytes)} of ${fmtBytes(available)} available`);
  } else if (suggestions.length === 0) {
    lines.push(`does not fit: estimated peak ${fmtBytes(plan.peakBytes)}, available ${fmtBytes(available)}; no setting fits (weights and optimizer state alone need ${fmtBytes(runBytes(plan))}): a smaller model or more memory`);
  } else {
    lines.push(`does not fit: estimated peak ${fmtBytes(plan.peakBytes)}, available ${fmtBytes(available)}. Any one of these fits:`);
    for (const x of suggestions) lines.push(`  ${x.changes.map((c) => `${c.setting} ${c.value}`).join(' + ')} (peak ${fmtBytes(x.peakBytes)})`);
  }
  return lines;
}

function runBytes(plan: MemoryPlan): number {
  return plan.terms.filter((t) => t.phase === 'run').reduce((a, t) => a + t.bytes, 0);
}
