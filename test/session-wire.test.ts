// The session wire format and value codec, without sockets: signatures, replays, frame tampering, and the
// checks that keep malformed values and arguments away from operations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as arrow from 'apache-arrow';
import { decodeMessage, encodeMessage, PROTOCOL, ReplayGuard, Signer, WireError } from '../sdk/session/wire.ts';
import { decodeValue, encodeValue, HostTensor } from '../sdk/session/codec.ts';
import { ArgumentError, int, optional, parseArgs, str } from '../sdk/session/args.ts';
import { errorFromWire, errorToWire } from '../sdk/session/errors.ts';
import { RolloutBatch } from '../sdk/rollout/rollout-batch.ts';
import { MetricsLog } from '../sdk/ppo/metrics-log.ts';
import { RewardError } from '../sdk/reward/index.ts';

const key = Signer.newKey();
const signer = new Signer(key);

function wireCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof WireError, `expected a WireError, got ${e}`);
    return e.code;
  }
  assert.fail('no error');
}

test('a signed message round-trips; tampering with any frame or moving a frame boundary breaks the signature', () => {
  const frames = encodeMessage(signer, 'request', { callId: 'c1', op: 'session.ping' }, [Buffer.from([1, 2, 3])]);
  assert.equal(frames[0]!.toString(), PROTOCOL);
  const msg = decodeMessage(frames, signer);
  assert.equal(msg.header.type, 'request');
  assert.deepEqual(msg.payload, { callId: 'c1', op: 'session.ping' });
  assert.deepEqual([...msg.buffers[0]!], [1, 2, 3]);

  for (const i of [2, 3, 4]) {
    const bad = frames.map((f) => Buffer.from(f));
    bad[i]![bad[i]!.length - 1]! ^= 1;
    assert.equal(wireCode(() => decodeMessage(bad, signer)), 'unauthenticated');
  }
  // Same bytes, different split between header and payload: the length-prefixed MAC notices.
  const joined = Buffer.concat([frames[2]!, frames[3]!]);
  const shifted = [frames[0]!, frames[1]!, joined.subarray(0, frames[2]!.length - 1), joined.subarray(frames[2]!.length - 1), frames[4]!];
  assert.equal(wireCode(() => decodeMessage(shifted, signer)), 'unauthenticated');
  assert.equal(wireCode(() => decodeMessage(frames, new Signer(Signer.newKey()))), 'unauthenticated');
  // A rejected request still yields its callId, so the error reply can name the call.
  try {
    decodeMessage(frames, new Signer(Signer.newKey()));
  } catch (e) {
    assert.equal((e as WireError).callId, 'c1');
  }
});

test('garbage, other protocols, oversized and unsigned messages are refused with a reason', () => {
  assert.equal(wireCode(() => decodeMessage([Buffer.from('hello')], signer)), 'malformed');
  assert.equal(wireCode(() => decodeMessage([Buffer.from('<IDS|MSG>'), Buffer.from(''), Buffer.from('{}'), Buffer.from('{}')], signer)), 'protocol');
  const frames = encodeMessage(signer, 'request', { callId: 'c2', op: 'x' }, [Buffer.alloc(1000)]);
  assert.equal(wireCode(() => decodeMessage(frames, signer, { maxBytes: 500 })), 'too_large');
  const unsigned = encodeMessage(null, 'reply', { callId: 'c3', ok: false, error: { code: 'unauthenticated' } });
  assert.equal(wireCode(() => decodeMessage(unsigned, signer)), 'unauthenticated');
  assert.equal(decodeMessage(unsigned, signer, { allowUnsigned: true }).signed, false);
  // Correctly signed, but not JSON / not a known type.
  const body = [Buffer.from('{not json'), Buffer.from('{}')];
  assert.equal(wireCode(() => decodeMessage([Buffer.from(PROTOCOL), Buffer.from(signer.sign(body)), ...body], signer)), 'malformed');
  const typed = [Buffer.from(JSON.stringify({ id: 'x', type: 'exec', time: Date.now() })), Buffer.from('{}')];
  assert.equal(wireCode(() => decodeMessage([Buffer.from(PROTOCOL), Buffer.from(signer.sign(typed)), ...typed], signer)), 'malformed');
});

test('a replayed message, or one outside the time window, is refused', () => {
  const guard = new ReplayGuard(60_000);
  const frames = encodeMessage(signer, 'request', { callId: 'c4', op: 'session.ping' });
  decodeMessage(frames, signer, { replay: guard });
  assert.equal(wireCode(() => decodeMessage(frames, signer, { replay: guard })), 'replay');
  const old = [Buffer.from(JSON.stringify({ id: 'old-1', type: 'request', time: Date.now() - 120_000 })), Buffer.from('{}')];
  assert.equal(wireCode(() => decodeMessage([Buffer.from(PROTOCOL), Buffer.from(signer.sign(old)), ...old], signer, { replay: guard })), 'replay');
});

function batch(): RolloutBatch {
  return RolloutBatch.fromSamples([0, 1, 2].map((i) => ({
    promptIndex: i, sampleIndex: 0, prompt: `p${i}`, response: `r${i}`, promptIds: [1, 2], responseIds: [3, 4, 5].slice(0, i + 1),
    logprobs: [-0.5, -1, -2].slice(0, i + 1), finishReason: 'stop' as const, groundTruth: String(i), reward: i % 2, level: i,
  })));
}

