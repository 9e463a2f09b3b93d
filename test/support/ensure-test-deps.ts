// First half of `npm test`: install what the suite needs from the system (see system-packages.ts).
import { ensureCommands, ensurePythonModules, JUPYTER_CLIENTS, SLURM, TORCH_REFERENCE } from './system-packages.ts';

try {
  const dryRun = process.argv.includes('--dry-run');
  ensurePythonModules(JUPYTER_CLIENTS, { dryRun });
  ensurePythonModules(TORCH_REFERENCE, { dryRun });
  ensureCommands(SLURM, { dryRun });
} catch (e) {
  process.stderr.write(`npm test: ${(e as Error).message}\n`);
  process.exit(1);
}
