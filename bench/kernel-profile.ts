// Where the time of a tfjs computation goes, per kernel, on a cpu-derived backend (cpu, onnxruntime).
//
// tf.profile() is not used: it also records customGrad forward functions as "kernels" whose time
// includes the kernels they run (double counting), and with CHECK_COMPUTATION_FOR_ERRORS (on by
// default) it reads and scans every output for NaN, which distorts exactly the small-kernel
// overhead this profile is for. Instead every kernel registered for the backend is re-registered
// wrapped in a timer for the duration of the measurement (tfjs looks kernels up in its registry on
// every call), and ONNX Runtime's session run is timed too, so a kernel's time splits into native
// ORT time and JS time (input views, output allocation, fallbacks to the JS kernels). Time outside
// every kernel is tfjs bookkeeping (tape, tidy, gradients), the SDK's own JS and GC.
// Bench-only: the SDK is left untouched once stop() has run.

import { tf } from '../sdk/engine/tf.ts';

export interface KernelStat {
  kernel: string;
  calls: number;
  /** Exclusive wall ms (a kernel run from inside another is charged to itself only). */
  ms: number;
  share: number;
  /** Of `ms`, native ONNX Runtime session time, and how many session runs. */
  ortMs: number;
  ortRuns: number;
  /**
   * MB of new output tensors (outputs that share an input's storage, e.g. Reshape, not counted).
   * Fresh memory is expensive to first touch (page faults; about 2 ms per MB on the 2-core bench machine).
   */
  outMB: number;
}

export interface Profile {
  wallMs: number;
  kernelMs: number;
  ortMs: number;
  outMB: number;
  /** wall - kernels: JS outside kernels (engine bookkeeping, SDK code, GC). */
  outsideMs: number;
  kernels: KernelStat[];
}

interface Frame { name: string; start: number; childMs: number }

type RunFn = (this: unknown, ...args: unknown[]) => unknown;

export class KernelProfiler {
  private stats = new Map<string, KernelStat>();
  private stack: Frame[] = [];
  private originals: tf.KernelConfig[] = [];
  private ortProto: { run: RunFn } | null = null;
  private ortRun: RunFn | null = null;

  constructor(readonly backendName: string) {}

  private stat(name: string): KernelStat {
    let s = this.stats.get(name);
    if (!s) {
      s = { kernel: name, calls: 0, ms: 0, share: 0, ortMs: 0, ortRuns: 0, outMB: 0 };
      this.stats.set(name, s);
    }
    return s;
  }

  /** Wraps every kernel of the backend, and ORT's session run when the onnxruntime engine is there. */
  async start(): Promise<void> {
    if (this.originals.length) throw new Error('KernelProfiler.start: already started');
    this.originals = tf.getKernelsForBackend(this.backendName);
    if (this.originals.length === 0) throw new Error(`KernelProfiler.start: backend "${this.backendName}" has no registered kernels`);
    for (const config of this.originals) {
      const inner = config.kernelFunc;
      const name = config.kernelName;
      tf.unregisterKernel(name, this.backendName);
      tf.registerKernel({
        ...config,
        kernelFunc: ((args: Parameters<tf.KernelFunc>[0]) => {
          const frame: Frame = { name, start: performance.now(), childMs: 0 };
          this.stack.push(frame);
          let out: tf.TensorInfo | tf.TensorInfo[] | undefined;
          try {
            out = inner(args);
            return out;
          } finally {
            this.stack.pop();
            const elapsed = performance.now() - frame.start;
            const s = this.stat(name);
            s.calls++;
            s.ms += elapsed - frame.childMs;
            if (out) s.outMB += newBytes(args.inputs, out) / 2 ** 20;
            const parent = this.stack[this.stack.length - 1];
            if (parent) parent.childMs += elapsed;
          }
        }) as tf.KernelFunc,
      });
    }
    if (this.backendName === 'onnxruntime') {
      // Optional: the engine's session class may be restructured; then the split is just absent.
      const mod = (await import('../sdk/engine/onnx/session.ts')) as Record<string, unknown>;
      const proto = (mod['OpSession'] as { prototype?: { run?: RunFn } } | undefined)?.prototype;
      if (proto && typeof proto.run === 'function') {
        const run = proto.run;
        this.ortProto = proto as { run: RunFn };
        this.ortRun = run;
        const self = this;
        proto.run = function (this: unknown, ...args: unknown[]) {
          const t0 = performance.now();
          try {
            return run.apply(this, args);
          } finally {
            const s = self.stat(self.stack[self.stack.length - 1]?.name ?? '(outside kernels)');
            s.ortMs += performance.now() - t0;
            s.ortRuns++;
          }
        };
      }
    }
  }

