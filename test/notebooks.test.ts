// Every notebook in notebooks/ runs through the installed orz kernel with nbclient (a real Jupyter client)
// without error outputs, and the quickstart shows what it promises: a rollout table and a live plotly chart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { jsonLines, jupyterPythonProblem, REPO, runDriver, tempJupyter } from './kernel/harness.ts';

interface Output { type: string; mimes: string[]; name?: string; text?: string; plain?: string; html_has_table?: boolean }
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
    await t.test('04-ablations: a chart per ablation and the closing table of paper direction against measurement', () => {
      const r = results.get('04-ablations.ipynb');
      assert.ok(r, '04-ablations.ipynb did not report');
      const outputs = r.cells.flatMap((c) => c.outputs);
      const charts = outputs.filter((o) => o.type === 'display_data' && o.mimes.includes('application/vnd.plotly.v1+json'));
      assert.equal(charts.length, 4, `expected one chart per ablation, got ${charts.length}`);
      const verdicts = outputs.find((o) => o.html_has_table && /reproduced/.test(o.plain ?? '') && /paper/.test(o.plain ?? ''));
      assert.ok(verdicts, `no closing table with the paper's direction and "reproduced" in ${JSON.stringify(outputs.map((o) => o.plain?.slice(0, 80)))}`);
      for (const ablation of ['GAE λ', 'KL in reward', 'KL in loss', 'GRPO (÷ std)', 'GRPO (÷ 1)', 'policy steps']) {
        assert.match(verdicts.plain!, new RegExp(`^${ablation.replace(/[()÷]/g, '.')}\\s.*(yes|reversed|not resolved)\\s*$`, 'm'), `no verdict row for ${ablation}`);
      }
    });
    await t.test('05-reward-lab: the verdict-diff table and caught reward errors naming the sample, the iteration not consumed', () => {
      const r = results.get('05-reward-lab.ipynb');
      assert.ok(r, '05-reward-lab.ipynb did not report');
      const outputs = r.cells.flatMap((c) => c.outputs);
      const diff = outputs.find((o) => o.html_has_table && /^reward\s+before\s+after\s+samples\s+verdict/m.test(o.plain ?? ''));
      assert.ok(diff, 'no verdict-diff table (reward, before, after, samples, verdict)');
      assert.match(diff.plain!, /^length penalty\s/m);
      assert.match(diff.plain!, /^format bonus\s/m);
      const stdout = outputs.filter((o) => o.type === 'stream' && o.name === 'stdout').map((o) => o.text).join('');
      assert.match(stdout, /caught RewardError after [\d.]+ s: stepsReward threw: .* on sample \d+ \(prompt "User: /);
      assert.match(stdout, /caught RewardError after [\d.]+ s: hangingReward timed out after 2000 ms on sample \d+/);
      const states = outputs.map((o) => o.plain ?? '').join('\n');
      for (const label of ['reward throws', 'reward hangs']) {
        assert.match(states, new RegExp(`^${label}\\s+(\\d+) / \\1\\s+(\\d+) / \\2\\s+(\\d+) / \\3\\s+false\\s*$`, 'm'), `${label}: the iteration was consumed`);
      }
      assert.match(states, /^math reward again\s+(\d+) \/ (\d+)\s.*true\s*$/m);
    });
  } finally {
    await jupyter.cleanup();
  }
});
