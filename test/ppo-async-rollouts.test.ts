// asyncRollouts (sdk/ppo/behaviour-policy.ts): rollouts sampled from the weights of version max(0, i-1-k).
// maxStaleness 0 is the on-policy trainer unchanged; k = 1 is deterministic by seed, records each batch's version
// and staleness, gives the same metrics in-process (sequential) and on a real rollout worker process (overlapped
// with the update), stops a prefetched generation for real on abort, and resumes from a checkpoint exactly.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel, saveModel, TransformerLM } from '../sdk/model/index.ts';
import { selectBackend } from '../sdk/engine/backend.ts';
import { saveTokenizer, trainByteLevelBPE } from '../sdk/tokenizer/index.ts';
import type { ProblemRecord } from '../sdk/data/index.ts';
import { Trainer } from '../sdk/ppo/trainer.ts';
import type { TrainerConfigInput } from '../sdk/ppo/config.ts';
import { behaviourVersion } from '../sdk/ppo/behaviour-policy.ts';
import { METRIC } from '../sdk/ppo/metric-names.ts';
import type { MetricsRow } from '../sdk/ppo/metrics-log.ts';
import type { RewardFn, Sample } from '../sdk/reward/index.ts';
import { weightsDigest } from '../sdk/session/digest.ts';
import { Signer } from '../sdk/session/wire.ts';
import { WorkerPool } from '../sdk/session/workers/worker-pool.ts';
import { WorkerEngine } from '../sdk/session/workers/worker-engine.ts';

const tokenizer = trainByteLevelBPE(['ab ba abc cab 0123456789 xyz'], { vocabSize: 270, specialTokens: ['<|endoftext|>', '<|pad|>'] });
const dataset: ProblemRecord[] = Array.from({ length: 16 }, (_, i) => ({ prompt: `q${i} ab`, groundTruth: '', source: { file: 'toy', index: i } }));
const baseConfig: TrainerConfigInput = {
  seed: 2, template: '{question} >', promptsPerIteration: 4, samplesPerPrompt: 4,
  generation: { maxNewTokens: 4, stop: [] }, policyLr: 3e-2, criticLr: 1e-2, warmupSteps: 0,
  criticUpdateSteps: 2, policyUpdateSteps: 2, evalEvery: 0, checkpointEvery: 0, saveRollouts: false,
};
const evenFirst = (s: Sample) => (((s['responseIds'] as number[])[0] ?? 1) % 2 === 0 ? 1 : 0);

let dir = '';
let pool: WorkerPool | null = null;

before(async () => {
  await selectBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'orz-async-'));
  const policy = TransformerLM.init({
    model_type: 'orz', vocab_size: tokenizer.vocabSize, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1,
    num_attention_heads: 2, num_key_value_heads: 2, max_position_embeddings: 64, tie_word_embeddings: true, hidden_act: 'silu',
  }, 11);
  await saveModel(policy, join(dir, 'base'));
  await saveTokenizer(tokenizer, join(dir, 'base', 'tokenizer.json'));
  policy.dispose();
  pool = await WorkerPool.start({ size: 1, key: Signer.newKey(), backend: 'cpu', maxMessageSize: 1 << 24, log: () => {} });
});

after(async () => {
  for (const w of pool?.infos() ?? []) if (w.pid) try { process.kill(w.pid, 'SIGCONT'); } catch { /* gone */ }
  await pool?.close();
  await rm(dir, { recursive: true, force: true });
});

let made = 0;
async function makeTrainer(config: TrainerConfigInput, onWorkers = false, reward: RewardFn = evenFirst): Promise<Trainer> {
  const policy = await loadModel(join(dir, 'base'));
  const base = join(dir, 'base');
  let trainer: Trainer | null = null;
  const engine = onWorkers
    ? new WorkerEngine(pool!, `t${++made}`, { modelDir: base, tokenizerPath: base }, policy, tokenizer, () => trainer?.policyOptimizer.step ?? 0)
    : undefined;
  trainer = new Trainer({ policy, tokenizer, dataset, reward, config: { ...baseConfig, ...config }, ...(engine ? { engine } : {}) });
  return trainer;
}

/** A row without its timings and throughputs (which differ run to run). */
const content = (r: MetricsRow) => Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith('time/') && !k.startsWith('throughput/')));

async function steps(t: Trainer, n: number): Promise<MetricsRow[]> {
  const out: MetricsRow[] = [];
  for (let i = 0; i < n; i++) out.push(content(await t.step()));
  return out;
}

