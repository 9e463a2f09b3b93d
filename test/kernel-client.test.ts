// The orz kernel driven by a real Jupyter client (jupyter_client's KernelManager / BlockingKernelClient in
// Debian's Python): interrupts keep state, comms, display updates, stdin, forged signatures, tracebacks,
// type warnings, aborting queued cells after an error, restart and shutdown. See test/kernel/client.py.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonLines, jupyterPythonProblem, runDriver, tempJupyter } from './kernel/harness.ts';

interface CheckLine { check: string; ok: boolean; detail: unknown; seconds: number }

const EXPECTED = [
  'interrupt_sync', 'interrupt_uninstrumented', 'interrupt_async', 'interrupt_pending_promise', 'interrupt_leftovers', 'interrupt_trainer', 'sigint',
  'startup_single_kernel_info', 'comms',
  'update_display', 'stdin', 'bad_signature', 'type_warning', 'traceback_lines', 'abort_after_error', 'restart_and_shutdown',
];

test('jupyter_client drives the orz kernel: every client check passes', { timeout: 600_000 }, async (t) => {
  const problem = jupyterPythonProblem();
  assert.equal(problem, null, problem ?? '');
  const jupyter = await tempJupyter();
  try {
    const run = await runDriver('client.py', [], { ...jupyter.env, ORZ_KERNEL_NAME: 'orz' }, 540_000);
    const lines = jsonLines<CheckLine>(run.stdout);
    const byName = new Map(lines.map((l) => [l.check, l]));
    for (const name of EXPECTED) {
      await t.test(name, () => {
        const line = byName.get(name);
        assert.ok(line, `check ${name} did not report (exit ${run.code}); stderr:\n${run.stderr.slice(-3000)}`);
        assert.ok(line.ok, `${name}: ${JSON.stringify(line.detail)}`);
      });
    }
    assert.equal(run.code, 0, run.stderr.slice(-3000));
  } finally {
    await jupyter.cleanup();
  }
});
