// The onnxruntime backend's block-copy Slice (and its gradient, PadV2) against the cpu backend's
// element-by-element kernels, on the PPO response-position slice of sdk/ppo/forward.ts:
// h [B, T, H] -> tf.slice(h, [0, P-1, 0], [B, R, -1]) with B=16, T=128, H=256, P=32, R=97 (the
// shapes of bench/fixture.ts). With --steps, also the SDK's PPO training step (bench/engine-steps.ts
// on a fresh fixture) on onnxruntime before (cpu Slice/PadV2/StridedSlice) and after (block copies).
//
//   npx tsx bench/engine-slice.ts [--reps N] [--steps [--step-reps N]]
// Prints median ms per case and the speedup; writes bench/results/engine-slice-<date>.json.
// (Internal: --step-variant before|after --fixture DIR --out FILE runs one engine-steps process.)

import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { tf } from '../sdk/engine/tf.ts';
import { registerOnnxBackend } from '../sdk/engine/onnx/index.ts';
import { writeFileAtomic } from '../sdk/util/atomic-write.ts';
import type { KernelStat, Profile } from './kernel-profile.ts';
import { medianMs } from './comparison.ts';

const { values: args } = parseArgs({
  options: {
    reps: { type: 'string', default: '5' }, steps: { type: 'boolean', default: false },
    'step-reps': { type: 'string', default: '2' }, 'step-variant': { type: 'string' }, fixture: { type: 'string' }, out: { type: 'string' },
  },
});
const reps = Number(args.reps);
if (!Number.isInteger(reps) || reps < 1) throw new Error(`bench/engine-slice: --reps must be a positive integer, got ${args.reps}`);

const COPY_KERNELS = ['Slice', 'PadV2', 'StridedSlice'];

if (args['step-variant']) {
  // one engine-steps run in this process; "before" puts the cpu kernels back on onnxruntime first
  const variant = args['step-variant'];
  if (variant !== 'before' && variant !== 'after') throw new Error(`bench/engine-slice: --step-variant must be before or after, got ${variant}`);
  if (!args.fixture || !args.out) throw new Error('bench/engine-slice: --step-variant needs --fixture and --out');
  registerOnnxBackend();
  if (variant === 'before') {
    for (const name of COPY_KERNELS) {
      tf.unregisterKernel(name, 'onnxruntime');
      tf.registerKernel({ ...tf.getKernel(name, 'cpu')!, backendName: 'onnxruntime' });
    }
  }
  process.argv = [process.argv[0]!, 'engine-steps.ts', '--fixture', args.fixture, '--backend', 'onnxruntime', '--out', args.out,
    '--warmup', '1', '--forward-warmup', '0', '--reps', args['step-reps']!, '--profile'];
  await import('./engine-steps.ts');
  process.exit(0);
}

const B = 16, T = 128, H = 256, P = 32, R = 97;

const median = (step: () => void): number => medianMs(step, reps);

async function measure(backend: string): Promise<Record<string, number>> {
  await tf.setBackend(backend);
  const h = tf.randomUniform([B, T, H], -1, 1, 'float32', 1);
  const dy = tf.randomUniform([B, R, H], -1, 1, 'float32', 2);
  const slice = median(() => tf.tidy(() => { tf.slice(h, [0, P - 1, 0], [B, R, -1]).dataSync(); }));
  // Slice's gradient: dy padded back to h's shape
  const pad = median(() => tf.tidy(() => { tf.pad(dy, [[0, 0], [P - 1, T - P + 1 - R], [0, 0]]).dataSync(); }));
  const sliceGrad = median(() => tf.tidy(() => {
    tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.slice(x, [0, P - 1, 0], [B, R, -1]), dy)))(h).dataSync();
  }));
  tf.dispose([h, dy]);
  return { slice, pad, sliceGrad };
}

registerOnnxBackend();
const cpu = await measure('cpu');
const ort = await measure('onnxruntime');
const cases = Object.keys(cpu).map((name) => ({ name, cpuMs: cpu[name]!, onnxMs: ort[name]!, speedup: cpu[name]! / ort[name]! }));
console.log(`case         cpu ms   onnxruntime ms   speedup   (median of ${reps}; h [${B}, ${T}, ${H}] -> [${B}, ${R}, ${H}])`);
for (const c of cases) console.log(`${c.name.padEnd(10)} ${c.cpuMs.toFixed(2).padStart(8)} ${c.onnxMs.toFixed(2).padStart(16)} ${c.speedup.toFixed(0).padStart(8)}x`);

type StepResult = { trainSeconds: number[]; profile: { train: Profile } | null };
type StepSummary = { trainSeconds: number[]; profiledStepMs: number | null; copyKernels: KernelStat[] };

/** Training step seconds on onnxruntime before and after the block copies, with each run's profile rows for those kernels. */
async function stepTimes(): Promise<Record<string, StepSummary>> {
  const { writeFixture } = await import('./fixture.ts');
  const dir = await mkdtemp(join(tmpdir(), 'orz-slice-bench-'));
  try {
    await writeFixture(dir);
    const out: Record<string, StepSummary> = {};
    for (const variant of ['before', 'after']) {
      const file = join(dir, `${variant}.json`);
      const r = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--step-variant', variant, '--step-reps', args['step-reps']!, '--fixture', dir, '--out', file], { stdio: 'inherit' });
      if (r.status !== 0) throw new Error(`bench/engine-slice: the ${variant} training-step run failed (status ${r.status})`);
      const res = JSON.parse(await readFile(file, 'utf8')) as StepResult;
      const train = res.profile?.train;
      out[variant] = {
        trainSeconds: res.trainSeconds, profiledStepMs: train?.wallMs ?? null,
        copyKernels: (train?.kernels ?? []).filter((k) => COPY_KERNELS.includes(k.kernel)),
      };
      console.log(`training step on onnxruntime, ${variant}: ${res.trainSeconds.map((x) => x.toFixed(2)).join(', ')} s; ` +
        out[variant]!.copyKernels.map((k) => `${k.kernel} ${k.calls} calls ${k.ms.toFixed(1)} ms`).join(', '));
    }
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const steps = args.steps ? await stepTimes() : null;

const date = new Date().toISOString();
const result = {
  bench: 'engine-slice', date, reps, cpus: cpus().length, loadAvg: loadavg(),
  shapes: { h: [B, T, H], begin: [0, P - 1, 0], size: [B, R, -1], out: [B, R, H] },
  cases, trainingStepOnnxruntime: steps,
};
const file = join(import.meta.dirname, 'results', `engine-slice-${date.slice(0, 10)}.json`);
await writeFileAtomic(file, JSON.stringify(result, null, 2) + '\n');
console.log(`wrote ${file}`);
