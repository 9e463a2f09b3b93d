// Models by hub id against a fake hub on 127.0.0.1 (test/support/fake-hub.ts): download into a
// temporary HF cache in huggingface_hub's layout, resume after a cut connection, loading from the
// cache with no request, offline and network errors, and `orz pull` through the real CLI.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, lstat, mkdir, mkdtemp, readFile, readlink, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TransformerLM, loadModel, readSafetensors, saveModel, writeSafetensors, type TensorToWrite } from '../sdk/model/index.ts';
import { loadTokenizer, saveTokenizer, trainByteLevelBPE } from '../sdk/tokenizer/index.ts';
import { arithProblems } from '../sdk/data/arith.ts';
import { FakeHub, gitOid, sha256 } from './support/fake-hub.ts';

const ORZ = fileURLToPath(new URL('../bin/orz.js', import.meta.url));
const REPO = 'orz-test/tiny';
const SHARDED = 'orz-test/tiny-sharded';
const COMMIT = 'c0ffee'.padEnd(40, '0');
const TEXT = 'Natalia sold 48 clips in April, and half as many in May.';

let work: string;
let files: Record<string, Buffer>;
const hub = new FakeHub();

/** A tiny model and tokenizer in Hugging Face layout, as the fake hub's files. */
async function makeRepoFiles(dir: string): Promise<Record<string, Buffer>> {
  const tok = trainByteLevelBPE([TEXT, 'How many clips did Natalia sell altogether?'], { vocabSize: 300, specialTokens: ['<|endoftext|>'] });
  const model = TransformerLM.init({
    model_type: 'orz', vocab_size: tok.vocabSize, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1,
    num_attention_heads: 2, max_position_embeddings: 256, tie_word_embeddings: true, hidden_act: 'silu', eos_token_id: tok.eosId,
  }, 1);
  await saveModel(model, dir);
  await saveTokenizer(tok, join(dir, 'tokenizer.json'));
  model.dispose?.();
  const out: Record<string, Buffer> = {};
  for (const f of await readdir(dir)) out[f] = await readFile(join(dir, f));
  out['tokenizer_config.json'] = Buffer.from('{"eos_token": "<|endoftext|>"}\n');
  out['generation_config.json'] = Buffer.from('{"eos_token_id": 0}\n');
  out['README.md'] = Buffer.from('# not downloaded: orz fetches only what a model needs\n');
  return out;
}

/** The same weights as two shards and a model.safetensors.index.json, plus the config and tokenizer. */
async function shardedFiles(weightsPath: string): Promise<Record<string, { bytes: Buffer; lfs?: boolean }>> {
  const { tensors } = await readSafetensors(weightsPath);
  const names = [...tensors.keys()];
  const out: Record<string, { bytes: Buffer; lfs?: boolean }> = {};
  const weightMap: Record<string, string> = {};
  for (const [i, part] of [names.slice(0, 2), names.slice(2)].entries()) {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    const shard = new Map<string, TensorToWrite>(part.map((n) => [n, { dtype: 'F32', shape: tensors.get(n)!.shape, data: tensors.get(n)!.data }]));
    await writeSafetensors(join(work, file), shard, { format: 'pt' });
    out[file] = { bytes: await readFile(join(work, file)), lfs: true };
    for (const n of part) weightMap[n] = file;
  }
  out['model.safetensors.index.json'] = { bytes: Buffer.from(JSON.stringify({ metadata: {}, weight_map: weightMap })) };
  for (const f of ['config.json', 'tokenizer.json']) out[f] = { bytes: files[f]! };
  return out;
}

function useCache(name: string, extra: Record<string, string | undefined> = {}): string {
  const cache = join(work, name);
  process.env.HF_HUB_CACHE = cache;
  process.env.HF_ENDPOINT = hub.url;
  delete process.env.HF_HUB_OFFLINE;
  Object.assign(process.env, extra);
  return cache;
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'orz-hub-'));
  files = await makeRepoFiles(join(work, 'source'));
  hub.addRepo(REPO, COMMIT, Object.fromEntries(Object.entries(files).map(([p, bytes]) => [p, { bytes, lfs: p.endsWith('.safetensors') }])));
  hub.addRepo(SHARDED, COMMIT.replace('c', 'd'), await shardedFiles(join(work, 'source', 'model.safetensors')));
  await hub.start();
});

