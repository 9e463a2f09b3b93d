// safetensors: round trips, byte layout checked by hand, hand-made F16/BF16/I64 files, and
// malformed files refused with the file (and tensor) named.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors, type TensorToWrite } from '../sdk/model/index.ts';

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'orz-st-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A safetensors file assembled byte by byte: u64 LE header length, JSON header, data. */
function rawFile(header: unknown, data: Uint8Array, headerText = JSON.stringify(header)): Buffer {
  const json = Buffer.from(headerText, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, data]);
}

const u16le = (values: number[]) => {
  const b = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => b.writeUInt16LE(v, i * 2));
  return b;
};

test('write then read: F32, I32, F64, I8, U8, BOOL and metadata; layout checked byte by byte', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'a.safetensors');
    const tensors = new Map<string, TensorToWrite>([
      ['w', { dtype: 'F32', shape: [2, 3], data: Float32Array.of(1.5, -2, 0, 3.25, 1e-8, -7) }],
      ['ids', { dtype: 'I32', shape: [4], data: Int32Array.of(0, -1, 2147483647, -2147483648) }],
      ['d', { dtype: 'F64', shape: [1], data: [Math.PI] }],
      ['small', { dtype: 'I8', shape: [3], data: [-128, 0, 127] }],
      ['bytes', { dtype: 'U8', shape: [2], data: [0, 255] }],
      ['flags', { dtype: 'BOOL', shape: [3], data: [1, 0, 5] }],
      ['empty', { dtype: 'F32', shape: [0, 4], data: [] }],
    ]);
    await writeSafetensors(path, tensors, { format: 'pt', note: 'hello' });
    assert.deepEqual(await readdir(dir), ['a.safetensors'], 'no temp file left behind');

    const bytes = await readFile(path);
    const n = Number(bytes.readBigUInt64LE(0));
    assert.equal((8 + n) % 8, 0, 'data section 8-byte aligned');
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
    assert.deepEqual(header.__metadata__, { format: 'pt', note: 'hello' });
    assert.deepEqual(header.w, { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
    assert.deepEqual(header.ids.data_offsets, [24, 40]);
    assert.equal(bytes.readFloatLE(8 + n + 4), -2, 'w[0][1] little-endian at its offset');
    assert.equal(bytes.readInt32LE(8 + n + 24 + 8), 2147483647, 'ids[2] at its offset');

    const { tensors: back, metadata } = await readSafetensors(path);
    assert.deepEqual(metadata, { format: 'pt', note: 'hello' });
    assert.deepEqual([...back.keys()].sort(), [...tensors.keys()].sort());
    assert.deepEqual(Array.from(back.get('w')!.data), [1.5, -2, 0, 3.25, Math.fround(1e-8), -7]);
    assert.ok(back.get('w')!.data instanceof Float32Array);
    assert.deepEqual(back.get('w')!.shape, [2, 3]);
    assert.deepEqual(Array.from(back.get('ids')!.data), [0, -1, 2147483647, -2147483648]);
    assert.ok(back.get('ids')!.data instanceof Int32Array);
    assert.equal(back.get('d')!.data[0], Math.PI);
    assert.deepEqual(Array.from(back.get('small')!.data), [-128, 0, 127]);
    assert.deepEqual(Array.from(back.get('bytes')!.data), [0, 255]);
    assert.deepEqual(Array.from(back.get('flags')!.data), [1, 0, 1]);
    assert.deepEqual(back.get('empty')!.shape, [0, 4]);
    assert.equal(back.get('empty')!.data.length, 0);
  });
});

test('writer refuses bad input, naming the file and tensor, and leaves no file', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'bad.safetensors');
    await assert.rejects(writeSafetensors(path, new Map([['x', { dtype: 'F32', shape: [2, 2], data: [1, 2, 3] }]])), /bad\.safetensors: tensor x: 3 values for shape \[2,2\]/);
    await assert.rejects(writeSafetensors(path, new Map([['x', { dtype: 'I32', shape: [1], data: [1.5] }]])), /tensor x: value 1\.5 at index 0/);
    assert.deepEqual(await readdir(dir), []);
  });
});

