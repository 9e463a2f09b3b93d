// `orz bench <name> [options]`: one of the project's benchmarks (the table in bench/benches.ts). The options
// after the name are the benchmark's own; each benchmark checks them (node's parseArgs, strict).

import { UsageError } from '../util/flags.ts';

export async function benchCommand(argv: string[]): Promise<number> {
  const { BENCHES, benchList, runBench } = await import('../../bench/benches.ts'); // bench/ is a tool of the repo, not part of the SDK
  const usage = `usage: orz bench <name> [options]\nRuns a benchmark in its own process; results go to bench/results/. Benchmarks:\n${benchList()}\n`;
  const [name, ...options] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage);
    return name === undefined ? 2 : 0;
  }
  if (!Object.hasOwn(BENCHES, name)) throw new UsageError(`orz bench: unknown benchmark "${name}"`, usage);
  return runBench(name, options);
}
