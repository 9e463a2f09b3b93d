// Sessions take hub ids (issue 12): a session's loadModel/loadTokenizer and a run config's hub id reach the
// HF cache through sdk/hub, against the fake hub on 127.0.0.1 (test/support/fake-hub.ts), as
// `orz train --model <id>` does: downloaded once into the cache layout, then read from it offline, an
// offline miss named with the model and the cache; rollout workers get the cached snapshot's directory.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { selectBackend } from '../sdk/engine/backend.ts';
import { TransformerLM, saveModel } from '../sdk/model/index.ts';
import { saveTokenizer, trainByteLevelBPE } from '../sdk/tokenizer/index.ts';
import { Session } from '../sdk/session/session.ts';
import { HandleRegistry } from '../sdk/session/registry.ts';
import { policySource } from '../sdk/session/workers/session-workers.ts';
import { FakeHub } from './support/fake-hub.ts';

const REPO = 'orz-test/session-tiny';
const COMMIT = 'b0a7'.padEnd(40, '1');
const TEXT = 'Natalia sold 48 clips in April, and half as many in May.';
const hub = new FakeHub();
let work = '';
const saved = { ...process.env };

before(async () => {
  await selectBackend('cpu');
  work = await mkdtemp(join(tmpdir(), 'orz-session-hub-'));
  const src = join(work, 'source');
  const tok = trainByteLevelBPE([TEXT], { vocabSize: 280, specialTokens: ['<|endoftext|>'] });
  const model = TransformerLM.init({
    model_type: 'orz', vocab_size: tok.vocabSize, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1,
    num_attention_heads: 2, max_position_embeddings: 64, tie_word_embeddings: true, hidden_act: 'silu', eos_token_id: tok.eosId,
  }, 5);
  await saveModel(model, src);
  await saveTokenizer(tok, join(src, 'tokenizer.json'));
  model.dispose();
  const files: Record<string, { bytes: Buffer; lfs?: boolean }> = {};
  for (const f of await readdir(src)) files[f] = { bytes: await readFile(join(src, f)), lfs: f.endsWith('.safetensors') };
  hub.addRepo(REPO, COMMIT, files);
  await hub.start();
  process.env.HF_HUB_CACHE = join(work, 'hf-cache');
  process.env.HF_ENDPOINT = hub.url;
  delete process.env.HF_HUB_OFFLINE;
});

after(async () => {
  await hub.stop();
  for (const k of ['HF_HUB_CACHE', 'HF_ENDPOINT', 'HF_HUB_OFFLINE']) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  await rm(work, { recursive: true, force: true });
});

test('a session loads a model and tokenizer by hub id: downloaded into the HF cache once, then read from it offline', async () => {
  const snapshot = join(work, 'hf-cache', 'models--orz-test--session-tiny', 'snapshots', COMMIT);
  const s = await Session.local({ inProcess: true, name: 'hub', env: { ...process.env, ORZ_HOME: join(work, 'orz') } });
  try {
    const model = await s.loadModel(REPO, { name: 'm' });
    const tokenizer = await s.loadTokenizer(REPO, { name: 't' });
    assert.equal((await model.info()).parameters > 0, true);
    assert.deepEqual(await tokenizer.encode(TEXT), (await (await import('../sdk/tokenizer/index.ts')).loadTokenizer(join(work, 'source', 'tokenizer.json'))).encode(TEXT));
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) assert.ok(existsSync(join(snapshot, f)), `${f} in ${snapshot}`);
    const downloads = hub.log.filter((r) => r.url.includes('/resolve/')).length;

    await hub.stop();
    process.env.HF_HUB_OFFLINE = '1';
    const again = await s.loadModel(REPO, { name: 'm2' });
    assert.equal(await again.digest(), await model.digest());
    assert.equal(hub.log.filter((r) => r.url.includes('/resolve/')).length, downloads, 'the second load asked the hub nothing');
    await assert.rejects(s.loadModel('orz-test/not-cached'), (e: Error) => {
      assert.match(e.message, /orz-test\/not-cached: not in the Hugging Face cache at .*hf-cache.*HF_HUB_OFFLINE/);
      return true;
    });
  } finally {
    await s.close();
    delete process.env.HF_HUB_OFFLINE;
    await hub.start();
    process.env.HF_ENDPOINT = hub.url;
  }
});

test('rollout workers get a hub id\'s cached snapshot directory, from handles and from a run config', async () => {
  process.env.HF_HUB_OFFLINE = '1'; // the first test filled the cache
  try {
    const registry = new HandleRegistry(join(work, 'registry.json'));
    const snapshot = join(work, 'hf-cache', 'models--orz-test--session-tiny', 'snapshots', COMMIT);
    registry.add({ id: 'model-1', kind: 'model', name: null, recipe: { kind: 'model', path: REPO }, created: '', object: null as never, queueKey: 'model-1' });
    registry.add({ id: 'tokenizer-1', kind: 'tokenizer', name: null, recipe: { kind: 'tokenizer', path: REPO }, created: '', object: null as never, queueKey: 'tokenizer-1' });
    const fromHandles = await policySource({ kind: 'trainer', from: 'handles', policy: 'model-1', tokenizer: 'tokenizer-1', dataset: 'dataset-1', reward: 'math', config: {} }, registry);
    assert.deepEqual(fromHandles, { modelDir: snapshot, tokenizerPath: snapshot });

    const cfg = join(work, 'cfg.json');
    await writeFile(join(work, 'train.json'), JSON.stringify([[{ from: 'human', value: '1+1' }, { from: 'assistant', ground_truth: { value: '2' } }]]));
    await writeFile(cfg, JSON.stringify({ name: 'hub', model: REPO, trainData: 'train.json', iterations: 1, trainer: { template: 'mini' } }));
    const fromConfig = await policySource({ kind: 'trainer', from: 'runConfig', path: cfg, reward: 'math' }, registry);
    assert.ok(isAbsolute(fromConfig.modelDir));
    assert.deepEqual(fromConfig, { modelDir: snapshot, tokenizerPath: snapshot });
  } finally {
    delete process.env.HF_HUB_OFFLINE;
  }
});
