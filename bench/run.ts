// `npm run bench`: the project's benchmarks, one after another. Results go to bench/results/.
import { spawnSync } from 'node:child_process';

const benches = [['bench/mini-rl.ts']];
let failed = 0;
for (const [script, ...args] of benches) {
  process.stderr.write(`== ${script}\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', script!, ...args, ...process.argv.slice(2)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