test('behaviourVersion: max(0, i-1-k)', () => {
  assert.deepEqual([1, 2, 3, 4, 5].map((i) => behaviourVersion(i, 0)), [0, 1, 2, 3, 4]);
  assert.deepEqual([1, 2, 3, 4, 5].map((i) => behaviourVersion(i, 1)), [0, 0, 1, 2, 3]);
  assert.deepEqual([1, 2, 3, 4, 5].map((i) => behaviourVersion(i, 2)), [0, 0, 0, 1, 2]);
});

test('maxStaleness 0 is the on-policy trainer: same rows (no version columns), same weights as a config without the field', async () => {
  const [a, b] = [await makeTrainer({}), await makeTrainer({ asyncRollouts: { maxStaleness: 0 } })];
  assert.equal(b.behaviour, null);
  assert.deepEqual(await steps(a, 3), await steps(b, 3));
  assert.equal(weightsDigest(a.policy.weights), weightsDigest(b.policy.weights));
  assert.equal(a.metrics.rows[0]![METRIC.rolloutStaleness], undefined);
  a.dispose(); b.dispose();
});

test('maxStaleness 1 in-process: deterministic by seed, version and staleness recorded, other rollouts than on-policy', async () => {
  const [a, b, onPolicy] = [await makeTrainer({ asyncRollouts: { maxStaleness: 1 } }), await makeTrainer({ asyncRollouts: { maxStaleness: 1 } }), await makeTrainer({})];
  const [ra, rb, r0] = [await steps(a, 4), await steps(b, 4), await steps(onPolicy, 4)];
  assert.deepEqual(ra, rb);
  assert.equal(weightsDigest(a.policy.weights), weightsDigest(b.policy.weights));
  assert.deepEqual(ra.map((r) => r[METRIC.rolloutWeightVersion]), [0, 0, 1, 2]);
  assert.deepEqual(ra.map((r) => r[METRIC.rolloutStaleness]), [0, 1, 1, 1]);
  // iteration 1 samples from version 0 either way; iteration 2 samples from version 0 instead of 1
  const { [METRIC.rolloutWeightVersion]: _v, [METRIC.rolloutStaleness]: _s, [METRIC.rolloutPrefetched]: _p, ...first } = ra[0]!;
  assert.deepEqual(first, r0[0], 'iteration 1 samples from version 0 either way');
  assert.notEqual(ra[1]![METRIC.policyClipFraction], r0[1]![METRIC.policyClipFraction], 'iteration 2 samples from version 0, not 1');
  assert.notEqual(weightsDigest(a.policy.weights), weightsDigest(onPolicy.policy.weights));
  assert.deepEqual(a.behaviour!.versions(), [2, 3], 'only the versions later iterations sample from are kept');
  a.dispose(); b.dispose(); onPolicy.dispose();
});

test('maxStaleness 1 on a rollout worker (prefetched during the update) equals in-process, tokens and metrics', async () => {
  const [local, remote] = [await makeTrainer({ asyncRollouts: { maxStaleness: 1 } }), await makeTrainer({ asyncRollouts: { maxStaleness: 1 } }, true)];
  for (let i = 1; i <= 4; i++) {
    const [rl, rr] = [content(await local.step()), content(await remote.step())];
    assert.equal(rr[METRIC.rolloutPrefetched], i === 1 ? 0 : 1, `iteration ${i}: generated during the update before it`);
    assert.equal(rl[METRIC.rolloutPrefetched], 0);
    const { [METRIC.rolloutPrefetched]: _r, ...sameR } = rr;
    const { [METRIC.rolloutPrefetched]: _l, ...sameL } = rl;
    assert.deepEqual(sameR, sameL, `iteration ${i}`);
    assert.deepEqual(remote.lastBatch!.samples(), local.lastBatch!.samples(), `iteration ${i}: same tokens and log-probs`);
    assert.equal(weightsDigest(remote.policy.weights), weightsDigest(local.policy.weights));
    assert.deepEqual(remote.prefetching, { iteration: i + 1, version: behaviourVersion(i + 1, 1) }, 'the next iteration is generating');
    assert.equal(local.prefetching, null, 'in-process generation is sequential');
    assert.equal(remote.dataCursor, 4 * i, 'the prefetched prompts are not consumed yet');
  }
  await remote.discardPrefetch();
  assert.equal(pool!.pendingCalls, 0);
  local.dispose(); remote.dispose();
});

