// Trainer.run() inside a notebook kernel: the ambient host's signal stops it at an iteration boundary, and
// its display gets a progress bar and a live chart updated in place, throttled. The host here is a plain
// object implementing AmbientHost, which is the whole interface a kernel provides; the trainer is real.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { TransformerLM } from '../sdk/model/index.ts';
import { trainByteLevelBPE } from '../sdk/tokenizer/index.ts';
import type { ProblemRecord } from '../sdk/data/index.ts';
import { Trainer } from '../sdk/ppo/trainer.ts';
import type { TrainerConfigInput } from '../sdk/ppo/config.ts';
import { inProcessReward, type Sample } from '../sdk/reward/index.ts';
import { ambientHost, setAmbientHost, type AmbientHost } from '../sdk/util/ambient.ts';
import type { MimeBundle, PlotlyFigure } from '../sdk/viz/index.ts';

const tokenizer = trainByteLevelBPE(['ab ba abc cab 0123456789 xyz'], { vocabSize: 270, specialTokens: ['<|endoftext|>', '<|pad|>'] });
const dataset: ProblemRecord[] = Array.from({ length: 16 }, (_, i) => ({ prompt: `q${i} ab`, groundTruth: '', source: { file: 'toy', index: i } }));
const config: TrainerConfigInput = {
  seed: 3, template: '{question} >', promptsPerIteration: 2, samplesPerPrompt: 2,
  generation: { maxNewTokens: 2, stop: [] }, policyLr: 3e-2, criticLr: 1e-2, warmupSteps: 0,
  criticUpdateSteps: 1, policyUpdateSteps: 1, evalEvery: 0, checkpointEvery: 0, saveRollouts: false,
};
const evenFirst = (s: Sample) => (((s['responseIds'] as number[])[0] ?? 1) % 2 === 0 ? 1 : 0);

/** A tiny trainer whose iterations take at least `delayMs` (its reward is slow), so throttling shows. */
function makeTrainer(delayMs = 0) {
  const policy = TransformerLM.init({
    model_type: 'orz', vocab_size: tokenizer.vocabSize, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1,
    num_attention_heads: 2, num_key_value_heads: 2, max_position_embeddings: 32, tie_word_embeddings: true, hidden_act: 'silu',
  }, 11);
  // In process: the reward uses this file's helpers and delay (a reward worker would not see them).
  const reward = inProcessReward({ batch: async (samples: Sample[]) => { await sleep(delayMs); return samples.map(evenFirst); } });
  return new Trainer({ policy, tokenizer, dataset, reward, config });
}

type Call = { t: number; bundle: MimeBundle; id?: string; update: boolean };

/** An AmbientHost that records what it is asked to display. */
function recordingHost(signal?: AbortSignal): AmbientHost & { calls: Call[] } {
  const start = performance.now();
  const calls: Call[] = [];
  return {
    signal,
    calls,
    display(bundle, opts) { calls.push({ t: performance.now() - start, bundle, id: opts?.id, update: opts?.update === true }); },
  };
}

/** Runs fn with process.stderr.write captured. */
async function withStderr<T>(fn: () => Promise<T>): Promise<{ result: T; stderr: string }> {
  const original = process.stderr.write;
  let stderr = '';
  process.stderr.write = ((chunk: string | Uint8Array) => { stderr += String(chunk); return true; }) as typeof process.stderr.write;
  try {
    return { result: await fn(), stderr };
  } finally {
    process.stderr.write = original;
  }
}

afterEach(() => setAmbientHost(null));

test('the ambient host lives on globalThis, so a second instance of the module sees it', async () => {
  const other = (await import(`../sdk/util/ambient.ts?instance=${Date.now()}`)) as typeof import('../sdk/util/ambient.ts');
  assert.notEqual(other.ambientHost, ambientHost, 'really a second module instance');
  const host: AmbientHost = { signal: new AbortController().signal };
  setAmbientHost(host);
  assert.equal(other.ambientHost(), host);
  other.setAmbientHost(null);
  assert.equal(ambientHost(), null);
  assert.throws(() => setAmbientHost({ display: 'no' } as never), /host\.display must be a function/);
  assert.throws(() => setAmbientHost({ signal: {} } as never), /host\.signal must be an AbortSignal/);
  assert.throws(() => setAmbientHost(42 as never), /must be an object or null, got number/);
});

