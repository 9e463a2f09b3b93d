// The install stays quiet and offline: no npm warning about the project's config, and onnxruntime-node's
// postinstall (which downloads CUDA providers from nuget.org, outside the npm registry) is denied through
// package.json's `allowScripts`, a field npm knows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('..', import.meta.url));

test('npm commands in the repo print no warning about its config', () => {
  const r = spawnSync('npm', ['config', 'list'], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /Unknown (project|env|user|cli) config/);
  assert.doesNotMatch(r.stderr, /npm warn/i);
});

test('every dependency with an install script is reviewed in allowScripts; onnxruntime-node is denied', () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { allowScripts?: Record<string, boolean> };
  const lock = JSON.parse(readFileSync(new URL('../package-lock.json', import.meta.url), 'utf8')) as { packages: Record<string, { hasInstallScript?: boolean }> };
  assert.equal(pkg.allowScripts?.['onnxruntime-node'], false);
  const withScripts = Object.entries(lock.packages).filter(([, p]) => p.hasInstallScript).map(([path]) => path.replace(/^.*node_modules\//, ''));
  const unreviewed = withScripts.filter((name) => typeof pkg.allowScripts?.[name] !== 'boolean');
  assert.deepEqual(unreviewed, [], 'packages with install scripts missing from package.json "allowScripts"');
});
