// Disk faults under `orz train`, made real: a 2 MB tmpfs run directory filled up to half a checkpoint (ENOSPC),
// and a file size limit (RLIMIT_FSIZE, `ulimit -f`, which makes the write fail with EFBIG). In both the
// failing checkpoint is named, its temporary directory removed, the previous checkpoint stays `latest` and
// resumes; report.html (about 5 MB, larger than the whole 2 MB disk) that cannot be written is a warning and
// never stops training. A temporary checkpoint directory a killed writer left is removed at the next start.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TransformerLM, saveModel } from '../sdk/model/index.ts';
import { saveTokenizer, trainByteLevelBPE } from '../sdk/tokenizer/index.ts';
import { arithProblems } from '../sdk/data/arith.ts';

const ORZ = fileURLToPath(new URL('../bin/orz.js', import.meta.url));
const MINI = fileURLToPath(new URL('../data/mini/', import.meta.url));

const cleanEnv = () => { const env: NodeJS.ProcessEnv = { ...process.env }; delete env['ORZ_FAILPOINT']; return env; };

function orz(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [ORZ, ...args], { cwd, encoding: 'utf8', env: cleanEnv(), timeout: 120_000 });
  return { code: r.status, signal: r.signal, stderr: r.stderr };
}

/** `orz` with RLIMIT_FSIZE set to `kib` KiB (bash's ulimit -f counts 1024-byte blocks); node ignores SIGXFSZ, so writes fail with EFBIG. */
function orzWithFileLimit(kib: number, args: string[], cwd: string) {
  const r = spawnSync('bash', ['-c', `ulimit -f ${kib} && exec "$0" "$@"`, process.execPath, ORZ, ...args], { cwd, encoding: 'utf8', env: cleanEnv(), timeout: 120_000 });
  return { code: r.status, signal: r.signal, stderr: r.stderr };
}

const checkpointNames = async (run: string) => (await readdir(join(run, 'checkpoints'))).sort();
const latest = async (run: string) => (await readFile(join(run, 'checkpoints', 'latest'), 'utf8')).trim();

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) total += e.isDirectory() ? await dirBytes(join(dir, e.name)) : (await stat(join(dir, e.name))).size;
  return total;
}

let work: string;
before(async () => { work = await mkdtemp(join(tmpdir(), 'orz-disk-')); });
after(async () => { await rm(work, { recursive: true, force: true }); });

/** A model small enough that a 2 MB disk holds several checkpoints (about 150 kB each) and the run's small files. */
async function tinyProject(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const problems = arithProblems({ seed: 1, count: 12, levels: [1] });
  const tok = trainByteLevelBPE(problems.map((p) => p.question), { vocabSize: 300, specialTokens: ['<|endoftext|>', '<|pad|>'], addedTokens: ['<think>', '</think>', '<answer>', '</answer>'] });
  const model = TransformerLM.init({
    model_type: 'orz', vocab_size: tok.vocabSize, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1,
    num_attention_heads: 2, max_position_embeddings: 96, tie_word_embeddings: true, hidden_act: 'silu', eos_token_id: tok.eosId,
  }, 1);
  await saveModel(model, join(dir, 'base'));
  await saveTokenizer(tok, join(dir, 'base', 'tokenizer.json'));
  await writeFile(join(dir, 'train.json'), JSON.stringify(problems.map((p) => [
    { from: 'human', value: p.question }, { from: 'assistant', ground_truth: { value: String(p.answer) } },
  ])));
  const cfg = join(dir, 'cfg.json');
  await writeFile(cfg, JSON.stringify({
    name: 'tiny', model: 'base', trainData: 'train.json', iterations: 2,
    trainer: {
      template: 'mini', promptsPerIteration: 2, samplesPerPrompt: 2, generation: { maxNewTokens: 4 }, criticUpdateSteps: 1,
      evalEvery: 0, checkpointEvery: 1, checkpointOverhead: 0, checkpointMinutes: 0, policyLr: 1e-3, criticLr: 1e-3, warmupSteps: 0,
    },
  }));
  return cfg;
}