test('run() in a kernel: progress bar and live chart under stable ids, at most one update a second, one point per iteration', async () => {
  const host = recordingHost();
  setAmbientHost(host);
  const t = makeTrainer(300);
  const iterations = 7;
  const started = performance.now();
  const { result: rows, stderr } = await withStderr(() => t.run({ iterations }));
  const elapsed = performance.now() - started;
  t.dispose();
  assert.equal(rows.length, iterations);
  assert.equal(stderr, '', 'no stderr progress lines when the host displays');

  const shown = host.calls.filter((c) => !c.update);
  assert.equal(shown.length, 2, 'one bar, one chart');
  const [barId, chartId] = shown.map((c) => c.id!);
  assert.ok(barId && chartId && barId !== chartId);
  assert.match(shown[0]!.bundle['text/html'] as string, /<progress /);
  assert.ok('application/vnd.plotly.v1+json' in shown[1]!.bundle);

  const updates = host.calls.filter((c) => c.update);
  assert.ok(updates.every((c) => c.id === barId || c.id === chartId), 'updates reuse the two ids');
  for (const id of [barId, chartId]) {
    const times = [0, ...updates.filter((c) => c.id === id).map((c) => c.t)];
    // every gap but the one before the final update is at least a second
    for (let i = 1; i < times.length - 1; i++) assert.ok(times[i]! - times[i - 1]! >= 1000, `throttled: ${times.map((x) => x.toFixed(0)).join(', ')}`);
    assert.ok(times.length - 1 <= Math.floor(elapsed / 1000) + 2, `${times.length - 1} updates in ${elapsed.toFixed(0)} ms`);
  }
  const finalChart = updates.filter((c) => c.id === chartId).at(-1)!.bundle['application/vnd.plotly.v1+json'] as PlotlyFigure;
  const reward = finalChart.data[0] as { name: string; x: number[]; y: number[] };
  assert.equal(reward.name, 'reward (mean)');
  assert.deepEqual(reward.x, [1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(reward.y, rows.map((r) => r['reward/mean']));
  const finalBar = updates.filter((c) => c.id === barId).at(-1)!.bundle['text/plain'] as string;
  assert.match(finalBar, /^iter 7\/7 \[##########\] 100%/);
  assert.match(finalBar, /\niter 7 \| reward /, 'the last metrics line under the bar');
});

test("aborting the host's signal stops run() at an iteration boundary, and the display says so", async () => {
  const ac = new AbortController();
  const host = recordingHost(ac.signal);
  setAmbientHost(host);
  const t = makeTrainer();
  const rows = await t.run({ iterations: 10, onIteration: (r) => { if (r['iteration'] === 2) ac.abort(); } });
  assert.equal(rows.length, 2);
  assert.equal(t.iteration, 2);
  const last = host.calls.at(-1)!;
  assert.equal(last.update, true);
  const finalBar = host.calls.filter((c) => c.id === host.calls[0]!.id).at(-1)!.bundle['text/plain'] as string;
  assert.match(finalBar, /iter 2\/10 .*\nstopping at iteration 2 \(aborted\)/);
  const chart = last.bundle['application/vnd.plotly.v1+json'] as PlotlyFigure;
  assert.deepEqual((chart.data[0] as { x: number[] }).x, [1, 2]);
  t.dispose();
});

test('an abort during an iteration stops the run at a boundary; an explicit signal or log option wins over the host', async () => {
  const ac = new AbortController();
  const host = recordingHost(ac.signal);
  setAmbientHost(host);
  const t = makeTrainer(200);
  setTimeout(() => ac.abort(), 50); // lands inside the first iteration (its reward alone takes 200 ms)
  const rows = await t.run({ iterations: 5 });
  // Trainer.step finishes an iteration whose generation is over (here the abort lands while scoring) and
  // discards one still generating: either way the run ends at a boundary with no later iteration started.
  assert.ok(rows.length <= 1, `${rows.length} iterations after an abort inside the first`);
  assert.equal(t.iteration, rows.length);
  const done = t.iteration;

  const mine = new AbortController();
  const lines: string[] = [];
  const calls = host.calls.length;
  const more = await t.run({ iterations: done + 2, signal: mine.signal, log: (l) => lines.push(l) });
  assert.equal(more.length, 2, "the host's aborted signal is not used when the caller passes one");
  assert.equal(host.calls.length, calls, 'with a log option nothing is displayed');
  assert.ok(lines.some((l) => l.startsWith(`iter ${done + 1} | reward`)), lines.join('\n'));
  t.dispose();
});

test('without a host, progress lines still go to stderr', async () => {
  const t = makeTrainer();
  const { stderr } = await withStderr(() => t.run({ iterations: 1 }));
  t.dispose();
  assert.match(stderr, /^iter 0\/1 \[\.\.\.\.\.\.\.\.\.\.\] 0% /m);
  assert.match(stderr, /^iter 1 \| reward /m);
});
