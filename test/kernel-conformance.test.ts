// jupyter_kernel_test's conformance class (test/kernel/conformance.py) against the orz kernel, where every
// check must pass, and against tslab for the "this kernel vs tslab" table (its failures are recorded, not
// asserted). Both results go to bench/results/kernel-conformance.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../sdk/util/atomic-write.ts';
import { jupyterPythonProblem, REPO, runDriver, tempJupyter } from './kernel/harness.ts';

interface Check { status: 'pass' | 'fail' | 'error' | 'skip'; detail: string; seconds?: number }
interface Report { kernel: string; flavor: string; checks: Record<string, Check>; setup_error?: string }

/** Checks configured in the conformance class; test_pager stays skipped (no pager in either kernel). */
const CHECKS = [
  'test_kernel_info', 'test_execute_stdout', 'test_execute_stderr', 'test_completion', 'test_is_complete', 'test_error',
  'test_execute_result', 'test_display_data', 'test_history', 'test_inspect', 'test_clear_output', 'test_stdin',
];

async function conformance(kernel: 'orz' | 'tslab', env: NodeJS.ProcessEnv): Promise<Report> {
  const run = await runDriver('conformance.py', [], { ...env, ORZ_KERNEL_NAME: kernel, ORZ_KERNEL_FLAVOR: kernel }, 900_000);
  const line = run.stdout.split('\n').find((l) => l.startsWith('{'));
  assert.ok(line, `conformance.py (${kernel}) printed no report (exit ${run.code}):\n${run.stderr.slice(-3000)}`);
  return JSON.parse(line) as Report;
}

const version = (pkg: string): string => (JSON.parse(readFileSync(join(REPO, pkg), 'utf8')) as { version: string }).version;

test('jupyter_kernel_test: every conformance check passes for orz; tslab recorded for comparison', { timeout: 1_800_000 }, async (t) => {
  const problem = jupyterPythonProblem();
  assert.equal(problem, null, problem ?? '');
  const jupyter = await tempJupyter({ tslab: true });
  try {
    const orz = await conformance('orz', jupyter.env);
    const tslab = await conformance('tslab', jupyter.env);
    const table = CHECKS.map((c) => ({ check: c, orz: orz.checks[c]?.status ?? 'missing', tslab: tslab.checks[c]?.status ?? 'missing' }));
    // The record changes only when a verdict changes, so a test run does not dirty the work tree with new dates.
    const recordFile = join(REPO, 'bench', 'results', 'kernel-conformance.json');
    const recorded = existsSync(recordFile) ? (JSON.parse(readFileSync(recordFile, 'utf8')) as { table?: unknown }).table : undefined;
    if (JSON.stringify(recorded) !== JSON.stringify(table)) {
      await writeFileAtomic(recordFile, `${JSON.stringify({
        bench: 'kernel-conformance',
        date: new Date().toISOString(),
        client: 'jupyter_kernel_test 0.4.5 (jupyter_client 7.4.9), test/kernel/conformance.py',
        kernels: { orz: version('package.json'), tslab: version('node_modules/tslab/package.json') },
        table,
        details: { orz: orz.checks, tslab: tslab.checks },
      }, null, 2)}\n`);
    }
    assert.equal(orz.setup_error, undefined, orz.setup_error);
    for (const c of CHECKS) {
      await t.test(c, () => {
        const r = orz.checks[c];
        assert.ok(r, `${c} did not run`);
        assert.equal(r.status, 'pass', r.detail);
      });
    }
  } finally {
    await jupyter.cleanup();
  }
});
