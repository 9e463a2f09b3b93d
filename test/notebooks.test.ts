// Every notebook in notebooks/ runs through the installed orz kernel with nbclient (a real Jupyter client)
// without error outputs, and each shows what it promises: the quickstart a rollout table and a live plotly chart,
// 03 ORZ's Figure 2 (reward and response length with eval accuracy) and a per-token advantage table, 06 the
// evaluation report (mean@n, pass@k) on MATH500, AIME24 and GPQA-Diamond.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { jsonLines, jupyterPythonProblem, REPO, runDriver, tempJupyter } from './kernel/harness.ts';

interface Output {
  type: string; mimes: string[]; name?: string; text?: string; plain?: string; html_has_table?: boolean;
  plotly_traces?: (string | null)[]; table_fields?: string[]; table_rows?: Record<string, unknown>[];
}
interface NotebookRun { notebook: string; seconds: number; errors: { cell: number | null; ename: string; evalue: string; traceback: string[] }[]; cells: { index: number; outputs: Output[] }[] }

const NOTEBOOKS = join(REPO, 'notebooks');

function outputsOf(r: NotebookRun | undefined): Output[] {
  assert.ok(r, 'the notebook did not report');
  return r.cells.flatMap((c) => c.outputs);
}

const stdoutOf = (outputs: Output[]) => outputs.filter((o) => o.type === 'stream' && o.name === 'stdout').map((o) => o.text ?? '').join('');

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
    await t.test('03-orz-figure2: Figure 2 chart (reward, response length, eval accuracy), token table, switched questions', () => {
      const outputs = outputsOf(results.get('03-orz-figure2.ipynb'));
      const figure2 = outputs.find((o) => o.type === 'execute_result' && o.plotly_traces?.includes('eval accuracy'));
      assert.ok(figure2, `no plotly chart with an eval accuracy trace: ${JSON.stringify(outputs.map((o) => o.plotly_traces ?? o.mimes))}`);
      for (const trace of ['reward (mean)', 'response length (mean)']) assert.ok(figure2.plotly_traces!.includes(trace), `Figure 2 chart has no "${trace}" trace`);
      const evalTable = outputs.find((o) => o.table_fields?.includes('eval accuracy'));
      assert.ok(evalTable && evalTable.table_rows!.length >= 2, 'no table of eval accuracy at iteration 0 and after training');
      assert.ok(evalTable.table_rows!.every((r) => typeof r['eval accuracy'] === 'number'));
      const tokens = outputs.find((o) => o.table_fields?.includes('advantage'));
      assert.ok(tokens, 'no per-token table with advantages');
      for (const f of ['token', 'value', 'advantage', 'return']) assert.ok(tokens.table_fields!.includes(f), `the token table has no ${f} column`);
      assert.ok(tokens.table_rows!.some((r) => typeof r['value'] === 'number'), 'the token table has no critic values');
      assert.match(stdoutOf(outputs), /\d+ of 113 questions switched to writing steps/);
      assert.ok(outputs.some((o) => o.plotly_traces?.includes('repeatness (mean)') && o.plotly_traces.includes('reflection words per response')), 'no chart of ORZ\'s response metrics');
    });
    await t.test('06-evaluate: mean@n and pass@k tables for MATH500, AIME24 and GPQA-Diamond', () => {
      const outputs = outputsOf(results.get('06-evaluate.ipynb'));
      const report = outputs.find((o) => o.table_fields?.includes('benchmark') && o.table_fields.includes('level') && o.table_fields.some((f) => /^mean@\d+$/.test(f)));
      assert.ok(report, `no evaluation report table: ${JSON.stringify(outputs.map((o) => o.table_fields ?? o.mimes))}`);
      const meanAt = report.table_fields!.find((f) => /^mean@\d+$/.test(f))!;
      const n = Number(meanAt.slice('mean@'.length));
      assert.ok(n > 1, `expected n > 1 samples per question, got ${meanAt}`);
      for (const f of ['pass@1', `pass@${n}`, 'tokens', 'chars', 'truncated', 'skipped']) assert.ok(report.table_fields!.includes(f), `the report has no ${f} column`);
      for (const b of ['math500', 'aime2024', 'gpqa_diamond']) {
        const row: Record<string, unknown> | undefined = report.table_rows!.find((r) => r['benchmark'] === b && r['level'] === 'all');
        assert.ok(row, `the report has no row for ${b}`);
        assert.ok((row['questions'] as number) > 0, `${b}: no question evaluated`);
        for (const f of [meanAt, 'pass@1', `pass@${n}`]) assert.equal(typeof row[f], 'number', `${b}: ${f}`);
      }
      assert.ok(report.table_rows!.some((r) => r['benchmark'] === 'mini' && r['level'] === '4'), 'no per-level rows for the embedded problems');
      const choices = outputs.find((o) => o.table_fields?.includes('means') && o.table_fields.includes('reward'));
      assert.deepEqual(choices?.table_rows?.map((r) => r['reward']), [1, 1, 1, 0], 'GPQA multiple choice: right letter, bracketed letter, choice text, wrong letter');
      const passAtK = outputs.find((o) => o.plotly_traces?.includes('gpqa_diamond'));
      assert.ok(passAtK && passAtK.plotly_traces!.includes('math500') && passAtK.plotly_traces!.includes('aime2024'), 'no pass@k chart over the three benchmarks');
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
