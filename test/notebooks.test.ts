// Every notebook in notebooks/ runs through the installed orz kernel with nbclient (a real Jupyter client)
// without error outputs, and the quickstart shows what it promises: a rollout table and a live plotly chart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { jsonLines, jupyterPythonProblem, REPO, runDriver, tempJupyter } from './kernel/harness.ts';

interface Output { type: string; mimes: string[]; name?: string; text?: string; html_has_table?: boolean }
interface NotebookRun { notebook: string; seconds: number; errors: { cell: number | null; ename: string; evalue: string; traceback: string[] }[]; cells: { index: number; outputs: Output[] }[] }

const NOTEBOOKS = join(REPO, 'notebooks');

test('notebooks/ run through the orz kernel with nbclient', { timeout: 1_200_000 }, async (t) => {
  const problem = jupyterPythonProblem();
  assert.equal(problem, null, problem ?? '');
  const files = readdirSync(NOTEBOOKS).filter((f) => f.endsWith('.ipynb')).sort();
  assert.ok(files.includes('01-quickstart.ipynb'), 'notebooks/01-quickstart.ipynb is missing');
  const jupyter = await tempJupyter();
  try {
    const run = await runDriver('notebooks.py', files.map((f) => join(NOTEBOOKS, f)), { ...jupyter.env, ORZ_KERNEL_NAME: 'orz', ORZ_NOTEBOOK_TEST: '1' }, 1_100_000);
    const results = new Map(jsonLines<NotebookRun>(run.stdout).map((r) => [r.notebook, r]));
    for (const file of files) {
      await t.test(`${file}: no error outputs`, () => {
        const r = results.get(file);
        assert.ok(r, `${file} did not report (exit ${run.code}):\n${run.stderr.slice(-3000)}`);
        assert.deepEqual(r.errors, [], JSON.stringify(r.errors, null, 2));
      });
    }
    await t.test('01-quickstart: rollout table, live plotly chart, metrics table', () => {
      const r = results.get('01-quickstart.ipynb');
      assert.ok(r);
      const outputs = r.cells.flatMap((c) => c.outputs);
      assert.match(outputs.find((o) => o.type === 'stream' && o.name === 'stdout')?.text ?? '', /backend: \w+/);
      const tables = outputs.filter((o) => o.html_has_table && o.mimes.includes('application/vnd.dataresource+json'));
      assert.ok(tables.length >= 2, `expected the rollout and metrics tables, got ${JSON.stringify(outputs)}`);
      assert.ok(outputs.some((o) => o.type === 'display_data' && o.mimes.includes('application/vnd.plotly.v1+json')), 'no plotly chart displayed');
    });
  } finally {
    await jupyter.cleanup();
  }
});
