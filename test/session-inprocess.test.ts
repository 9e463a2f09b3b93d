// The in-process session (Session.local({inProcess: true})): the same service and handles without sockets,
// the Trainer's step-by-step API through handles, and persistence across close and reopen.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectBackend } from '../sdk/engine/backend.ts';
import { RolloutBatch } from '../sdk/rollout/rollout-batch.ts';
import { MetricsLog } from '../sdk/ppo/metrics-log.ts';
import type { Sample } from '../sdk/reward/index.ts';
import { Session } from '../sdk/session/session.ts';
import type { RemoteTrainer } from '../sdk/session/remote-handles.ts';
import { writeTinyRunProject } from './support/tiny-run-project.ts';

let home = '';
let cfg = '';

before(async () => {
  await selectBackend('cpu');
  home = await mkdtemp(join(tmpdir(), 'orz-session-ip-'));
  const proj = join(home, 'proj');
  cfg = await writeTinyRunProject(proj, {
    problems: 8, addedTokens: [], iterations: 2,
    trainer: { template: 'mini', promptsPerIteration: 2, samplesPerPrompt: 2, generation: { maxNewTokens: 4 }, criticUpdateSteps: 2, evalEvery: 0, policyLr: 1e-3, criticLr: 1e-3, warmupSteps: 0, kl: { log: false } },
  });
});

after(async () => {
  await rm(home, { recursive: true, force: true });
});

test('in-process: the Trainer API through handles, a controller reward, events, and state kept across close and reopen', async () => {
  const env = { ...process.env, ORZ_HOME: join(home, 'orz') };
  const firstChar = (x: Sample) => (x.response.charCodeAt(0) || 0) % 2;
  const s = await Session.local({ inProcess: true, name: 'ip', env });
  const iterations: number[] = [];
  s.events.on('iteration', (d) => iterations.push(d.row.iteration));
  const t = await s.trainerFromRunConfig(cfg, { name: 't', reward: firstChar });
  await t.step();
  await t.step();
  assert.deepEqual(iterations, [1, 2]);
  const scoredBatch = (await t.lastBatch())!;
  assert.deepEqual(scoredBatch.samples().map((x) => x.reward), scoredBatch.samples().map((x) => firstChar(x as unknown as Sample)));

  // The four arrows one by one, as in the README, with the same return types as in-process objects.
  const batch = await t.generate();
  assert.ok(batch instanceof RolloutBatch);
  assert.equal(batch.length, 4);
  const scored = await t.score(batch);
  assert.equal(scored.samples().filter((x) => typeof x.reward === 'number').length, 4);
  const exp = await t.makeExperience(scored);
  assert.deepEqual([...exp.lengths], scored.samples().map((x) => x.responseIds.length));
  assert.ok(exp.advantages instanceof Float32Array);
  assert.equal(exp.advantages.length, exp.N * exp.R);
  const stats = await t.update(exp);
  assert.ok(Number.isFinite(stats['policy/loss'] as number));
  await assert.rejects(t.update(exp), /argument "experience": "exp-\d+" is not a pending experience/);
  const metrics = await t.metrics();
  assert.ok(metrics instanceof MetricsLog);
  assert.deepEqual(metrics.rows.map((r) => r['iteration']), [1, 2]);
  const digest = await t.digest();
  assert.equal((await t.info()).iteration, 2, 'a manual update does not count as an iteration');
  await s.close(); // an in-process session stops with its client: it checkpoints, including the manual update

  await assert.rejects(Session.local({ inProcess: true, name: 'ip', env, resume: false }), /has saved handles .* resume it/);
  const again = await Session.local({ inProcess: true, name: 'ip', env });
  const back = await again.get<RemoteTrainer>('t', { reward: firstChar });
  assert.equal(await back.iteration(), 2);
  assert.equal(await back.digest(), digest);
  assert.deepEqual((await back.metrics()).rows.map((r) => r['iteration']), [1, 2]);
  assert.equal((await back.step()).iteration, 3);
  assert.deepEqual((await again.handles()).map((h) => [h.id, h.name, h.kind]), [['trainer-1', 't', 'trainer']]);
  await again.close();
});
