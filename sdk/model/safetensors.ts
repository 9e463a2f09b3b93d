// The safetensors file format (Hugging Face):
//   u64 little-endian N | N bytes of JSON header | raw little-endian tensor data
//   header = { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": { str: str } }
// Offsets are relative to the start of the data section; writers pad the header with spaces so the
// data starts 8-byte aligned. Reading validates everything and reads each tensor at its offset, so
// files larger than one Node buffer work and nothing is copied twice.

import { open, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import { writeFileAtomic } from '../util/atomic-write.ts';

export type TensorData = Float32Array | Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array;

/** A tensor as read: dtype as stored; F16/BF16 widened to Float32Array, I64 narrowed to Int32Array. */
export interface SafeTensor { dtype: string; shape: number[]; data: TensorData }

export type WritableDtype = 'F64' | 'F32' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';
export interface TensorToWrite { dtype: WritableDtype; shape: number[]; data: ArrayLike<number> }

const DTYPE_BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
const MAX_HEADER_BYTES = 100_000_000; // the reference implementation's limit

if (endianness() !== 'LE') throw new Error('safetensors.ts: big-endian hosts are not supported');

export async function readSafetensors(path: string): Promise<{ tensors: Map<string, SafeTensor>; metadata: Record<string, string> }> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new Error(`${path}: cannot open: ${(e as Error).message}`);
  }
  try {
    const { size } = await fh.stat();
    if (size < 8) throw new Error(`${path}: truncated: ${size} bytes, less than the 8-byte header length`);
    const headerLen = Number(Buffer.from(await readAt(fh, 0, 8)).readBigUInt64LE(0));
    if (headerLen > size - 8) throw new Error(`${path}: header length ${headerLen} runs past the end of the file (${size} bytes): truncated or not safetensors`);
    if (headerLen > MAX_HEADER_BYTES) throw new Error(`${path}: header length ${headerLen} exceeds ${MAX_HEADER_BYTES} bytes`);
    let header: unknown;
    try {
      header = JSON.parse(Buffer.from(await readAt(fh, 8, headerLen)).toString('utf8'));
    } catch (e) {
      throw new Error(`${path}: header is not valid JSON: ${(e as Error).message}`);
    }
    const { entries, metadata } = parseHeader(header, size - 8 - headerLen, path);
    const tensors = new Map<string, SafeTensor>();
    for (const e of entries) {
      const bytes = await readAt(fh, 8 + headerLen + e.begin, e.end - e.begin);
      tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data: decode(bytes, e.dtype, `${path}: tensor ${e.name}`) });
    }
    return { tensors, metadata };
  } finally {
    await fh.close();
  }
}

interface Entry { name: string; dtype: string; shape: number[]; begin: number; end: number }

function parseHeader(header: unknown, dataBytes: number, path: string): { entries: Entry[]; metadata: Record<string, string> } {
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new Error(`${path}: header is not a JSON object`);
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${path}: __metadata__ is not an object`);
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v !== 'string') throw new Error(`${path}: __metadata__.${k} is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const where = `${path}: tensor ${name}`;
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof info !== 'object' || info === null) throw new Error(`${where}: entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = info;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) throw new Error(`${where}: unsupported dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new Error(`${where}: bad shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
      throw new Error(`${where}: bad data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (end > dataBytes) throw new Error(`${where}: data_offsets [${begin}, ${end}] out of range: the data section has ${dataBytes} bytes (truncated file?)`);
    const expected = (shape as number[]).reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype]!;
    if (end - begin !== expected) throw new Error(`${where}: ${end - begin} bytes of data, but ${dtype} [${shape}] needs ${expected}`);
    entries.push({ name, dtype, shape: [...(shape as number[])], begin, end });
  }
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < byOffset.length; i++) {
    const prev = byOffset[i - 1]!, cur = byOffset[i]!;
    if (cur.begin < prev.end) throw new Error(`${path}: tensor ${cur.name} overlaps tensor ${prev.name} in the data section`);
  }
  return { entries, metadata };
}

