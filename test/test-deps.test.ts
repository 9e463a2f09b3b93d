// The test command installs its own system dependencies: a fresh machine's `npm test` must not fail on
// "python3 lacks Jupyter packages". Checked against a real interpreter that cannot see them (python3 -S
// skips the site directories where Debian puts them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { ensureCommands, ensurePythonModules, installPlan, JUPYTER_CLIENTS, missingCommands, missingModules, SLURM, TORCH_REFERENCE } from './support/system-packages.ts';

async function pythonWithoutSitePackages(): Promise<{ python: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'orz-python-'));
  const python = join(dir, 'python3');
  await writeFile(python, '#!/bin/sh\nexec /usr/bin/python3 -S "$@"\n');
  await chmod(python, 0o755);
  return { python, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

test('npm test runs the dependency step before the suite, and .ci/run goes through npm test', () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
  assert.match(pkg.scripts['test']!, /^node --import tsx test\/support\/ensure-test-deps\.ts && node --import tsx --test /);
  const ci = readFileSync(new URL('../.ci/run', import.meta.url), 'utf8');
  assert.match(ci, /^npm test$/m);
});

test('missing Jupyter modules are detected and the apt-get install is planned as root', async () => {
  const { python, cleanup } = await pythonWithoutSitePackages();
  try {
    const req = { ...JUPYTER_CLIENTS, python };
    assert.deepEqual(missingModules(req), JUPYTER_CLIENTS.modules);
    const logged: string[] = [];
    const commands = ensurePythonModules(req, { dryRun: true, uid: 0, log: (l) => logged.push(l) });
    assert.deepEqual(commands, [
      ['apt-get', 'update'],
      ['apt-get', 'install', '-y', '--no-install-recommends', 'python3-jupyter-client', 'python3-nbclient', 'python3-nbformat', 'python3-jupyter-kernel-test'],
    ]);
    assert.match(logged[0]!, /cannot import jupyter_client, nbclient, nbformat, jupyter_kernel_test; installing python3-jupyter-client/);
  } finally {
    await cleanup();
  }
});

test('nothing is installed when the modules import', () => {
  assert.deepEqual(missingModules({ python: '/usr/bin/python3', modules: ['json', 'os'], packages: ['python3'] }), []);
  assert.deepEqual(ensurePythonModules({ python: '/usr/bin/python3', modules: ['json'], packages: ['python3'] }, { dryRun: true }), []);
});

test('without root: sudo -n when it works, else an error that names the command to run', async () => {
  const plan = installPlan(['python3-nbclient'], { uid: 1000, passwordlessSudo: true });
  assert.deepEqual(plan, { commands: [['sudo', '-n', 'apt-get', 'update'], ['sudo', '-n', 'apt-get', 'install', '-y', '--no-install-recommends', 'python3-nbclient']] });
  const denied = installPlan(['python3-nbclient'], { uid: 1000, passwordlessSudo: false });
  assert.ok('error' in denied);
  assert.match(denied.error, /sudo apt-get update && sudo apt-get install -y --no-install-recommends python3-nbclient/);
  const { python, cleanup } = await pythonWithoutSitePackages();
  try {
    // uid 1000 here has no passwordless sudo unless the machine grants it; either way no install runs (dry run).
    const r = (() => { try { return ensurePythonModules({ ...JUPYTER_CLIENTS, python }, { dryRun: true, uid: 1000, log: () => {} }); } catch (e) { return e as Error; } })();
    if (r instanceof Error) assert.match(r.message, /cannot import jupyter_client.*sudo apt-get install/s);
    else assert.equal(r[0]![0], 'sudo');
  } finally {
    await cleanup();
  }
});

test('Slurm for the Slurm tests: a missing command plans slurm-wlm and munge; the installed ones are found', () => {
  const req = { ...SLURM, commands: [...SLURM.commands, 'orz-no-such-slurm-command'] };
  assert.deepEqual(missingCommands(req).slice(-1), ['orz-no-such-slurm-command']);
  const logged: string[] = [];
  assert.deepEqual(ensureCommands(req, { dryRun: true, uid: 0, log: (l) => logged.push(l) }).at(-1), ['apt-get', 'install', '-y', '--no-install-recommends', 'slurm-wlm', 'munge']);
  assert.match(logged[0]!, /not installed: .*orz-no-such-slurm-command; installing slurm-wlm munge/);
  const deps = readFileSync(new URL('./support/ensure-test-deps.ts', import.meta.url), 'utf8');
  assert.match(deps, /ensureCommands\(SLURM/);
});

test('a missing torch for the PyTorch reference scripts is detected and installed with OpenBLAS, and the test command asks for it', async () => {
  const { python, cleanup } = await pythonWithoutSitePackages();
  try {
    assert.deepEqual(missingModules({ ...TORCH_REFERENCE, python }), ['torch']);
    const commands = ensurePythonModules({ ...TORCH_REFERENCE, python }, { dryRun: true, uid: 0, log: () => {} });
    assert.deepEqual(commands.at(-1), ['apt-get', 'install', '-y', '--no-install-recommends', 'python3-torch', 'libopenblas0-pthread']);
  } finally {
    await cleanup();
  }
  assert.match(readFileSync(new URL('./support/ensure-test-deps.ts', import.meta.url), 'utf8'), /ensurePythonModules\(TORCH_REFERENCE/);
});
