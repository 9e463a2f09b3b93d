// `npm run bench -- reward-orz-agreement [--orz-repo GIT_DIR] [--out FILE]`: how often our math
// rewards give ORZ's verdicts. Builds the case set of reward-orz-cases.ts from the eval sets in
// ../shared/data/orz-eval, gets ORZ's verdict for each from ORZ's own checker (its math_utils.py,
// read from a fetched git snapshot of ORZ's repository into a temporary directory and run by
// reward-orz-verdicts.py; needs python3 with sympy and antlr4), and counts per category how often
// mathReward (the default) and mathRewardFixed agree with it.
//
// A one-off measurement, not a test: ORZ's code is not part of this repository.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mathReward, mathRewardFixed, type Sample } from '../sdk/reward/index.ts';
import { buildCases, type RewardCase } from './reward-orz-cases.ts';

const ROOT = join(import.meta.dirname, '..');
const DATA_DIR = join(ROOT, '..', 'shared', 'data', 'orz-eval');
const SETS = ['math500', 'aime2024', 'gpqa_diamond'];
const DEFAULT_ORZ_REPO = '/work/.mirror/Open-Reasoner-Zero+Open-Reasoner-Zero/repo';
const EXAMPLES_PER_CATEGORY = 6;

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

function git(repo: string, ...args: string[]): string {
  const r = spawnSync('git', ['--git-dir', repo, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} in ${repo} failed: ${r.stderr}`);
  return r.stdout;
}

/** ORZ's verdicts, in case order, and how many of them ORZ's 1 s timeout would have decided. */
function orzVerdicts(repo: string, cases: RewardCase[]): { verdicts: number[]; timeouts: number } {
  const dir = mkdtempSync(join(tmpdir(), 'orz-checker-'));
  try {
    writeFileSync(join(dir, 'math_utils.py'), git(repo, 'show', 'HEAD:orz/ppo/tools/math_utils.py'));
    const input = cases.map((c) => JSON.stringify({ response: c.response, groundTruth: c.groundTruth, finishReason: c.finishReason })).join('\n');
    const r = spawnSync('python3', [join(import.meta.dirname, 'reward-orz-verdicts.py'), dir], { input, encoding: 'utf8', maxBuffer: 1 << 26 });
    if (r.status !== 0) throw new Error(`ORZ verdicts failed: ${r.stderr.slice(-2000)}`);
    const lines = r.stdout.trim().split('\n');
    if (lines.length !== cases.length) throw new Error(`ORZ verdicts: ${lines.length} lines for ${cases.length} cases`);
    const rows = lines.map((l) => l.split(' ').map(Number));
    return { verdicts: rows.map((x) => x[0]!), timeouts: rows.filter((x) => x[1] === 1).length };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface CategoryRow {
  category: string;
  cases: number;
  orzRewardOne: number;
  defaultAgrees: number;
  fixedAgrees: number;
  fixedAsIntended: number;
  defaultDisagreements: Array<{ set: string; groundTruth: string; answer: string; orz: number; ours: number }>;
  fixedDiffersFromOrz: Array<{ set: string; groundTruth: string; answer: string; orz: number; fixed: number }>;
}

function shortAnswer(response: string): string {
  const i = response.indexOf('<answer>');
  return (i >= 0 ? response.slice(i) : response).slice(0, 160);
}

function main(): void {
  const repo = option('--orz-repo', DEFAULT_ORZ_REPO);
  const out = option('--out', join(ROOT, 'bench', 'results', `reward-orz-agreement-${new Date().toISOString().slice(0, 10)}.json`));
  const sets: Record<string, string[]> = {};
  for (const s of SETS) {
    const records = JSON.parse(readFileSync(join(DATA_DIR, `${s}.json`), 'utf8')) as Array<{ final_answer: string }>;
    sets[s] = records.map((r) => r.final_answer);
  }
  const cases = buildCases(sets);
  process.stderr.write(`${cases.length} cases; asking ORZ's checker...\n`);
  const t0 = performance.now();
  const { verdicts, timeouts } = orzVerdicts(repo, cases);
  const orzSeconds = (performance.now() - t0) / 1000;
  const rows = new Map<string, CategoryRow>();
  cases.forEach((c, i) => {
    const sample: Sample = { prompt: '', response: c.response, groundTruth: c.groundTruth, finishReason: c.finishReason };
    const orz = verdicts[i]!;
    const ours = mathReward(sample);
    const fixed = mathRewardFixed(sample);
    let row = rows.get(c.category);
    if (!row) {
      row = { category: c.category, cases: 0, orzRewardOne: 0, defaultAgrees: 0, fixedAgrees: 0, fixedAsIntended: 0, defaultDisagreements: [], fixedDiffersFromOrz: [] };
      rows.set(c.category, row);
    }
    row.cases++;
    row.orzRewardOne += orz;
    if (ours === orz) row.defaultAgrees++;
    else if (row.defaultDisagreements.length < EXAMPLES_PER_CATEGORY) row.defaultDisagreements.push({ set: c.set, groundTruth: c.groundTruth, answer: shortAnswer(c.response), orz, ours });
    if (fixed === orz) row.fixedAgrees++;
    else if (row.fixedDiffersFromOrz.length < EXAMPLES_PER_CATEGORY) row.fixedDiffersFromOrz.push({ set: c.set, groundTruth: c.groundTruth, answer: shortAnswer(c.response), orz, fixed });
    if (fixed === c.fixed) row.fixedAsIntended++;
  });
  const categories = [...rows.values()];
  const total = (k: 'cases' | 'defaultAgrees' | 'fixedAgrees' | 'fixedAsIntended'): number => categories.reduce((s, r) => s + r[k], 0);
  const result = {
    bench: 'reward-orz-agreement',
    date: new Date().toISOString(),
    orz: {
      repository: 'Open-Reasoner-Zero/Open-Reasoner-Zero',
      commit: git(repo, 'rev-parse', 'HEAD').trim(),
      checker: 'orz/ppo/tools/math_utils.py is_equal(solution2answer(label), solution2answer(extracted)), extraction and stop rule as in playground/orz_7b_ppo.py',
      python: spawnSync('python3', ['-c', 'import sys, sympy; print(sys.version.split()[0], "sympy", sympy.__version__)'], { encoding: 'utf8' }).stdout.trim(),
      note: 'antlr4 runtime 4.13 accepted in place of the 4.11 that sympy asks for; a verdict ORZ\'s 1 s timeout cut short is recomputed without the limit (counted in timeouts)',
      timeouts,
      seconds: Math.round(orzSeconds),
    },
    totals: { cases: total('cases'), defaultAgrees: total('defaultAgrees'), fixedAgrees: total('fixedAgrees'), fixedAsIntended: total('fixedAsIntended') },
    categories,
  };
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  for (const r of categories) {
    process.stdout.write(`${r.category.padEnd(58)} ${String(r.cases).padStart(5)}  orz=1 ${String(r.orzRewardOne).padStart(4)}  default ${r.defaultAgrees}/${r.cases}  fixed ${r.fixedAgrees}/${r.cases}\n`);
  }
  process.stdout.write(`total ${result.totals.cases}: default agrees ${result.totals.defaultAgrees}, fixed agrees ${result.totals.fixedAgrees}; wrote ${out}\n`);
}

main();