test('values: rollouts and metrics as Arrow IPC, tensors as raw bytes with shape and dtype, ragged arrays', () => {
  const value = {
    batch: batch(),
    metrics: new MetricsLog([{ iteration: 1, 'reward/mean': 0.5, note: 'x' }, { iteration: 2, 'reward/mean': null }]),
    weight: new HostTensor(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3], 'float32'),
    ids: Int32Array.from([7, 8]),
    ragged: [Float32Array.from([1, 2]), Float32Array.from([]), Float32Array.from([3])],
    plain: { a: [1, 'two', null, true], nan: NaN },
  };
  const { json, buffers } = encodeValue(value);
  assert.equal(buffers.length, 5);
  assert.ok(JSON.stringify(json).length < 600, 'bulk data stays out of the JSON');
  const back = decodeValue(JSON.parse(JSON.stringify(json)), buffers.map((b) => Buffer.concat([Buffer.alloc(1), b]).subarray(1))) as typeof value;
  assert.deepEqual(back.batch.samples(), value.batch.samples());
  assert.deepEqual(back.metrics.rows, [{ iteration: 1, 'reward/mean': 0.5, note: 'x' }, { iteration: 2 }]);
  assert.ok(back.weight instanceof HostTensor);
  assert.deepEqual(back.weight.shape, [2, 3]);
  assert.deepEqual([...back.weight.data], [1, 2, 3, 4, 5, 6]);
  assert.ok(back.ids instanceof Int32Array);
  assert.deepEqual([...back.ids], [7, 8]);
  assert.deepEqual(back.ragged.map((r) => [...r]), [[1, 2], [], [3]]);
  assert.deepEqual(back.plain, { a: [1, 'two', null, true], nan: null });
});

test('bad value markers are errors that say where; class instances and functions are not data', () => {
  const { json, buffers } = encodeValue({ w: new HostTensor(Float32Array.from([1, 2]), [2], 'float32') });
  const j = json as { w: Record<string, unknown> };
  assert.throws(() => decodeValue({ w: { ...j.w, shape: [3] } }, buffers, 'arguments'), /arguments\.w: shape \[3\] of float32 needs 12 bytes, the frame has 8/);
  assert.throws(() => decodeValue({ w: { ...j.w, dtype: 'object' } }, buffers, 'arguments'), /arguments\.w: dtype "object"/);
  assert.throws(() => decodeValue({ w: { ...j.w, buffer: 5 } }, buffers, 'arguments'), /arguments\.w: buffer index 5/);
  assert.throws(() => decodeValue({ b: { $orz: 'rollouts', buffer: 0 } }, [Buffer.from('garbage')], 'arguments'), /arguments\.b: /);
  const wrongTable = arrow.tableToIPC(arrow.tableFromArrays({ x: Float64Array.from([1]) }), 'stream');
  assert.throws(() => decodeValue({ b: { $orz: 'rollouts', buffer: 0 } }, [wrongTable], 'arguments'), /arguments\.b: .*missing column "promptIndex"/);
  assert.throws(() => decodeValue({ x: { $orz: 'function', buffer: 0 } }, buffers), /unknown value kind "function"/);
  assert.throws(() => encodeValue({ f: () => 1 }), /value\.f: a function cannot be sent/);
  assert.throws(() => encodeValue({ d: new Map() }), /value\.d: a Map cannot be sent/);
  let deep: unknown = 1;
  for (let i = 0; i < 100; i++) deep = [deep];
  assert.throws(() => decodeValue(deep, []), /nested deeper than 64/);
});

test('arguments are checked per operation and errors name the argument', () => {
  const spec = { iterations: int({ min: 1 }), name: optional(str({ maxLength: 8 })) };
  assert.deepEqual(parseArgs('trainer.run', { iterations: 3 }, spec), { iterations: 3, name: undefined });
  assert.throws(() => parseArgs('trainer.run', { iterations: 0 }, spec), (e: Error) => e instanceof ArgumentError && /trainer\.run: argument "iterations" must be an integer >= 1, got 0/.test(e.message));
  assert.throws(() => parseArgs('trainer.run', { iterations: '3' }, spec), /argument "iterations" must be an integer >= 1, got "3"/);
  assert.throws(() => parseArgs('trainer.run', { iterations: 1, itrations: 2 }, spec), /unknown argument "itrations"/);
  assert.throws(() => parseArgs('trainer.run', [], spec), /arguments must be a JSON object/);
});

test('a RewardError crosses the wire with its sample index', () => {
  const sample = { prompt: 'p', response: 'r', groundTruth: '1', finishReason: 'stop' as const };
  const inner = new RewardError('myReward threw: boom on sample 3', 3, sample);
  const outer = new RewardError('controller reward threw: myReward threw: boom (whole batch of 8)', 0, sample, inner);
  const back = errorFromWire(JSON.parse(JSON.stringify(errorToWire(outer))));
  assert.ok(back instanceof RewardError);
  assert.equal(back.sampleIndex, 3);
  assert.match(back.message, /boom/);
});
