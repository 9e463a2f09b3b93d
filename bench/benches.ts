// The project's benchmarks by name, for `orz bench <name>` and `npm run bench -- <name>`. Each runs in its own
// process (its own peak memory, its own options) and writes its results to bench/results/.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export interface Bench { script: string; what: string; options: string }

export const BENCHES: Record<string, Bench> = {
  'engine-vs-pytorch': { script: 'engine-vs-pytorch.ts', what: 'the compute engine against PyTorch: PPO update, forward, sampling', options: '[--backends onnxruntime,onnxruntime-unfused,cpu] [--reps 3] [--rounds 2] [--no-install]' },
  'engine-steps': { script: 'engine-steps.ts', what: 'one backend alone: PPO update, forward and sampling on engine-vs-pytorch\'s fixture (no PyTorch)', options: '[--backend onnxruntime|onnxruntime-unfused|cpu] [--warmup 1] [--reps 3] [--gemm] [--profile]' },
  'mini-rl': { script: 'mini-rl.ts', what: 'the main job\'s PPO run: eval accuracy against wall-clock time', options: '[--iterations N]' },
  'engine-matmul': { script: 'engine-matmul.ts', what: 'onnxruntime against cpu on the PPO model\'s matmul shapes', options: '[--reps 3]' },
  'engine-slice': { script: 'engine-slice.ts', what: 'block-copy Slice/Pad against the cpu kernels', options: '' },
  'reward-pool': { script: 'reward-pool.ts', what: 'mathReward throughput: in-process against the reward workers', options: '' },
  'reward-orz-agreement': { script: 'reward-orz-agreement.ts', what: 'mathReward\'s verdicts against ORZ\'s own checker', options: '' },
  tokenizers: { script: 'tokenizers.ts', what: 'orz\'s tokenizer against @huggingface/tokenizers on real tokenizer.json files', options: '' },
  'memory-plan': { script: 'memory-plan.ts', what: 'the memory pre-flight: a run config\'s estimated peak, or (--check) estimate vs measured peak RSS at three sizes', options: '<run-config.json> [--prompt-tokens N] [--memory-budget GB] | --check' },
  scale: { script: 'scale.ts', what: 'orz against PyTorch at 3.4M, 31M and Qwen2.5-0.5B shape: PPO update, forward at T 256-4096, sampling 64 prompts, peak RSS', options: '[--sizes bench,30m,0.5b] [--no-install] [--out FILE] [--keep]' },
  'weights-broadcast': { script: 'weights-broadcast.ts', what: 'seconds per GB per worker of a weights broadcast (chunked and whole)', options: '[--hidden 512] [--layers 4] [--workers 1,2]' },
  rollout: { script: 'rollout.ts', what: 'generation: static against continuous batching, with and without shared prompt prefixes, and PyTorch\'s static KV-cache loop as the peer (tokens/s, peak memory, prefill time)', options: '[--prompts 16] [--n 8] [--prefix-n 8,64] [--slots 32] [--max-new-tokens 40] [--reps 3] [--backend B] [--no-pytorch] [--no-packing]' },
  'ablation-equal-updates': { script: 'ablation-equal-updates.ts', what: 'the policy-steps ablation read per policy update (equal samples) from a notebook 04 record; no training', options: '[--record bench/results/ablations-<date>.json] [--base ARM] [--alt ARM] [--out FILE]' },
  'ppo-packing': { script: 'ppo-packing.ts', what: 'the PPO update over padded rows against packed sequences (trainer.packingMaxLen) on a long-tailed length workload (time, peak RSS)', options: '[--rows 64] [--limit 512] [--micro 16] [--reps 3] [--backend B]' },
  'async-overlap': { script: 'async-overlap.ts', what: 'iteration time of the main job on a rollout worker, asyncRollouts maxStaleness 1 against 0, head and worker pinned to their own cores', options: '[--iterations 8] [--staleness 0,1] [--no-pin] [--backend B]' },
  'session-workers': { script: 'session-workers.ts', what: 'generation throughput on 0, 1 and 2 rollout worker processes', options: '[--workers 0,1,2] [--prompts 64]' },
};

/** The default of `npm run bench` with no name. */
export const DEFAULT_BENCH = 'engine-vs-pytorch';

export function benchList(): string {
  const width = Math.max(...Object.keys(BENCHES).map((n) => n.length)) + 2;
  return Object.entries(BENCHES).map(([name, b]) => `  ${name.padEnd(width)}${b.what}${b.options ? `\n  ${''.padEnd(width)}${b.options}` : ''}`).join('\n');
}

/** Runs one benchmark with its own options, output to this terminal; returns its exit code. */
export function runBench(name: string, options: string[]): number {
  const bench = BENCHES[name];
  if (!bench) throw new Error(`unknown benchmark "${name}"; known: ${Object.keys(BENCHES).join(', ')}`);
  process.stderr.write(`== bench/${bench.script}\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, bench.script), ...options], { stdio: 'inherit' });
  return r.status ?? 1;
}
