// The HMAC framing shared by the kernel and session protocols, checked against Python's hmac module.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { FrameMac } from '../sdk/util/frame-mac.ts';

const frames = [Buffer.from('{"msg_id":"1"}'), Buffer.from('{}'), Buffer.from(''), Buffer.from('{"code":"1+1"}')];

function pythonHmac(algorithm: string, key: string, lengthPrefixed: boolean): string {
  const script = `
import hmac, sys, json
key, algo, prefixed, frames = json.loads(sys.argv[1])
h = hmac.new(key.encode(), digestmod=algo)
for f in frames:
    b = f.encode()
    if prefixed: h.update(len(b).to_bytes(8, 'big'))
    h.update(b)
print(h.hexdigest())`;
  return execFileSync('python3', ['-c', script, JSON.stringify([key, algorithm, lengthPrefixed, frames.map(String)])], { encoding: 'utf8' }).trim();
}

test('FrameMac signs as Python hmac does, plain (Jupyter) and length-prefixed (session)', () => {
  for (const algorithm of ['sha256', 'sha512']) {
    for (const lengthPrefixed of [false, true]) {
      const mac = new FrameMac('a-session-key-0123456789', { algorithm, lengthPrefixed });
      assert.equal(mac.sign(frames), pythonHmac(algorithm, 'a-session-key-0123456789', lengthPrefixed), `${algorithm} prefixed=${lengthPrefixed}`);
    }
  }
});

test('FrameMac.verify: accepts its signature, refuses a changed frame, a wrong length and bytes moved between frames', () => {
  const mac = new FrameMac('k'.repeat(32), { lengthPrefixed: true });
  const sig = Buffer.from(mac.sign(frames));
  assert.ok(mac.verify(sig, frames));
  assert.ok(!mac.verify(sig.subarray(1), frames));
  assert.ok(!mac.verify(sig, [...frames.slice(0, 3), Buffer.from('{"code":"1+2"}')]));
  // "ab" + "c" and "a" + "bc" are the same bytes back to back: only the length prefix tells them apart
  const moved = [Buffer.from('ab'), Buffer.from('c')], back = [Buffer.from('a'), Buffer.from('bc')];
  assert.ok(!mac.verify(Buffer.from(mac.sign(moved)), back));
  const plain = new FrameMac('k'.repeat(32));
  assert.ok(plain.verify(Buffer.from(plain.sign(moved)), back), 'the Jupyter form signs the concatenation, as its spec says');
  assert.throws(() => new FrameMac('k', { algorithm: 'no-such-hash' }), /no-such-hash|Invalid digest/i);
});