test('an abort during the overlapped generation stops it on the worker and gives its prompts back', async () => {
  // The worker is frozen (SIGSTOP) the moment the prefetch's generate request has left the head, so the
  // prefetched generation is certainly still on the worker when it is discarded; SIGCONT lets the worker read
  // the cancel. Freezing it earlier (say, while the head scores) would also freeze the weights broadcast the
  // prefetch waits for. The pool is the real one; only its call() is wrapped to see the request go.
  const p = pool!;
  const pid = p.infos()[0]!.pid!;
  let freezeAt = 0; // freeze on the freezeAt-th worker.generate from now (0: never)
  const realCall = p.call.bind(p);
  p.call = (worker, op, args, opts = {}) => realCall(worker, op, args, {
    ...opts,
    onSent: () => {
      opts.onSent?.();
      if (op === 'worker.generate' && freezeAt > 0 && --freezeAt === 0) process.kill(pid, 'SIGSTOP');
    },
  });
  try {
    const cfg: TrainerConfigInput = { asyncRollouts: { maxStaleness: 1 }, generation: { maxNewTokens: 40, stop: [] } };
    const remote = await makeTrainer(cfg, true);
    freezeAt = 2; // iteration 1's generate, then the prefetch of iteration 2
    await remote.step();
    assert.equal(remote.prefetching?.iteration, 2);
    assert.equal(p.pendingCalls, 1, 'iteration 2 is on the (frozen) worker');
    const discarded = remote.discardPrefetch();
    setTimeout(() => process.kill(pid, 'SIGCONT'), 100); // after the cancel is queued
    assert.equal(await discarded, 'stopped', 'cut short, not left to finish');
    assert.equal(p.pendingCalls, 0);
    assert.equal(remote.dataCursor, 4, 'its prompts are not consumed');

    // The same trainer in a run aborted while iteration 3 generates (the discarded iteration 2 is regenerated first).
    const abort = new AbortController();
    let pendingAtAbort = -1;
    freezeAt = 2; // iteration 2 regenerated, then the prefetch of iteration 3
    const rows = await remote.run({
      iterations: 4, signal: abort.signal, log: null,
      onIteration: () => {
        pendingAtAbort = p.pendingCalls;
        abort.abort(new Error('test abort'));
        setTimeout(() => process.kill(pid, 'SIGCONT'), 200);
      },
    });
    assert.equal(rows.length, 1);
    assert.equal(pendingAtAbort, 1, 'iteration 3 was generating on the worker when the run was aborted');
    assert.equal(remote.prefetching, null);
    assert.equal(p.pendingCalls, 0, 'no generation left running on the worker');
    assert.equal(remote.iteration, 2);
    assert.equal(remote.dataCursor, 8, 'the prefetched prompts were given back');
    // the next iteration is that of an uninterrupted run
    const [again, ref] = [content(await remote.step({ prefetchNext: false })), await makeTrainer(cfg)];
    assert.equal(remote.prefetching, null, 'prefetchNext: false starts none');
    assert.deepEqual(again, (await steps(ref, 3))[2]);
    remote.dispose(); ref.dispose();
  } finally {
    p.call = realCall;
    try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ }
  }
});

test('a checkpoint of a maxStaleness 1 run keeps the older weights; the resumed run equals an uninterrupted one', async () => {
  const cfg: TrainerConfigInput = { asyncRollouts: { maxStaleness: 1 } };
  const whole = await makeTrainer(cfg);
  const uninterrupted = await steps(whole, 4);
  const first = await makeTrainer(cfg, true);
  await steps(first, 2);
  const ckpt = join(dir, 'ckpt-2');
  await first.saveCheckpoint(ckpt);
  assert.ok(existsSync(join(ckpt, 'behaviour.safetensors')));
  await first.discardPrefetch();
  first.dispose();
  const resumed = await makeTrainer(cfg);
  await resumed.loadCheckpoint(ckpt);
  assert.deepEqual(resumed.behaviour!.versions(), [1]);
  assert.deepEqual(await steps(resumed, 2), uninterrupted.slice(2));
  assert.equal(weightsDigest(resumed.policy.weights), weightsDigest(whole.policy.weights));
  // without the older weights a resume cannot sample iteration 3 from version 1: it says so
  const onPolicyCkpt = join(dir, 'ckpt-on-policy');
  const onPolicy = await makeTrainer({});
  await steps(onPolicy, 1);
  await onPolicy.saveCheckpoint(onPolicyCkpt);
  await assert.rejects((await makeTrainer(cfg)).loadCheckpoint(onPolicyCkpt), /lacks behaviour\.safetensors/);
  whole.dispose(); resumed.dispose(); onPolicy.dispose();
});
