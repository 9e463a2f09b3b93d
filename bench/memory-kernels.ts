// What onnxruntime keeps resident after the fused kernels run (their memory arenas), the measurement
// behind KERNEL_SCRATCH in sdk/run/memory-plan.ts. One process per shape (fresh VmRSS), the bundled
// model's shape, the buffer pool off (ORZ_POOL_MB=0) so JS-side memory is only live tensors and garbage:
//   native = RSS growth - ArrayBuffer growth, after two no-tape forwards, then after two forward+backward.
//
//   tsx bench/memory-kernels.ts            the four shapes the constants were fitted on, one line each
//   tsx bench/memory-kernels.ts R P T      one shape (rows, prompt, response tokens), in this process

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { writeFileAtomic } from '../sdk/util/atomic-write.ts';
import { selectBackend } from '../sdk/engine/backend.ts';
import { tf } from '../sdk/engine/tf.ts';
import { TransformerLM } from '../sdk/model/index.ts';
import { responseLogprobs } from '../sdk/ppo/forward.ts';
import { buildTokenBatch } from '../sdk/ppo/token-batch.ts';
import { procStatusBytes } from './memory-measure.ts';
import { CHECK_CASES } from './memory-plan.ts';

const SHAPES: [number, number, number][] = [[128, 40, 64], [32, 100, 156], [512, 8, 12], [32, 32, 48]];
const MB = 2 ** 20;

async function one(rows: number, P: number, R: number): Promise<void> {
  await selectBackend('onnxruntime');
  const model = TransformerLM.init({ ...CHECK_CASES['small']!.model, max_position_embeddings: 512 }, 1);
  const tb = buildTokenBatch(Array.from({ length: rows }, () => ({ promptIds: Array(P).fill(3), responseIds: Array(R).fill(5) })), 0);
  const at = () => ({ rss: procStatusBytes('VmHWM'), js: process.memoryUsage().arrayBuffers });
  const start = at();
  for (let i = 0; i < 2; i++) tf.tidy(() => { responseLogprobs(model, tb).logp.dataSync(); });
  const infer = at();
  const vars = [...model.weights.values()];
  for (let i = 0; i < 2; i++) {
    const { value, grads } = tf.variableGrads(() => tf.sum(responseLogprobs(model, tb, true).logp) as tf.Scalar, vars);
    value.dispose();
    tf.dispose(Object.values(grads));
  }
  const train = at();
  const native = (a: typeof start, b: typeof start) => ((b.rss - a.rss) - (b.js - a.js)) / MB;
  console.log(JSON.stringify({ rows, P, R, T: P + R - 1, inferNativeMB: +native(start, infer).toFixed(1), trainNativeMB: +native(infer, train).toFixed(1) }));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2).map(Number);
  if (args.length === 3) await one(args[0]!, args[1]!, args[2]!);
  else {
    const shapes = [];
    for (const [r, p, t] of SHAPES) {
      const out = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, String(r), String(p), String(t)], { encoding: 'utf8', env: { ...process.env, ORZ_POOL_MB: '0' } });
      if (out.status !== 0) throw new Error(`bench/memory-kernels.ts ${r} ${p} ${t}: ${out.stderr.slice(-1000)}`);
      process.stdout.write(out.stdout);
      shapes.push(JSON.parse(out.stdout.trim().split('\n').pop()!));
    }
    const file = join(import.meta.dirname, 'results', `memory-kernels-${new Date().toISOString().slice(0, 10)}.json`);
    await writeFileAtomic(file, `${JSON.stringify({ bench: 'memory-kernels', date: new Date().toISOString(), model: CHECK_CASES['small']!.model, shapes }, null, 1)}\n`);
    console.log(`written ${file}`);
  }
}
