// Every `orz` command explains itself: `--help` prints its usage on stdout and exits 0, and a bad flag value
// exits 2 naming the flag. Real subprocesses through bin/orz.js; all of these stop before any model loads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCHES } from '../bench/benches.ts';

const ORZ = fileURLToPath(new URL('../bin/orz.js', import.meta.url));

const home = await mkdtemp(join(tmpdir(), 'orz-flags-'));
test.after(() => rm(home, { recursive: true, force: true }));

/** `orz ...args` with sessions and kernel specs kept inside a scratch directory. */
function orz(args: string[], nodeArgs: string[] = []) {
  const env = { ...process.env, ORZ_HOME: join(home, 'orz'), JUPYTER_DATA_DIR: join(home, 'jupyter'), ORZ_BACKEND: 'cpu' };
  return spawnSync(process.execPath, [...nodeArgs, ORZ, ...args], { cwd: home, encoding: 'utf8', env, timeout: 60_000 });
}

const COMMANDS = [
  'train', 'eval', 'bench',
  'session', 'session start', 'session list', 'session status', 'session stop',
  'kernel', 'kernel install', 'kernel list', 'kernel remove', 'kernel run',
];

test('--help of every command and subcommand: usage on stdout, exit 0', () => {
  for (const command of COMMANDS) {
    const r = orz([...command.split(' '), '--help']);
    assert.equal(r.status, 0, `orz ${command} --help: ${r.stderr}`);
    assert.equal(r.stderr, '', `orz ${command} --help`);
    assert.match(r.stdout, new RegExp(`^(usage: )?orz ${command}\\b`), `orz ${command} --help:\n${r.stdout}`);
  }
  for (const command of ['session start', 'kernel run']) assert.equal(orz([...command.split(' '), '-h']).status, 0, `orz ${command} -h`);
  // a subcommand's help lists its own options
  assert.match(orz(['session', 'start', '--help']).stdout, /--max-message-size BYTES/);
  assert.match(orz(['kernel', 'run', '--help']).stdout, /-f, --connection-file FILE/);
});

test('the top-level usage lists every command', () => {
  const r = orz(['--help']);
  assert.equal(r.status, 0);
  for (const command of ['train', 'eval', 'kernel', 'session', 'bench']) assert.match(r.stdout, new RegExp(`\\n  orz ${command} `));
});

test('bad numeric flags exit 2 with a message naming the flag and the value', async () => {
  const cfg = join(home, 'cfg.json');
  await writeFile(cfg, JSON.stringify({ name: 'x', model: 'm', trainData: 't.json', iterations: 1 }));
  const cases: [string[], RegExp][] = [
    [['session', 'start', '--workers', 'x'], /orz session start: --workers must be an integer >= 0, got "x"/],
    [['session', 'start', '--checkpoint-every', '0'], /orz session start: --checkpoint-every must be a positive integer, got "0"/],
    [['session', 'start', '--max-message-size', 'abc'], /orz session start: --max-message-size must be a positive integer, got "abc"/],
    [['session', 'start', '--workers', '1.5'], /--workers must be an integer >= 0, got "1\.5"/],
    [['session', 'start', '--bogus'], /orz session start: Unknown option '--bogus'/],
    [['session', 'status', 'a', 'b'], /orz session status: expected at most 1 session name, got "a" "b"/],
    [['session', 'list', '--json=yes'], /orz session list: .*--json/],
    [['kernel', 'install', '--frobnicate'], /orz kernel install: Unknown option '--frobnicate'/],
    [['kernel', 'install', '--user', '--prefix', join(home, 'k')], /orz kernel install: choose one of --user, --prefix, --sys-prefix/],
    [['kernel', 'list', 'extra'], /orz kernel list: expected no positional arguments, got "extra"/],
    [['kernel', 'run'], /orz kernel run: --connection-file FILE is required/],
    [['eval', '--model', 'm', '--data', 'd', '--limit', 'abc'], /orz eval: --limit must be a positive integer, got "abc"/],
    [['eval', '--model', 'm', '--data', 'd', '--max-new-tokens', 'x'], /orz eval: --max-new-tokens must be a positive integer, got "x"/],
    [['train', cfg, '--iterations', '0'], /orz train: --iterations must be a positive integer, got "0"/],
    [['bench', 'no-such-bench'], /orz bench: unknown benchmark "no-such-bench"/],
  ];
  for (const [args, message] of cases) {
    const r = orz(args);
    assert.equal(r.status, 2, `orz ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, `orz ${args.join(' ')}`);
    assert.match(r.stderr, /usage: orz /, `orz ${args.join(' ')} prints the usage`);
  }
});

test('orz bench --help lists every benchmark of the table', () => {
  const r = orz(['bench', '--help']);
  assert.equal(r.status, 0, r.stderr);
  for (const name of Object.keys(BENCHES)) assert.match(r.stdout, new RegExp(`\\n  ${name} `));
});

test('orz kernel commands load neither the SDK nor tfjs', async () => {
  // A resolve hook prints every module the command loads; the kernel CLI may load the flag table only.
  const hook = join(home, 'log-resolve.mjs');
  await writeFile(hook, `import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent('export async function resolve(s, c, next) { const r = await next(s, c); process.stderr.write("LOADED " + r.url + "\\\\n"); return r; }'));\n`);
  for (const args of [['kernel', 'list'], ['kernel', 'run', '--help']]) {
    const r = orz(args, ['--import', hook]);
    assert.equal(r.status, 0, r.stderr);
    const loaded = r.stderr.split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => l.slice(7));
    assert.ok(loaded.some((u) => u.endsWith('/kernel/cli.ts')), `the hook saw kernel/cli.ts: ${loaded.join('\n')}`);
    const heavy = loaded.filter((u) => /@tensorflow|onnxruntime|apache-arrow|\/sdk\/(?!cli\/main\.ts|util\/(flags|atomic-write)\.ts)/.test(u));
    assert.deepEqual(heavy, [], `orz ${args.join(' ')} loaded more than the flag table`);
  }
});