test('reads hand-made F16 and BF16 (widened to float32) and I64 (narrowed to int32)', async () => {
  await withDir(async (dir) => {
    // F16: 1, -2, 0.5, 65504 (max), 2^-24 (smallest subnormal), -0, +inf, 1/3 rounded (0x3555)
    const f16 = [0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x8000, 0x7c00, 0x3555];
    const f16Want = [1, -2, 0.5, 65504, 2 ** -24, -0, Infinity, 1365 / 4096];
    // BF16: 1, -2.5, 3.140625 (pi's bf16), 2^-133 (a subnormal), 0x7fc0 = NaN
    const bf16 = [0x3f80, 0xc020, 0x4049, 0x0001, 0x7fc0];
    const i64 = Buffer.alloc(24);
    i64.writeBigInt64LE(-5n, 0);
    i64.writeBigInt64LE(2147483647n, 8);
    i64.writeBigInt64LE(-2147483648n, 16);
    const data = Buffer.concat([u16le(f16), u16le(bf16), i64]);
    const path = join(dir, 'half.safetensors');
    await writeFile(path, rawFile({
      h: { dtype: 'F16', shape: [2, 4], data_offsets: [0, 16] },
      b: { dtype: 'BF16', shape: [5], data_offsets: [16, 26] },
      l: { dtype: 'I64', shape: [3], data_offsets: [26, 50] },
    }, data));
    const { tensors } = await readSafetensors(path);
    const h = tensors.get('h')!;
    assert.equal(h.dtype, 'F16');
    assert.ok(h.data instanceof Float32Array);
    assert.deepEqual(h.shape, [2, 4]);
    f16Want.forEach((w, i) => assert.ok(Object.is(h.data[i], w), `F16[${i}]: ${h.data[i]} vs ${w}`));
    const b = Array.from(tensors.get('b')!.data);
    assert.deepEqual(b.slice(0, 3), [1, -2.5, 3.140625]);
    assert.equal(b[3], 2 ** -133);
    assert.ok(Number.isNaN(b[4]));
    const l = tensors.get('l')!;
    assert.ok(l.data instanceof Int32Array);
    assert.deepEqual(Array.from(l.data), [-5, 2147483647, -2147483648]);

    const big = Buffer.alloc(8);
    big.writeBigInt64LE(2147483648n);
    const bigPath = join(dir, 'big.safetensors');
    await writeFile(bigPath, rawFile({ n: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, big));
    await assert.rejects(readSafetensors(bigPath), /big\.safetensors: tensor n: I64 value 2147483648 at index 0 does not fit in int32/);
  });
});

test('malformed files are refused with the file (and tensor) named', async () => {
  await withDir(async (dir) => {
    const good = rawFile({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, Buffer.alloc(8));
    const cases: [string, Buffer, RegExp][] = [
      ['tiny', Buffer.alloc(5), /tiny\.safetensors: truncated: 5 bytes/],
      ['cut-header', good.subarray(0, 20), /cut-header\.safetensors: header length \d+ runs past the end of the file/],
      ['cut-data', good.subarray(0, good.length - 3), /cut-data\.safetensors: tensor x: data_offsets \[0, 8\] out of range: the data section has 5 bytes/],
      ['bad-json', rawFile(null, Buffer.alloc(0), '{"x": {"dtype": "F32",'), /bad-json\.safetensors: header is not valid JSON/],
      ['not-object', rawFile([1, 2], Buffer.alloc(0)), /not-object\.safetensors: header is not a JSON object/],
      ['out-of-range', rawFile({ x: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, Buffer.alloc(8)), /out-of-range\.safetensors: tensor x: data_offsets \[8, 16\] out of range/],
      ['size-mismatch', rawFile({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, Buffer.alloc(8)), /size-mismatch\.safetensors: tensor x: 8 bytes of data, but F32 \[3\] needs 12/],
      ['overlap', rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, Buffer.alloc(8)), /overlap\.safetensors: tensor b overlaps tensor a/],
      ['dtype', rawFile({ x: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, Buffer.alloc(8)), /dtype\.safetensors: tensor x: unsupported dtype "C64"/],
      ['offsets', rawFile({ x: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, Buffer.alloc(8)), /offsets\.safetensors: tensor x: bad data_offsets/],
      ['meta', rawFile({ __metadata__: { a: 1 } }, Buffer.alloc(0)), /meta\.safetensors: __metadata__\.a is not a string/],
    ];
    for (const [name, bytes, pattern] of cases) {
      const path = join(dir, `${name}.safetensors`);
      await writeFile(path, bytes);
      await assert.rejects(readSafetensors(path), pattern, name);
    }
    await assert.rejects(readSafetensors(join(dir, 'missing.safetensors')), /missing\.safetensors: cannot open/);
    // the well-formed one reads
    await writeFile(join(dir, 'good.safetensors'), good);
    assert.deepEqual(Array.from((await readSafetensors(join(dir, 'good.safetensors'))).tensors.get('x')!.data), [0, 0]);
  });
});
