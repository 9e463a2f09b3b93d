// The Slurm test cluster itself (test/support/slurm-cluster.ts): it starts within its time bound, runs a job step
// with srun, cancels a step with scancel, and leaves no daemon behind when stopped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { slurmSkipReason, startSlurmCluster } from './support/slurm-cluster.ts';

const skip = slurmSkipReason();
if (skip) process.stderr.write(`skipping the Slurm cluster test: ${skip}\n`);

test('a one-node Slurm cluster: srun runs a step, scancel ends one, stop leaves nothing running', { skip: skip ?? false }, async () => {
  const t0 = Date.now();
  const cluster = await startSlurmCluster({ timeoutMs: 30_000 });
  try {
    process.stderr.write(`Slurm test cluster up in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    assert.equal(cluster.run('srun', ['-N1', '-n1', 'hostname']).trim(), cluster.node);
    const out = cluster.run('salloc', ['--no-shell', '-N1', '-J', 'orz-test']);
    const jobId = /Granted job allocation (\d+)/.exec(out)?.[1] ?? /(\d+)/.exec(cluster.run('squeue', ['-h', '-o', '%i', '-n', 'orz-test']))?.[1];
    assert.ok(jobId, `no job id in ${out}`);
    const step = spawn('srun', [`--jobid=${jobId}`, '--overlap', '-n1', 'sleep', '60'], { env: cluster.env, stdio: 'ignore' });
    const ended = new Promise<number | null>((r) => step.on('exit', (code) => r(code)));
    let steps = '';
    for (let i = 0; i < 50 && !steps.includes(`${jobId}.0`); i++) {
      await new Promise((r) => setTimeout(r, 100));
      steps = cluster.run('squeue', ['-h', '-s', '-o', '%i']);
    }
    assert.match(steps, new RegExp(`${jobId}\\.0`));
    cluster.run('scancel', [`${jobId}.0`]);
    assert.notEqual(await ended, 0, 'a cancelled step fails its srun');
  } finally {
    await cluster.stop();
  }
});
