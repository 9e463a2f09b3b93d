// The kernel's protocol layer: wire format and signatures, connection files, history, JSON safety, the logo
// PNG, kernel spec install/list/remove, and the running kernel over real zeromq sockets (no Python).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { Dealer, Request, Subscriber } from 'zeromq';
import { parseMessage, serializeMessage, Signer, WireError, type JupyterMessage } from '../kernel/protocol/wire.ts';
import { MessageFactory, replyType } from '../kernel/protocol/message.ts';
import { endpoint, readConnectionFile, type ConnectionInfo } from '../kernel/protocol/connection.ts';
import { globToRegExp, History } from '../kernel/exec/history.ts';
import { jsonSafe } from '../kernel/json-safe.ts';
import { logoPng } from '../kernel/logo.ts';
import { installKernel, jupyterDataPath, listKernels, removeKernel, userDataDir } from '../kernel/install.ts';
import { ORZ_BIN, REPO } from './kernel/harness.ts';

const factory = new MessageFactory();

test('signatures: HMAC-SHA256 hex over the four JSON frames; empty key signs nothing', () => {
  const frames = ['{"a":1}', '{}', '{}', '{"code":"1"}'].map((s) => Buffer.from(s));
  const signer = new Signer('secret');
  const expected = createHmac('sha256', 'secret').update(Buffer.concat(frames)).digest('hex');
  assert.equal(signer.sign(frames), expected);
  assert.ok(signer.verify(Buffer.from(expected), frames));
  assert.ok(!signer.verify(Buffer.from(expected.replace(/.$/, (c) => (c === '0' ? '1' : '0'))), frames));
  assert.ok(!signer.verify(Buffer.from('short'), frames));
  const none = new Signer('');
  assert.equal(none.sign(frames), '');
  assert.ok(none.verify(Buffer.from('anything'), frames));
  assert.throws(() => new Signer('k', 'rsa-sha256'), /signature_scheme/);
});

test('messages round-trip through the wire format with identities and buffers; tampering is detected', () => {
  const signer = new Signer('k');
  const msg = factory.make('execute_request', { code: 'let x = "é😀"' }, { identities: [Buffer.from('id-1')], buffers: [Buffer.from([1, 2, 3])] });
  const frames = serializeMessage(msg, signer);
  assert.equal(frames[1]!.toString(), '<IDS|MSG>');
  const back = parseMessage(frames, signer);
  assert.deepEqual(back.content, msg.content);
  assert.equal(back.header.msg_id, msg.header.msg_id);
  assert.equal(back.header.version, '5.3');
  assert.deepEqual(Buffer.from(back.identities[0]!).toString(), 'id-1');
  assert.deepEqual([...back.buffers[0]!], [1, 2, 3]);
  const tampered = frames.slice();
  tampered[5] = Buffer.from('{"code":"evil()"}');
  assert.throws(() => parseMessage(tampered, signer), (e: unknown) => e instanceof WireError && e.reason === 'signature');
  assert.throws(() => parseMessage(frames.slice(2), signer), (e: unknown) => e instanceof WireError && e.reason === 'malformed');
  assert.throws(() => parseMessage([...frames.slice(0, 4), Buffer.from('not json'), ...frames.slice(5)], new Signer('')), /parent_header frame is not JSON/);
  const reply = factory.reply(back, { status: 'ok' });
  assert.equal(reply.header.msg_type, 'execute_reply');
  assert.equal(reply.parent_header.msg_id, msg.header.msg_id);
  assert.equal(replyType('comm_info_request'), 'comm_info_reply');
});