  /** Restores the original kernels and session run. */
  stop(): void {
    for (const config of this.originals) {
      tf.unregisterKernel(config.kernelName, this.backendName);
      tf.registerKernel(config);
    }
    this.originals = [];
    if (this.ortProto && this.ortRun) this.ortProto.run = this.ortRun;
    this.ortProto = null;
    this.ortRun = null;
  }

  /** Runs `fn` once with the timers in place and returns its profile. */
  async measure(fn: () => unknown): Promise<Profile> {
    this.stats = new Map();
    await this.start();
    const t0 = performance.now();
    try {
      await fn();
    } finally {
      this.stop();
    }
    const wallMs = performance.now() - t0;
    const kernels = [...this.stats.values()].sort((a, b) => b.ms - a.ms);
    for (const k of kernels) k.share = k.ms / wallMs;
    const kernelMs = kernels.reduce((a, k) => a + k.ms, 0);
    const sum = (f: (k: KernelStat) => number) => kernels.reduce((a, k) => a + f(k), 0);
    return { wallMs, kernelMs, ortMs: sum((k) => k.ortMs), outMB: sum((k) => k.outMB), outsideMs: wallMs - kernelMs, kernels };
  }
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8 };

/** Bytes of a kernel's outputs that do not share storage with one of its inputs. */
function newBytes(inputs: tf.NamedTensorInfoMap, out: tf.TensorInfo | tf.TensorInfo[]): number {
  const shared = new Set(Object.values(inputs).map((t) => t?.dataId));
  let bytes = 0;
  for (const t of Array.isArray(out) ? out : [out]) {
    if (shared.has(t.dataId)) continue;
    bytes += t.shape.reduce((a, d) => a * d, 1) * (BYTES[t.dtype] ?? 4);
  }
  return bytes;
}

/** The profile as text lines: the top `n` kernels, then JS outside kernels. */
export function formatProfile(title: string, p: Profile, n = 15): string[] {
  const pct = (x: number) => `${(100 * x).toFixed(1).padStart(5)}%`;
  const lines = [
    `${title}: ${p.wallMs.toFixed(0)} ms wall = ${p.kernelMs.toFixed(0)} ms in kernels (${p.ortMs.toFixed(0)} ms native ORT) + ` +
      `${p.outsideMs.toFixed(0)} ms outside kernels (${pct(p.outsideMs / p.wallMs).trim()}); ${p.outMB.toFixed(0)} MB of new outputs`,
    `  ${'kernel'.padEnd(22)} ${'calls'.padStart(6)} ${'ms'.padStart(9)} ${'share'.padStart(6)} ${'ORT ms'.padStart(9)} ${'JS ms'.padStart(9)} ${'out MB'.padStart(8)}`,
  ];
  for (const k of p.kernels.slice(0, n)) {
    lines.push(`  ${k.kernel.padEnd(22)} ${String(k.calls).padStart(6)} ${k.ms.toFixed(1).padStart(9)} ${pct(k.share)} ${k.ortMs.toFixed(1).padStart(9)} ${(k.ms - k.ortMs).toFixed(1).padStart(9)} ${k.outMB.toFixed(0).padStart(8)}`);
  }
  lines.push(`  ${'(outside kernels)'.padEnd(22)} ${''.padStart(6)} ${p.outsideMs.toFixed(1).padStart(9)} ${pct(p.outsideMs / p.wallMs)}`);
  return lines;
}
