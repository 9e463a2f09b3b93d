// `npm run bench [-- <bench>] [-- options]`: one of the project's benchmarks (bench/benches.ts); `orz bench` is
// the same table. With no name: engine-vs-pytorch.
//   npm run bench                                 the compute engine against PyTorch (engine-vs-pytorch)
//   npm run bench -- --backends onnxruntime       same, options passed on
//   npm run bench -- mini-rl [--iterations N]     the main job's PPO run (accuracy against wall-clock time)
import { BENCHES, benchList, DEFAULT_BENCH, runBench } from './benches.ts';

const argv = process.argv.slice(2);
const name = argv[0] && !argv[0].startsWith('-') ? argv.shift()! : DEFAULT_BENCH;
if (!BENCHES[name]) {
  process.stderr.write(`bench: unknown benchmark "${name}"; known:\n${benchList()}\n`);
  process.exit(2);
}
process.exitCode = runBench(name, argv);
