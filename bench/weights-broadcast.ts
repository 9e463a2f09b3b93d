// Benchmark of weights broadcasts to rollout workers: seconds per GB per worker for one new weights version sent
// to N worker processes in chunks (the session's default, weights-chunks.ts) and as one whole message, each worker
// checking the digest before it assigns. The model is a randomly initialised orz model of the chosen size (its
// values do not matter to the transfer); the first broadcast, which also loads the model on each worker, is not timed.
//
//   npx tsx bench/weights-broadcast.ts [--hidden 512] [--layers 4] [--vocab 8000] [--workers 1,2] [--repeats 3]
// Writes bench/results/weights-broadcast-<date>.json. Everything runs on this machine over loopback: across
// nodes the network adds its own time per GB.

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { selectBackend } from '../sdk/engine/backend.ts';
import { loadModel, saveModel, TransformerLM } from '../sdk/model/index.ts';
import { loadTokenizer, saveTokenizer, trainByteLevelBPE } from '../sdk/tokenizer/index.ts';
import { Signer } from '../sdk/session/wire.ts';
import { DEFAULT_CHUNK_BYTES } from '../sdk/session/workers/weights-chunks.ts';
import { WorkerEngine } from '../sdk/session/workers/worker-engine.ts';
import { WorkerPool } from '../sdk/session/workers/worker-pool.ts';

const { values: args } = parseArgs({
  options: {
    hidden: { type: 'string', default: '512' },
    layers: { type: 'string', default: '4' },
    vocab: { type: 'string', default: '8000' },
    workers: { type: 'string', default: '1,2' },
    repeats: { type: 'string', default: '3' },
    backend: { type: 'string', default: 'cpu' },
  },
});
const int = (name: string, v: string | undefined) => {
  const x = Number(v);
  if (!(Number.isInteger(x) && x >= 1)) throw new Error(`--${name} must be a positive integer, got ${v}`);
  return x;
};
const hidden = int('hidden', args.hidden);
const repeats = int('repeats', args.repeats);
const sizes = args.workers!.split(',').map((w) => int('workers', w));
const backend = await selectBackend(args.backend);

const dir = await mkdtemp(join(tmpdir(), 'orz-bench-broadcast-'));
const tok = trainByteLevelBPE(['1 + 2 = 3'], { vocabSize: 260, specialTokens: ['<|endoftext|>'] });
const init = TransformerLM.init({
  model_type: 'orz', vocab_size: int('vocab', args.vocab), hidden_size: hidden, intermediate_size: hidden * 3, num_hidden_layers: int('layers', args.layers),
  num_attention_heads: 8, max_position_embeddings: 256, tie_word_embeddings: true, hidden_act: 'silu', eos_token_id: tok.eosId,
}, 1);
await saveModel(init, dir);
await saveTokenizer(tok, join(dir, 'tokenizer.json'));
init.dispose();
const model = await loadModel(dir);
const tokenizer = await loadTokenizer(dir);
const bytes = [...model.weights.values()].reduce((s, v) => s + v.size * 4, 0);
const gb = bytes / 1e9;

interface Result { workers: number; mode: string; chunkBytes: number; seconds: number[]; medianSec: number; secPerGBPerWorker: number; loadBefore: number[] }
const results: Result[] = [];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
let marker = 0;
for (const n of sizes) {
  for (const [mode, chunkBytes] of [['chunked', DEFAULT_CHUNK_BYTES], ['one message', 2 * bytes + (1 << 20)]] as const) {
    const pool = await WorkerPool.start({ size: n, key: Signer.newKey(), backend: backend.name, maxMessageSize: 4 * bytes + (1 << 24), log: () => {}, chunkBytes });
    try {
      const engine = new WorkerEngine(pool, 'p', { modelDir: dir, tokenizerPath: dir }, model, tokenizer, () => marker);
      await engine.broadcast(); // loads the model on each worker: not timed
      const loadBefore = loadavg().map((x) => Number(x.toFixed(2)));
      const seconds: number[] = [];
      for (let r = 0; r < repeats; r++) {
        marker += 1;
        const t0 = performance.now();
        await engine.broadcast();
        seconds.push(Number(((performance.now() - t0) / 1000).toFixed(3)));
      }
      const m = median(seconds);
      results.push({ workers: n, mode, chunkBytes, seconds, medianSec: m, secPerGBPerWorker: Number((m / gb / n).toFixed(3)), loadBefore });
      process.stderr.write(`${n} worker(s), ${mode}: ${m.toFixed(3)} s for ${(bytes / 1e6).toFixed(1)} MB -> ${(m / gb / n).toFixed(2)} s/GB/worker\n`);
    } finally {
      await pool.close();
    }
  }
}
model.dispose();
await rm(dir, { recursive: true, force: true });

const date = new Date().toISOString();
const out = {
  bench: 'weights-broadcast', date, backend: backend.name, cpus: cpus().length, modelBytes: bytes,
  model: { hidden, layers: int('layers', args.layers), vocab: int('vocab', args.vocab) },
  what: 'median seconds to broadcast one new weights version to N workers on this machine (loopback), each checking the digest and assigning; ' +
    'secPerGBPerWorker = median / GB / N (the workers receive in parallel, so a lower figure with more workers means the head sends faster than one worker takes it)',
  results,
};
const file = join('bench', 'results', `weights-broadcast-${date.slice(0, 10)}.json`);
await mkdir(join('bench', 'results'), { recursive: true });
await writeFile(file, JSON.stringify(out, null, 2) + '\n');
process.stderr.write(`wrote ${file}\n`);