after(async () => {
  await hub.stop();
  await rm(work, { recursive: true, force: true });
});

test('loadModel(id) downloads into the HF cache layout, resumes a cut download with Range, then loads with no request and offline', async () => {
  const cache = useCache('cache-a');
  hub.cutOnce('model.safetensors');
  const before = hub.log.length;
  const model = await loadModel(REPO);
  const tok = await loadTokenizer(REPO);
  assert.deepEqual(hub.unknown, [], 'requests the fake hub does not serve');

  // the cut download was resumed from where it stopped, and the blob is the exact file
  const gets = hub.log.slice(before).filter((r) => r.url.endsWith('/resolve/' + COMMIT + '/model.safetensors'));
  assert.equal(gets.length, 2, JSON.stringify(gets));
  assert.equal(gets[0]!.range, undefined);
  const resumedAt = Number(/^bytes=(\d+)-$/.exec(gets[1]!.range ?? '')?.[1]);
  assert.ok(resumedAt > 0 && resumedAt < files['model.safetensors']!.length, `second request: ${gets[1]!.range}`);

  // huggingface_hub's layout: blobs named by LFS sha256 / git oid, relative snapshot symlinks, refs/main
  const repoDir = join(cache, 'models--orz-test--tiny');
  assert.equal(await readFile(join(repoDir, 'refs', 'main'), 'utf8'), COMMIT);
  const weightsBlob = join(repoDir, 'blobs', sha256(files['model.safetensors']!));
  assert.ok((await readFile(weightsBlob)).equals(files['model.safetensors']!));
  const snapshot = join(repoDir, 'snapshots', COMMIT);
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) {
    assert.ok((await lstat(join(snapshot, f))).isSymbolicLink(), `${f} is not a symlink`);
    const blobName = f.endsWith('.safetensors') ? sha256(files[f]!) : gitOid(files[f]!);
    assert.equal(await readlink(join(snapshot, f)), `../../blobs/${blobName}`);
  }
  assert.ok(!existsSync(join(snapshot, 'README.md')));
  assert.deepEqual((await readdir(join(repoDir, 'blobs'))).filter((f) => f.endsWith('.incomplete')), []);

  // what was served is what loads
  const original = await loadModel(join(work, 'source'));
  for (const [name, v] of original.weights) assert.deepEqual(model.weights.get(name)!.dataSync(), v.dataSync(), name);
  assert.deepEqual(tok.encode(TEXT), (await loadTokenizer(join(work, 'source'))).encode(TEXT));

  // a second load asks the hub nothing
  const count = hub.log.length;
  await loadModel(REPO);
  await loadTokenizer(`${REPO}@main`);
  assert.equal(hub.log.length, count, JSON.stringify(hub.log.slice(count)));

  // offline, and with the hub gone, the cache still serves
  await hub.stop();
  try {
    process.env.HF_HUB_OFFLINE = '1';
    const offline = await loadModel(REPO);
    assert.deepEqual(offline.weights.get('model.embed_tokens.weight')!.dataSync(), original.weights.get('model.embed_tokens.weight')!.dataSync());
    assert.equal((await loadTokenizer(REPO)).encode(TEXT).length, tok.encode(TEXT).length);
  } finally {
    await hub.start();
  }
});

test('a sharded checkpoint: the index is fetched first, then the shards it lists; HF_TOKEN is sent as a bearer token', async () => {
  const cache = useCache('cache-sharded', { HF_TOKEN: 'hf_fake_token' });
  try {
    const before = hub.log.length;
    const model = await loadModel(SHARDED);
    const original = await loadModel(join(work, 'source'));
    for (const [name, v] of original.weights) assert.deepEqual(model.weights.get(name)!.dataSync(), v.dataSync(), name);
    const snapshot = join(cache, 'models--orz-test--tiny-sharded', 'snapshots', COMMIT.replace('c', 'd'));
    assert.deepEqual((await readdir(snapshot)).sort(), ['config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json']);
    const requests = hub.log.slice(before);
    assert.ok(requests.length > 0 && requests.every((r) => r.auth === 'Bearer hf_fake_token'), JSON.stringify(requests));
  } finally {
    delete process.env.HF_TOKEN;
  }
});