test('a full 2 MB tmpfs: the report is a warning, the checkpoint that runs out of space is named and removed, the previous one stays latest and resumes', async (t) => {
  const cfg = await tinyProject(join(work, 'tiny'));
  const mnt = join(work, 'disk2m');
  await mkdir(mnt);
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt], { encoding: 'utf8' });
  if (mount.status !== 0) {
    t.skip(`mount -t tmpfs failed (${(mount.stderr || mount.error?.message || '').trim()}): this needs root and a container that allows mount; the file size limit test below still fills a disk for real`);
    return;
  }
  try {
    const first = orz(['train', cfg, '--runs-dir', mnt], work);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /warning: cannot write the report \S+report\.html \(training goes on\): .*ENOSPC/);
    const run = join(mnt, 'tiny');
    assert.deepEqual(await checkpointNames(run), ['iter-1', 'iter-2', 'latest']);

    // leave half a checkpoint free: iteration 3's metrics and rollouts fit, its checkpoint does not
    const { bavail, bsize } = statfsSync(mnt);
    const filler = bavail * bsize - Math.floor((await dirBytes(join(run, 'checkpoints', 'iter-2'))) / 2);
    await writeFile(join(mnt, 'filler'), Buffer.alloc(filler));
    const full = orz(['train', cfg, '--runs-dir', mnt, '--resume', '--iterations', '4'], work);
    assert.equal(full.code, 1, full.stderr);
    assert.match(full.stderr, /cannot write checkpoint \S+\/checkpoints\/iter-3: no space left on device \(removed the partial \S+iter-3\.tmp-\d+\)/);
    assert.match(full.stderr, /iter 3 \| reward/, 'iteration 3 did not run before its checkpoint');
    assert.deepEqual(await checkpointNames(run), ['iter-1', 'iter-2', 'latest']);
    assert.equal(await latest(run), 'iter-2');
    assert.ok(existsSync(join(run, 'checkpoints', 'iter-2', 'orz.json')));

    await rm(join(mnt, 'filler'));
    const again = orz(['train', cfg, '--runs-dir', mnt, '--resume', '--iterations', '3'], work);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /resumed at iteration 2/);
    assert.equal(await latest(run), 'iter-3');
  } finally {
    spawnSync('umount', [mnt]);
  }
});

test('a file size limit (ulimit -f, EFBIG) during a checkpoint: the error says so, no partial checkpoint, the previous one stays latest and resumes', async () => {
  await writeFile(join(work, 'mini.json'), JSON.stringify({
    name: 'fsize', model: join(MINI, 'base'), trainData: join(MINI, 'train.json'), iterations: 1,
    trainer: {
      seed: 1, template: 'mini', promptsPerIteration: 2, samplesPerPrompt: 2, generation: { maxNewTokens: 8 }, criticUpdateSteps: 1,
      evalEvery: 0, checkpointEvery: 1, checkpointOverhead: 0, checkpointMinutes: 0, kl: { log: false },
    },
  }));
  const first = orz(['train', 'mini.json', '--runs-dir', 'fsize'], work);
  assert.equal(first.code, 0, first.stderr);
  const run = join(work, 'fsize', 'fsize');
  // 3 MiB: the policy and critic weights (1.6 MB each) fit, the optimizer moments (6.4 MB) and the report (4.8 MB) do not
  const limited = orzWithFileLimit(3 * 1024, ['train', 'mini.json', '--runs-dir', 'fsize', '--resume', '--iterations', '3'], work);
  assert.equal(limited.signal, null, `killed by ${limited.signal}:\n${limited.stderr}`);
  assert.equal(limited.code, 1, limited.stderr);
  assert.match(limited.stderr, /cannot write checkpoint \S+\/checkpoints\/iter-2: a file is larger than the file size limit \(ulimit -f\) \(removed the partial \S+iter-2\.tmp-\d+\): .*EFBIG/);
  assert.match(limited.stderr, /warning: cannot write the report \S+report\.html \(training goes on\)/);
  assert.deepEqual(await checkpointNames(run), ['iter-1', 'latest']);
  assert.equal(await latest(run), 'iter-1');

  const again = orz(['train', 'mini.json', '--runs-dir', 'fsize', '--resume', '--iterations', '2'], work);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /resumed at iteration 1/);
  assert.match(again.stderr, /dropping 1 metrics row\(s\) after iteration 1/);
  assert.equal(await latest(run), 'iter-2');
});

test('a temporary checkpoint directory left by a killed writer is removed when the next run starts, and said so', async () => {
  await tinyProject(join(work, 'leftover'));
  const run = join(work, 'leftover', 'runs', 'tiny');
  const stale = join(run, 'checkpoints', 'iter-3.tmp-99999');
  await mkdir(join(stale, 'policy'), { recursive: true });
  await writeFile(join(stale, 'policy', 'model.safetensors'), Buffer.alloc(1000));
  const r = orz(['train', 'cfg.json', '--iterations', '1'], join(work, 'leftover'));
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stderr.includes(`removed the partial checkpoint ${stale}, left by an earlier process`), r.stderr);
  assert.deepEqual(await checkpointNames(run), ['iter-1', 'latest']);
});