async function readAt(fh: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length); // fresh, so typed-array views over it are aligned
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(out, done, Math.min(length - done, 1 << 30), position + done);
    if (bytesRead === 0) throw new Error(`unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
  return out;
}

function decode(bytes: Uint8Array, dtype: string, where: string): TensorData {
  const buf = bytes.buffer as ArrayBuffer;
  const n = bytes.byteLength / DTYPE_BYTES[dtype]!;
  switch (dtype) {
    case 'F32': return new Float32Array(buf, 0, n);
    case 'F64': return new Float64Array(buf, 0, n);
    case 'I32': return new Int32Array(buf, 0, n);
    case 'I16': return new Int16Array(buf, 0, n);
    case 'I8': return new Int8Array(buf, 0, n);
    case 'U8': case 'BOOL': return bytes;
    case 'F16': return halfToFloat(new Uint16Array(buf, 0, n));
    case 'BF16': {
      // bfloat16 is the top half of a float32
      const bits = new Uint16Array(buf, 0, n);
      const out = new Uint32Array(n);
      for (let i = 0; i < n; i++) out[i] = bits[i]! << 16;
      return new Float32Array(out.buffer);
    }
    case 'I64': {
      const wide = new BigInt64Array(buf, 0, n);
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = wide[i]!;
        if (v > 2147483647n || v < -2147483648n) throw new Error(`${where}: I64 value ${v} at index ${i} does not fit in int32`);
        out[i] = Number(v);
      }
      return out;
    }
    default: throw new Error(`${where}: unsupported dtype ${dtype}`);
  }
}

/** IEEE 754 binary16 -> float32: sign, 5-bit exponent (bias 15), 10-bit fraction. */
function halfToFloat(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i]!;
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) out[i] = sign * frac * 2 ** -24;                         // zero / subnormal
    else if (exp === 31) out[i] = frac ? NaN : sign * Infinity;
    else out[i] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return out;
}

/** Writes tensors (in map order) and string metadata; atomic (temp file + rename). */
export async function writeSafetensors(path: string, tensors: Map<string, TensorToWrite>, metadata?: Record<string, string>): Promise<void> {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw new Error(`${path}: metadata ${k} is not a string`);
    header['__metadata__'] = metadata;
  }
  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw new Error(`${path}: "__metadata__" cannot be a tensor name`);
    const where = `${path}: tensor ${name}`;
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new Error(`${where}: bad shape ${JSON.stringify(t.shape)}`);
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== count) throw new Error(`${where}: ${t.data.length} values for shape [${t.shape}] (${count})`);
    const bytes = encode(t.data, t.dtype, where);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] };
    blobs.push(bytes);
    offset += bytes.byteLength;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8; // data section starts 8-byte aligned
  if (padded !== json.length) json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length), 0);
  await writeFileAtomic(path, [prefix, json, ...blobs]);
}

function encode(data: ArrayLike<number>, dtype: WritableDtype, where: string): Uint8Array {
  const asBytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  switch (dtype) {
    case 'F32': return asBytes(data instanceof Float32Array ? data : Float32Array.from(data));
    case 'F64': return asBytes(data instanceof Float64Array ? data : Float64Array.from(data));
    case 'I32': return asBytes(checkedInts(data, Int32Array, -2147483648, 2147483647, where));
    case 'I16': return asBytes(checkedInts(data, Int16Array, -32768, 32767, where));
    case 'I8': return asBytes(checkedInts(data, Int8Array, -128, 127, where));
    case 'U8': return asBytes(checkedInts(data, Uint8Array, 0, 255, where));
    case 'BOOL': return Uint8Array.from(data, (v) => (v ? 1 : 0));
    default: throw new Error(`${where}: cannot write dtype ${JSON.stringify(dtype)}`);
  }
}

function checkedInts<A extends Int32Array | Int16Array | Int8Array | Uint8Array>(
  data: ArrayLike<number>, Ctor: { new (n: number): A; name: string }, min: number, max: number, where: string,
): A {
  if (data instanceof Ctor) return data;
  const out = new Ctor(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${where}: value ${v} at index ${i} is not a ${Ctor.name} integer`);
    out[i] = v;
  }
  return out;
}
