// `orz` command line: one command, subcommands in their own files (each with --help).

import { UsageError } from '../util/flags.ts';

const USAGE = `orz: Open-Reasoner-Zero in TypeScript

usage:
  orz train <config.json> [options]   PPO from a run config into runs/<name>/
  orz eval --model DIR --data FILE    accuracy of a model on a dataset with the math reward
  orz pull <owner/name[@rev]>         download a model from the Hugging Face hub into the HF cache
  orz kernel install|list|remove|run  the TypeScript Jupyter kernel
  orz session start|list|status|stop  persistent training sessions that notebooks attach to
  orz bench <name> [options]          one of the project's benchmarks (\`orz bench --help\` lists them)
  orz help                            this text; \`orz <command> --help\` for a command's options

environment:
  ORZ_BACKEND     tensor backend: auto (default), tensorflow, onnxruntime, wasm, cpu
  ORZ_RUNS_DIR    where runs/<name>/ go (default ./runs)
  ORZ_FAILPOINT   testing hook: SIGKILL at a named point, e.g. update@2 (sdk/util/failpoint.ts)
`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'train': return await (await import('./train.ts')).trainCommand(rest);
      case 'eval': return await (await import('./eval.ts')).evalCommand(rest);
      case 'pull': return await (await import('./pull.ts')).pullCommand(rest);
      case 'kernel': return await (await import('../../kernel/cli.ts')).kernelCommand(rest); // sdk never imports kernel statically
      case 'session': return await (await import('../session/cli.ts')).sessionCommand(rest);
      case 'bench': return await (await import('./bench.ts')).benchCommand(rest);
      case undefined: case 'help': case '--help': case '-h': process.stdout.write(USAGE); return cmd === undefined ? 2 : 0;
      default: throw new UsageError(`unknown command "${cmd}"`);
    }
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      const usage = e instanceof UsageError && e.usage ? e.usage : USAGE;
      process.stderr.write(`${(e as Error).message}\n\n${usage}`);
      return 2;
    }
    process.stderr.write(`orz ${cmd}: ${(e as Error).message}\n`);
    if (process.env['ORZ_DEBUG']) process.stderr.write(`${(e as Error).stack}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
