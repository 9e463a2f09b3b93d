// First half of `npm test`: install what the suite needs from the system (see system-packages.ts).
import { ensurePythonModules, JUPYTER_CLIENTS } from './system-packages.ts';

try {
  ensurePythonModules(JUPYTER_CLIENTS, { dryRun: process.argv.includes('--dry-run') });
} catch (e) {
  process.stderr.write(`npm test: ${(e as Error).message}\n`);
  process.exit(1);
}