test('a cache written by huggingface_hub (Python) serves loadModel offline: blobs by etag, relative symlinks, refs/main', async () => {
  // the layout huggingface_hub's hf_hub_download leaves, written by hand (no Python hub client on this machine)
  const cache = useCache('cache-python', { HF_HUB_OFFLINE: '1', HF_ENDPOINT: 'http://127.0.0.1:9' });
  const repoDir = join(cache, 'models--EleutherAI--pythia-tiny');
  const commit = 'ab'.repeat(20);
  await mkdir(join(repoDir, 'blobs'), { recursive: true });
  await mkdir(join(repoDir, 'snapshots', commit), { recursive: true });
  await mkdir(join(repoDir, 'refs'), { recursive: true });
  await writeFile(join(repoDir, 'refs', 'main'), commit);
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) {
    const etag = f.endsWith('.safetensors') ? sha256(files[f]!) : gitOid(files[f]!);
    await writeFile(join(repoDir, 'blobs', etag), files[f]!);
    await symlink(`../../blobs/${etag}`, join(repoDir, 'snapshots', commit, f));
  }
  assert.ok((await loadModel('EleutherAI/pythia-tiny')).weights.size > 0);
  assert.ok((await loadTokenizer(`EleutherAI/pythia-tiny@${commit}`)).vocabSize > 0);
  await assert.rejects(loadModel('EleutherAI/pythia-tiny@v1'), /EleutherAI\/pythia-tiny@v1: not in the Hugging Face cache .*no snapshot of revision "v1"/);
});

test('a shard index naming a file outside the snapshot is refused before anything is written there', async () => {
  const cache = useCache('cache-evil');
  const evil = '../../../escape.safetensors';
  hub.addRepo('orz-test/evil', 'e'.repeat(40), {
    'config.json': { bytes: files['config.json']! },
    'model.safetensors.index.json': { bytes: Buffer.from(JSON.stringify({ weight_map: { 'model.embed_tokens.weight': evil } })) },
    [evil]: { bytes: files['model.safetensors']!, lfs: true },
  });
  await assert.rejects(loadModel('orz-test/evil'), /orz-test\/evil: refusing the file name "\.\.\/\.\.\/\.\.\/escape\.safetensors"/);
  assert.ok(!existsSync(join(cache, 'escape.safetensors')));
  assert.ok(!existsSync(join(cache, 'models--orz-test--evil', 'escape.safetensors')));
});

test('a partial blob left by an earlier run is continued with Range; one with wrong bytes fails the hash check and is removed', async () => {
  const cache = useCache('cache-partial');
  const weights = files['model.safetensors']!;
  const blob = join(cache, 'models--orz-test--tiny', 'blobs', sha256(weights));
  const half = Math.floor(weights.length / 2);
  await mkdir(join(blob, '..'), { recursive: true });
  await writeFile(`${blob}.incomplete`, weights.subarray(0, half));
  const before = hub.log.length;
  await loadModel(REPO);
  const gets = hub.log.slice(before).filter((r) => r.url.endsWith('/model.safetensors'));
  assert.deepEqual(gets.map((r) => r.range), [`bytes=${half}-`]);
  assert.ok((await readFile(blob)).equals(weights));

  const corrupt = useCache('cache-corrupt');
  const corruptBlob = join(corrupt, 'models--orz-test--tiny', 'blobs', sha256(weights));
  await mkdir(join(corruptBlob, '..'), { recursive: true });
  await writeFile(`${corruptBlob}.incomplete`, Buffer.alloc(half, 7));
  await assert.rejects(loadModel(REPO), /orz-test\/tiny model\.safetensors: downloaded bytes have sha256 [0-9a-f]{64}, the hub listed [0-9a-f]{64}; the partial file was removed, run again/);
  assert.ok(!existsSync(`${corruptBlob}.incomplete`) && !existsSync(corruptBlob));
  await loadModel(REPO); // the next run starts over and succeeds
  assert.ok((await readFile(corruptBlob)).equals(weights));
});