test('connection files: fields are checked and named in errors; endpoints follow jupyter_client', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'orz-conn-'));
  try {
    const good = { transport: 'tcp', ip: '127.0.0.1', shell_port: 1, control_port: 2, stdin_port: 3, iopub_port: 4, hb_port: 5, key: 'k', signature_scheme: 'hmac-sha256' };
    await writeFile(join(dir, 'good.json'), JSON.stringify(good));
    const info = readConnectionFile(join(dir, 'good.json'));
    assert.equal(endpoint(info, 'iopub'), 'tcp://127.0.0.1:4');
    assert.equal(endpoint({ ...info, transport: 'ipc', ip: '/tmp/k' }, 'hb'), 'ipc:///tmp/k-5');
    await writeFile(join(dir, 'bad.json'), JSON.stringify({ ...good, hb_port: 'x' }));
    assert.throws(() => readConnectionFile(join(dir, 'bad.json')), /bad\.json: hb_port must be a port number/);
    assert.throws(() => readConnectionFile(join(dir, 'missing.json')), /missing\.json/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('history: tail, range, search with globs, unique and n', () => {
  const h = new History();
  ['6*7', 'let a = 1', '6*7', 'a + 1', '6*7'].forEach((code, i) => h.add(i + 1, code));
  h.setOutput(1, '42');
  assert.deepEqual(h.query({ hist_access_type: 'tail', n: 2 }), [[1, 4, 'a + 1'], [1, 5, '6*7']]);
  assert.deepEqual(h.query({ hist_access_type: 'tail', n: 1, output: true }), [[1, 5, ['6*7', null]]]);
  assert.deepEqual(h.query({ hist_access_type: 'range', session: 0, start: 1, stop: 2, output: true }), [[1, 1, ['6*7', '42']]]);
  assert.equal(h.query({ hist_access_type: 'search', pattern: '6*7' }).length, 3);
  assert.deepEqual(h.query({ hist_access_type: 'search', pattern: '6*7', unique: true }), [[1, 5, '6*7']]);
  assert.equal(h.query({ hist_access_type: 'search', pattern: '*', n: 2 }).length, 2);
  assert.ok(globToRegExp('let ?*').test('let a = 1') && !globToRegExp('let ?*').test('let'));
  assert.ok(globToRegExp('[ab]+1').test('a+1') && globToRegExp('(x)').test('(x)'));
  assert.throws(() => h.query({ hist_access_type: 'everything' }), /hist_access_type/);
});

test('jsonSafe: BigInt, cycles, typed arrays and functions become JSON-able', () => {
  const cyc: Record<string, unknown> = { a: 1n, big: 2n ** 80n, t: new Float32Array([1.5]), f: () => 1, nan: NaN };
  cyc['self'] = cyc;
  assert.deepEqual(jsonSafe(cyc), { a: 1, big: (2n ** 80n).toString(), t: [1.5], nan: null, self: '[Circular]' });
  const shared = { x: 1 };
  assert.deepEqual(jsonSafe([shared, shared]), [{ x: 1 }, { x: 1 }]);
});

test('logo: a valid RGBA PNG at 32 and 64 pixels', () => {
  for (const size of [32, 64]) {
    const png = logoPng(size);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.equal(png.readUInt32BE(16), size);
    assert.equal(png.readUInt32BE(20), size);
    // Walk the chunks: every CRC must match, and IDAT must inflate to height * (1 + 4 * width) bytes.
    let offset = 8;
    const idat: Buffer[] = [];
    while (offset < png.length) {
      const len = png.readUInt32BE(offset);
      const type = png.subarray(offset + 4, offset + 8).toString('ascii');
      const data = png.subarray(offset + 8, offset + 8 + len);
      const crc = png.readUInt32BE(offset + 8 + len);
      assert.equal(crc, crc32Reference(png.subarray(offset + 4, offset + 8 + len)), `${type} CRC`);
      if (type === 'IDAT') idat.push(data);
      offset += 12 + len;
    }
    const raw = inflateSync(Buffer.concat(idat));
    assert.equal(raw.length, size * (1 + 4 * size));
    const alphaCorner = raw[1 + 3]!;
    const alphaCenter = raw[(size / 2) * (1 + 4 * size) + 1 + (size / 2) * 4 + 3]!;
    assert.equal(alphaCorner, 0, 'rounded corner is transparent');
    assert.equal(alphaCenter, 255, 'centre is opaque');
  }
});

function crc32Reference(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

test('kernel specs: install to user dir and prefix, list in Jupyter order, remove only orz specs', async () => {
  const root = await mkdtemp(join(tmpdir(), 'orz-spec-'));
  const env = { HOME: join(root, 'home'), JUPYTER_PATH: join(root, 'extra'), JUPYTER_DATA_DIR: join(root, 'data') };
  try {
    assert.equal(userDataDir(env), join(root, 'data'));
    assert.deepEqual(jupyterDataPath(env).slice(0, 2), [join(root, 'extra'), join(root, 'data')]);
    const userDir = await installKernel({ env });
    assert.equal(userDir, join(root, 'data', 'kernels', 'orz'));
    const spec = JSON.parse(readFileSync(join(userDir, 'kernel.json'), 'utf8'));
    assert.deepEqual(spec.argv, [process.execPath, ORZ_BIN, 'kernel', 'run', '--connection-file', '{connection_file}']);
    assert.equal(spec.interrupt_mode, 'message');
    assert.equal(spec.language, 'typescript');
    assert.equal(typeof spec.metadata.orz_version, 'string');
    assert.ok(existsSync(join(userDir, 'logo-32x32.png')) && existsSync(join(userDir, 'logo-64x64.png')));
    const prefixDir = await installKernel({ env, location: { kind: 'prefix', prefix: join(root, 'extra', '..', 'pfx') }, name: 'Orz-Dev', displayName: 'dev' });
    assert.equal(prefixDir, join(root, 'pfx', 'share', 'jupyter', 'kernels', 'orz-dev'));
    // A foreign kernel on JUPYTER_PATH shadows nothing of ours but must not be removable by us.
    await mkdir(join(root, 'extra', 'kernels', 'python3'), { recursive: true });
    await writeFile(join(root, 'extra', 'kernels', 'python3', 'kernel.json'), JSON.stringify({ argv: ['python'], display_name: 'Python 3', language: 'python' }));
    await installKernel({ env: { ...env, JUPYTER_DATA_DIR: join(root, 'extra') } }); // an "orz" earlier on the path
    const listed = listKernels(env).filter((k) => k.dir.startsWith(root));
    assert.deepEqual(listed.map((k) => [k.name, k.orz, k.shadowed]), [['orz', true, false], ['python3', false, false], ['orz', true, true]]);
    await assert.rejects(removeKernel({ env, name: 'python3' }), /not an orz kernel spec/);
    assert.equal(await removeKernel({ env }), join(root, 'extra', 'kernels', 'orz')); // the one Jupyter would use
    assert.equal(await removeKernel({ env }), userDir);
    await assert.rejects(removeKernel({ env }), /no kernel spec "orz"/);
    await assert.rejects(installKernel({ env, name: 'bad name' }), /kernel name "bad name" is invalid/);
    await assert.rejects(installKernel({ env: { HOME: root }, location: { kind: 'sys-prefix' } }), /--sys-prefix: no active Python environment/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('orz kernel: usage errors exit 2 with the kernel usage', () => {
  const r = spawnSync(process.execPath, [ORZ_BIN, 'kernel', 'install', '--user', '--prefix', '/tmp/x'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /choose one of --user, --prefix, --sys-prefix/);
  assert.match(r.stderr, /orz kernel install/);
});

// ---------------------------------------------------------------------------------------------------------
// The running kernel over zeromq, spoken to directly.

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise<import('node:net').Server>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => resolve(s));
  })));
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

class RawClient {
  readonly signer: Signer;
  readonly shell = new Dealer();
  readonly control = new Dealer();
  readonly iopub = new Subscriber();
  readonly hb = new Request();
  readonly iopubLog: JupyterMessage[] = [];

  constructor(readonly info: ConnectionInfo) {
    this.signer = new Signer(info.key);
    for (const [s, ch] of [[this.shell, 'shell'], [this.control, 'control'], [this.iopub, 'iopub'], [this.hb, 'hb']] as const) s.connect(endpoint(info, ch));
    this.iopub.subscribe();
    const signer = this.signer;
    void (async () => {
      for await (const frames of this.iopub) this.iopubLog.push(parseMessage(frames, signer));
    })().catch(() => {});
  }

  async request(channel: 'shell' | 'control', type: string, content: Record<string, unknown>, signer?: Signer): Promise<string> {
    const msg = factory.make(type, content);
    await this[channel].send(serializeMessage(msg, signer ?? this.signer));
    return msg.header.msg_id;
  }

  async reply(channel: 'shell' | 'control', timeoutMs = 60_000): Promise<JupyterMessage> {
    const sock = this[channel];
    sock.receiveTimeout = timeoutMs;
    return parseMessage(await sock.receive(), this.signer);
  }

  async iopubFor(msgId: string, timeoutMs = 60_000): Promise<JupyterMessage[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const mine = this.iopubLog.filter((m) => m.parent_header.msg_id === msgId);
      if (mine.some((m) => m.header.msg_type === 'status' && m.content['execution_state'] === 'idle')) return mine;
      if (Date.now() > deadline) throw new Error(`no idle for ${msgId}: ${JSON.stringify(mine.map((m) => m.header.msg_type))}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Until iopub is subscribed, the kernel's status messages are lost (zeromq's slow joiner): retry kernel_info until one arrives. */
  async waitForIopub(timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const id = await this.request('shell', 'kernel_info_request', {});
      await this.reply('shell', deadline - Date.now());
      await new Promise((r) => setTimeout(r, 300));
      if (this.iopubLog.some((m) => m.parent_header.msg_id === id)) return;
    }
    throw new Error('iopub never delivered a status message');
  }

  close(): void {
    for (const s of [this.shell, this.control, this.iopub, this.hb]) s.close();
  }
}

test('the kernel over zeromq: heartbeat, kernel_info on control, execute, code points, forged messages, shutdown', { timeout: 240_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'orz-kernel-raw-'));
  const [shell_port, control_port, stdin_port, iopub_port, hb_port] = await freePorts(5);
  const info: ConnectionInfo = { transport: 'tcp', ip: '127.0.0.1', shell_port: shell_port!, control_port: control_port!, stdin_port: stdin_port!, iopub_port: iopub_port!, hb_port: hb_port!, key: 'a-secret-key', signature_scheme: 'hmac-sha256' };
  await writeFile(join(dir, 'conn.json'), JSON.stringify(info));
  let stderr = '';
  const kernel: ChildProcess = spawn(process.execPath, [ORZ_BIN, 'kernel', 'run', '-f', join(dir, 'conn.json')], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  kernel.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => kernel.on('exit', (code) => resolve(code)));
  const client = new RawClient(info);
  try {
    await client.waitForIopub();
    // kernel_info on control: the worker answers it, with busy/idle around it on iopub.
    const infoId = await client.request('control', 'kernel_info_request', {});
    const ki = await client.reply('control');
    assert.equal(ki.parent_header.msg_id, infoId);
    assert.equal(ki.content['protocol_version'], '5.3');
    assert.equal((ki.content['language_info'] as { name: string }).name, 'typescript');
    assert.match(String(ki.content['banner']), /orz \d+\.\d+\.\d+[\s\S]*tensor backend/);
    const states = (await client.iopubFor(infoId)).filter((m) => m.header.msg_type === 'status').map((m) => m.content['execution_state']);
    assert.deepEqual(states, ['busy', 'idle']);

    client.hb.receiveTimeout = 10_000;
    await client.hb.send('ping');
    assert.equal((await client.hb.receive())[0]!.toString(), 'ping');

    const execId = await client.request('shell', 'execute_request', { code: 'console.log("out"); 20 + 22', silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true });
    const er = await client.reply('shell');
    assert.equal(er.parent_header.msg_id, execId);
    assert.equal(er.content['status'], 'ok');
    assert.equal(er.content['execution_count'], 1);
    const outs = await client.iopubFor(execId);
    assert.deepEqual(outs.map((m) => m.header.msg_type), ['status', 'execute_input', 'stream', 'execute_result', 'status']);
    assert.equal(outs[3]!.content['data'] && (outs[3]!.content['data'] as Record<string, unknown>)['text/plain'], '42');

    // Cursor positions are Unicode code points: "😀" counts 1 although it is 2 UTF-16 units.
    const code = 'const s😀 = 1; Math.flo';
    await client.request('shell', 'complete_request', { code, cursor_pos: [...code].length });
    const cr = await client.reply('shell');
    assert.ok((cr.content['matches'] as string[]).includes('floor'), JSON.stringify(cr.content));
    assert.equal(cr.content['cursor_end'], [...code].length);
    assert.equal(cr.content['cursor_start'], [...code].length - 3);

    // A forged message (wrong key) is dropped without a reply and logged; the kernel keeps answering.
    await client.request('shell', 'execute_request', { code: 'globalThis.forged = 1', silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true }, new Signer('wrong-key'));
    await assert.rejects(client.reply('shell', 1500), /timed out|Socket timed out|EAGAIN/i);
    const checkId = await client.request('shell', 'execute_request', { code: 'typeof globalThis.forged', silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true });
    assert.equal((await client.reply('shell')).parent_header.msg_id, checkId);
    const check = (await client.iopubFor(checkId)).find((m) => m.header.msg_type === 'execute_result');
    assert.equal((check!.content['data'] as Record<string, unknown>)['text/plain'], "'undefined'");
    assert.match(stderr, /dropped a message on shell: bad message signature/);

    await client.request('control', 'shutdown_request', { restart: false });
    const sr = await client.reply('control');
    assert.deepEqual(sr.content, { status: 'ok', restart: false });
    assert.equal(await exited, 0);
  } finally {
    client.close();
    kernel.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});
