// notebooks/02-attach-session.ipynb with a real kernel restart where its markdown says "restart the kernel":
// a Jupyter client (jupyter_client) runs the cells before the cell tagged "restart-kernel" in one orz kernel
// process, restarts the kernel, and runs the re-attach cells in the new process. The session daemon the notebook
// starts must outlive the first kernel: same session pid, same iteration, metrics and weights after the restart,
// and training continues from there. (test/notebooks.test.ts runs the same notebook top to bottom, no restart.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { listSessions, processAlive } from '../sdk/session/connection-file.ts';
import { jsonLines, jupyterPythonProblem, REPO, runDriver, tempJupyter } from './kernel/harness.ts';

interface CellRun {
  index: number; phase: 'before' | 'after'; status: string; seconds: number; stdout: string; stderr: string;
  error: { ename: string; evalue: string; traceback: string[] } | null; msg_types: string[]; mimes: string[];
}
interface RestartRun { notebook: string; seconds: number; restart_index: number; kernel_pids: number[]; cells: CellRun[]; kernel_stderr: string }

const NOTEBOOK = join(REPO, 'notebooks', '02-attach-session.ipynb');
const TRAINER_LINE = /trainer "mini": iteration (\d+), (\d+) metrics rows, weights sha256 ([0-9a-f]{16})/;
const SESSION_LINE = /session nb02: pid (\d+)/;

/** The first match of `re` in the stdout of a phase's cells, with the cell it came from. */
function find(cells: CellRun[], phase: CellRun['phase'], re: RegExp): RegExpMatchArray {
  for (const c of cells.filter((c) => c.phase === phase)) {
    const m = c.stdout.match(re);
    if (m) return m;
  }
  assert.fail(`no ${phase}-restart output matches ${re}; stdout was:\n${cells.filter((c) => c.phase === phase).map((c) => `[cell ${c.index}] ${c.stdout}`).join('\n')}`);
}

test('02-attach-session: detach, real kernel restart, re-attach, continue', { timeout: 600_000 }, async (t) => {
  const problem = jupyterPythonProblem();
  assert.equal(problem, null, problem ?? '');
  // The notebook keeps its session under tmpdir(); a private TMPDIR makes that directory this test's own.
  const tmp = await mkdtemp(join(tmpdir(), 'orz-nb02-test-'));
  const home = join(tmp, `orz-notebook-02-${userInfo().uid}`);
  const jupyter = await tempJupyter();
  try {
    const run = await runDriver('notebook-restart.py', [NOTEBOOK], { ...jupyter.env, ORZ_KERNEL_NAME: 'orz', TMPDIR: tmp }, 540_000);
    const [r] = jsonLines<RestartRun>(run.stdout);
    assert.ok(r, `the driver did not report (exit ${run.code}):\n${run.stderr.slice(-4000)}`);
    t.diagnostic(`${r.seconds} s in all; cells: ${r.cells.map((c) => `${c.index}:${c.seconds}s`).join(' ')}`);
    const failed = r.cells.filter((c) => c.status !== 'ok' || c.error);
    assert.deepEqual(failed, [], `failing cells:\n${JSON.stringify(failed, null, 2)}\nkernel stderr:\n${r.kernel_stderr}`);
    const after = r.cells.filter((c) => c.phase === 'after');
    assert.ok(after.length >= 3, `expected the re-attach, continue and stop cells to run after the restart, got ${after.map((c) => c.index)}`);

    // A real restart: a new kernel process, the same session process.
    assert.equal(r.kernel_pids.length, 2);
    assert.notEqual(r.kernel_pids[0], r.kernel_pids[1], 'the kernel process did not change across the restart');
    assert.equal(find(r.cells, 'after', SESSION_LINE)[1], find(r.cells, 'before', SESSION_LINE)[1], 'the session process changed across the kernel restart');

    // Live progress before the restart: the bar and the chart redrawn in place, the chart as plotly.
    const before = r.cells.filter((c) => c.phase === 'before');
    const live = before.find((c) => c.msg_types.includes('update_display_data'));
    assert.ok(live, 'no cell redrew a display in place (update_display_data) while training');
    assert.ok(live.msg_types.filter((m) => m === 'update_display_data').length >= 4, `expected bar and chart updates for 2 iterations, got ${live.msg_types}`);
    assert.ok(live.mimes.includes('application/vnd.plotly.v1+json'), `no plotly chart in the training cell: ${live.mimes}`);

    // The state found where it was left: iteration, metrics and weights.
    const [, itBefore, rowsBefore, digestBefore] = find(r.cells, 'before', TRAINER_LINE);
    const [, itAfter, rowsAfter, digestAfter] = find(r.cells, 'after', TRAINER_LINE);
    assert.equal(itBefore, '2');
    assert.equal(rowsBefore, '2');
    assert.deepEqual([itAfter, rowsAfter, digestAfter], [itBefore, rowsBefore, digestBefore], 'the re-attached trainer is not where the first kernel left it');

    // Training continues: the metrics history goes on from 2 to 4, with nothing lost or repeated.
    assert.match(find(r.cells, 'after', /iterations in the metrics: ([\d, ]+)/)[1]!, /^1, 2, 3, 4\s*$/);

    // The last cell stopped the session and removed its directory.
    assert.equal(existsSync(home), false, `${home} is still there after the notebook's last cell`);
  } finally {
    // Whatever happened, no daemon of this test outlives it.
    for (const s of await listSessions({ ...process.env, ORZ_HOME: home }).catch(() => [])) {
      if (s.connection && processAlive(s.connection.pid)) process.kill(s.connection.pid, 'SIGKILL');
    }
    await jupyter.cleanup();
    await rm(tmp, { recursive: true, force: true });
  }
});