test('a blob locked by a live process is waited for, not downloaded again; a lock left by a dead process is taken over', async () => {
  const cache = useCache('cache-lock');
  const weights = files['model.safetensors']!;
  const blob = join(cache, 'models--orz-test--tiny', 'blobs', sha256(weights));
  await mkdir(join(blob, '..'), { recursive: true });
  await writeFile(`${blob}.lock`, String(process.pid)); // "another process", alive: this one
  const before = hub.log.length;
  const loading = loadModel(REPO);
  await new Promise((resolve) => setTimeout(resolve, 600));
  await writeFile(blob, weights); // the holder finishes: its blob is in place, its lock gone
  await rm(`${blob}.lock`);
  assert.ok((await loading).weights.size > 0);
  assert.deepEqual(hub.log.slice(before).filter((r) => r.url.endsWith('/model.safetensors')), []);

  const stale = useCache('cache-stale-lock');
  const staleBlob = join(stale, 'models--orz-test--tiny', 'blobs', sha256(weights));
  await mkdir(join(staleBlob, '..'), { recursive: true });
  const dead = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => dead.on('close', resolve));
  await writeFile(`${staleBlob}.lock`, String(dead.pid));
  assert.ok((await loadModel(REPO)).weights.size > 0);
  assert.ok((await readFile(staleBlob)).equals(weights));
  assert.ok(!existsSync(`${staleBlob}.lock`));
});

test('loadModel and loadTokenizer of one id at once (as orz eval does) download each file once', async () => {
  useCache('cache-together');
  const before = hub.log.length;
  const [model, tok] = await Promise.all([loadModel(REPO), loadTokenizer(REPO)]);
  assert.ok(model.weights.size > 0 && tok.vocabSize > 0);
  const fileGets = hub.log.slice(before).filter((r) => r.url.includes('/resolve/')).map((r) => r.url.split('/').pop()).sort();
  assert.deepEqual(fileGets, ['config.json', 'generation_config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json'].filter((f) => f in files).sort());
});

test('HF_HUB_OFFLINE=1 with a model not in the cache names the model and the cache path', async () => {
  const cache = useCache('cache-offline', { HF_HUB_OFFLINE: '1' });
  const count = hub.log.length;
  await assert.rejects(loadModel(REPO), (e: Error) => {
    assert.match(e.message, /orz-test\/tiny: not in the Hugging Face cache/);
    assert.ok(e.message.includes(join(cache, 'models--orz-test--tiny')), e.message);
    assert.match(e.message, /HF_HUB_OFFLINE/);
    return true;
  });
  assert.equal(hub.log.length, count, 'offline mode sent a request');
});

test('an unreachable hub names the model and the endpoint and suggests HF_HUB_OFFLINE / HF_ENDPOINT; an unknown id names it', async () => {
  useCache('cache-down', { HF_ENDPOINT: 'http://127.0.0.1:9' }); // nothing listens on the discard port
  await assert.rejects(loadModel('orz-test/tiny@main'), (e: Error) => {
    assert.match(e.message, /^orz-test\/tiny: cannot reach the hub at http:\/\/127\.0\.0\.1:9/);
    assert.match(e.message, /HF_HUB_OFFLINE=1/);
    assert.match(e.message, /HF_ENDPOINT/);
    return true;
  });
  useCache('cache-404');
  await assert.rejects(loadTokenizer('orz-test/absent'), /orz-test\/absent: the hub at .* refused the revision request \(HTTP 404\).*HF_TOKEN/);
  assert.deepEqual(hub.unknown, []);
});

