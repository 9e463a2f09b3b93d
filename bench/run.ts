// `npm run bench [-- <bench>] [-- options]`: one of the project's benchmarks; results go to bench/results/.
//   npm run bench                                 the compute engine against PyTorch (engine-vs-pytorch)
//   npm run bench -- --backends onnxruntime       same, options passed on
//   npm run bench -- mini-rl [--iterations N]     the main job's PPO run (accuracy against wall-clock time)
//   npm run bench -- engine-matmul                onnxruntime against cpu on the PPO model's shapes
//   npm run bench -- engine-slice                 block-copy Slice/Pad against the cpu kernels
//   npm run bench -- reward-pool                  mathReward throughput: in-process against the reward workers
//   npm run bench -- reward-orz-agreement         mathReward's verdicts against ORZ's own checker
//   npm run bench -- tokenizers                   orz's tokenizer against @huggingface/tokenizers on real tokenizer.json files
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const BENCHES: Record<string, string> = {
  'engine-vs-pytorch': 'engine-vs-pytorch.ts',
  'mini-rl': 'mini-rl.ts',
  'engine-matmul': 'engine-matmul.ts',
  'engine-slice': 'engine-slice.ts',
  'reward-pool': 'reward-pool.ts',
  'reward-orz-agreement': 'reward-orz-agreement.ts',
  tokenizers: 'tokenizers.ts',
};

const argv = process.argv.slice(2);
const name = argv[0] && !argv[0].startsWith('-') ? argv.shift()! : 'engine-vs-pytorch';
const script = BENCHES[name];
if (!script) {
  process.stderr.write(`bench: unknown benchmark "${name}"; known: ${Object.keys(BENCHES).join(', ')}\n`);
  process.exit(2);
}
process.stderr.write(`== bench/${script}\n`);
const r = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, script), ...argv], { stdio: 'inherit' });
process.exitCode = r.status ?? 1;
