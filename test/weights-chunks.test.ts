// Weights broadcast in chunks (sdk/session/workers/weights-chunks.ts): a snapshot cut into chunks (a tensor bigger
// than a chunk cut across several) reassembles exactly in any order with the session's digest; a corrupted or
// incomplete broadcast is refused before anything is assigned; and a real worker fed many small chunks holds
// exactly the trainer's weights, while a chunk with a wrong digest leaves its replica as it was.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel, saveModel, TransformerLM } from '../sdk/model/index.ts';
import { loadTokenizer, saveTokenizer, trainByteLevelBPE } from '../sdk/tokenizer/index.ts';
import { HostTensor } from '../sdk/session/codec.ts';
import { hostWeightsDigest, weightsDigest } from '../sdk/session/digest.ts';
import { Signer } from '../sdk/session/wire.ts';
import { ChunkAssembly, chunkWeights } from '../sdk/session/workers/weights-chunks.ts';
import { WorkerEngine } from '../sdk/session/workers/worker-engine.ts';
import { WorkerPool } from '../sdk/session/workers/worker-pool.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const tensor = (n: number, seed: number, shape = [n]) => new HostTensor(Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 1000 + i)), shape, 'float32');

test('chunks: sizes bounded, reassembled in any order with the digest, corruption and gaps refused', () => {
  const names = ['a', 'big', 'c', 'empty'];
  const tensors = [tensor(10, 1), tensor(1000, 2, [10, 100]), tensor(7, 3), new HostTensor(new Float32Array(0), [0, 4], 'float32')];
  const chunks = chunkWeights(names, tensors, 400); // 100 values a chunk: "big" spans 10 chunks
  assert.ok(chunks.length >= 11, `${chunks.length} chunks`);
  for (const c of chunks) assert.ok(c.tensors.reduce((s, t) => s + t.data.length, 0) <= 100, `chunk ${c.chunk} within 400 bytes`);
  assert.deepEqual(chunks.filter((c) => c.digest).map((c) => c.chunk), [chunks.length - 1], 'the digest rides on the last chunk');
  const asm = new ChunkAssembly(1, chunks.length);
  for (const c of [...chunks].reverse()) asm.add(c, 'test');
  assert.ok(asm.done);
  const whole = asm.complete('test');
  assert.deepEqual(whole.names, names);
  whole.tensors.forEach((t, i) => {
    assert.deepEqual(t.shape, tensors[i]!.shape);
    assert.deepEqual(t.data, tensors[i]!.data);
  });
  assert.equal(chunks.at(-1)!.digest, hostWeightsDigest(names.map((name, i) => ({ name, shape: tensors[i]!.shape, dtype: 'float32', data: () => tensors[i]!.data as Float32Array }))));

  const bad = new ChunkAssembly(1, chunks.length);
  chunks.forEach((c, i) => bad.add(i === 3 ? { ...c, tensors: c.tensors.map((t) => new HostTensor(Float32Array.from(t.data as Float32Array, (x) => x + 1e-3), t.shape, 'float32')) } : c, 'test'));
  assert.throws(() => bad.complete('test'), (e: Error & { code?: string }) => e.code === 'digest_mismatch' && /nothing assigned/.test(e.message));
  const gap = new ChunkAssembly(1, chunks.length);
  for (const c of chunks.slice(1)) gap.add(c, 'test');
  assert.equal(gap.done, false);
  assert.throws(() => gap.add(chunks[1]!, 'test'), /arrived twice/);
});

test('a worker fed a broadcast in many small chunks holds exactly the weights; a wrong digest changes nothing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'orz-chunks-'));
  dirs.push(dir);
  const tok = trainByteLevelBPE(['1 + 2 = 3', 'what is 4 + 5'], { vocabSize: 280, specialTokens: ['<|endoftext|>'] });
  const init = TransformerLM.init({
    model_type: 'orz', vocab_size: tok.vocabSize, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1,
    num_attention_heads: 2, max_position_embeddings: 32, tie_word_embeddings: true, hidden_act: 'silu', eos_token_id: tok.eosId,
  }, 4);
  await saveModel(init, dir);
  await saveTokenizer(tok, join(dir, 'tokenizer.json'));
  init.dispose();
  const model = await loadModel(dir);
  const pool = await WorkerPool.start({ size: 1, key: Signer.newKey(), backend: 'cpu', maxMessageSize: 1 << 24, log: () => {}, chunkBytes: 1024 });
  try {
    const engine = new WorkerEngine(pool, 'p', { modelDir: dir, tokenizerPath: dir }, model, await loadTokenizer(dir), () => 0);
    await engine.broadcast();
    assert.deepEqual(await pool.call(0, 'worker.digest', { policy: 'p' }), { policy: 'p', version: 1, digest: weightsDigest(model.weights) });

    const names = [...model.weights.keys()].sort();
    const tensors = names.map((n) => new HostTensor(Float32Array.from(model.weights.get(n)!.dataSync() as Float32Array, (x) => x * 2), [...model.weights.get(n)!.shape], 'float32'));
    const [only] = chunkWeights(names, tensors, 1 << 22);
    await assert.rejects(pool.call(0, 'worker.weightsChunk', { policy: 'p', version: 2, ...only!, digest: '0'.repeat(64) }), /digest .* nothing assigned/);
    assert.deepEqual(await pool.call(0, 'worker.digest', { policy: 'p' }), { policy: 'p', version: 1, digest: weightsDigest(model.weights) });
  } finally {
    model.dispose();
    await pool.close();
  }
});