test('a local directory wins over a hub id of the same name', async () => {
  useCache('cache-local', { HF_ENDPOINT: 'http://127.0.0.1:9' }); // a download would fail
  await cp(join(work, 'source'), join(work, 'local', REPO), { recursive: true });
  const cwd = process.cwd();
  process.chdir(join(work, 'local'));
  try {
    assert.ok((await loadModel(REPO)).weights.size > 0);
    assert.ok((await loadTokenizer(REPO)).vocabSize > 0);
  } finally {
    process.chdir(cwd);
  }
});

test('a run config names its model by a directory beside it or by a hub id', async () => {
  const { readRunConfig } = await import('../sdk/run/run-config.ts');
  const cfg = join(work, 'run.json');
  const write = (model: string) => writeFile(cfg, JSON.stringify({ name: 'r', model, trainData: 't.json', iterations: 1 }));
  await write(REPO);
  assert.equal((await readRunConfig(cfg)).model, REPO);
  await write('source');
  assert.equal((await readRunConfig(cfg)).model, join(work, 'source'));
  await write('missing-dir');
  assert.equal((await readRunConfig(cfg)).model, join(work, 'missing-dir'));
});

function orz(args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // async: the fake hub answers from this process's event loop
    const child = spawn(process.execPath, [ORZ, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

test('orz pull <id> through the CLI downloads with progress on stderr and prints the snapshot directory', async () => {
  const cache = join(work, 'cache-cli');
  const env = { HF_HUB_CACHE: cache, HF_ENDPOINT: hub.url, HF_HUB_OFFLINE: '' };
  const r = await orz(['pull', REPO, '--revision', 'main'], env);
  assert.equal(r.status, 0, r.stderr);
  const snapshot = join(cache, 'models--orz-test--tiny', 'snapshots', COMMIT);
  assert.equal(r.stdout.trim(), snapshot);
  assert.match(r.stderr, /orz-test\/tiny model\.safetensors: .* \(100%\)/);
  assert.match(r.stderr, /downloaded config\.json/);
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) {
    assert.ok((await readFile(join(snapshot, f))).equals(files[f]!), f);
  }
  const again = await orz(['pull', REPO], env);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /everything was in the cache/);

  // --model takes the id; offline, the pulled snapshot serves it
  const data = join(work, 'eval.jsonl');
  await writeFile(data, JSON.stringify({ prompt: [{ from: 'user', value: 'What is 1+1?' }], final_answer: '2' }) + '\n');
  const evaluated = await orz(['eval', '--model', REPO, '--data', data, '--max-new-tokens', '2', '--template', 'mini'], { ...env, HF_HUB_OFFLINE: '1', ORZ_BACKEND: 'cpu' });
  assert.equal(evaluated.status, 0, evaluated.stderr);
  assert.equal(JSON.parse(evaluated.stdout.trim().split('\n').pop()!).model, REPO);

  // a run config names the model by id: orz train runs offline from the cache
  const problems = arithProblems({ seed: 1, count: 6, levels: [1] });
  await writeFile(join(work, 'train.json'), JSON.stringify(problems.map((p) => [
    { from: 'human', value: p.question }, { from: 'assistant', ground_truth: { value: String(p.answer) } },
  ])));
  await writeFile(join(work, 'hub-run.json'), JSON.stringify({
    name: 'hub-run', model: REPO, trainData: 'train.json', iterations: 1,
    trainer: { template: 'mini', promptsPerIteration: 2, samplesPerPrompt: 2, generation: { maxNewTokens: 3 }, criticUpdateSteps: 1, evalEvery: 0, checkpointEvery: 1, warmupSteps: 0 },
  }));
  const trained = await orz(['train', join(work, 'hub-run.json'), '--runs-dir', join(work, 'runs')], { ...env, HF_HUB_OFFLINE: '1', ORZ_BACKEND: 'cpu' });
  assert.equal(trained.status, 0, trained.stderr);
  assert.match(trained.stderr, /iter 1 \| reward/);

  const bad = await orz(['pull', 'not-an-id'], env);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /"not-an-id" is not a hub id/);
  assert.deepEqual(hub.unknown, []);
});
