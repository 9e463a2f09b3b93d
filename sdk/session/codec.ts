// Values on the wire: JSON for structure, separate binary frames for bulk data. A marker object
// {"$orz": kind, "buffer": i, ...} in the JSON stands for buffer i:
//
//   rollouts  a RolloutBatch as an Arrow IPC stream      metrics  a MetricsLog as an Arrow IPC stream
//   table     any Arrow table as an IPC stream           tensor   raw typed-array bytes + {dtype, shape}
//   ragged    Float32Array[] (per-sample token values) as one float32 buffer + lengths
//
// Decoding only builds data (tables, typed arrays, plain objects): nothing received is ever evaluated as code.
// Every marker is checked (buffer index, dtype, byte length = shape product), and errors name where in the
// value the problem is, e.g. `argument "batch": ...`.

import * as arrow from 'apache-arrow';
import { RolloutBatch } from '../rollout/rollout-batch.ts';
import { MetricsLog, type MetricsRow } from '../ppo/metrics-log.ts';

export const DTYPES = {
  float32: Float32Array, float64: Float64Array, int32: Int32Array, uint32: Uint32Array,
  int16: Int16Array, uint16: Uint16Array, int8: Int8Array, uint8: Uint8Array,
} as const;
export type Dtype = keyof typeof DTYPES;
export type TypedArray = InstanceType<(typeof DTYPES)[Dtype]>;

/** A tensor in host memory: what a weight or an activation looks like off the session. */
export class HostTensor {
  constructor(readonly data: TypedArray, readonly shape: number[], readonly dtype: Dtype) {
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== data.length) throw new Error(`HostTensor: shape [${shape}] holds ${n} values, data has ${data.length}`);
  }
}

const MARK = '$orz';
const MAX_DEPTH = 64;

export class CodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CodecError';
  }
}

function dtypeOf(a: ArrayBufferView): Dtype | null {
  for (const [name, C] of Object.entries(DTYPES)) if (a instanceof C) return name as Dtype;
  return null;
}

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** JSON-ready structure plus the binary frames it refers to. */
export function encodeValue(value: unknown): { json: unknown; buffers: Uint8Array[] } {
  const buffers: Uint8Array[] = [];
  const put = (b: Uint8Array) => buffers.push(b) - 1;
  const walk = (v: unknown, path: string, depth: number): unknown => {
    if (depth > MAX_DEPTH) throw new CodecError(`${path}: nested deeper than ${MAX_DEPTH} levels`);
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
    if (typeof v === 'number') return Number.isFinite(v) ? v : null;
    if (v === undefined) return undefined;
    if (typeof v !== 'object') throw new CodecError(`${path}: a ${typeof v} cannot be sent to or from a session`);
    if (v instanceof RolloutBatch) return { [MARK]: 'rollouts', buffer: put(arrow.tableToIPC(v.table, 'stream')) };
    if (v instanceof MetricsLog) return { [MARK]: 'metrics', buffer: put(arrow.tableToIPC(v.toTable(), 'stream')) };
    if (v instanceof arrow.Table) return { [MARK]: 'table', buffer: put(arrow.tableToIPC(v, 'stream')) };
    if (v instanceof HostTensor) return { [MARK]: 'tensor', buffer: put(bytesOf(v.data)), dtype: v.dtype, shape: v.shape };
    if (ArrayBuffer.isView(v)) {
      const dtype = dtypeOf(v);
      if (!dtype) throw new CodecError(`${path}: unsupported typed array ${v.constructor.name}`);
      return { [MARK]: 'tensor', buffer: put(bytesOf(v)), dtype, shape: [(v as TypedArray).length], bare: true };
    }
    if (Array.isArray(v)) {
      if (v.length > 0 && v.every((x) => x instanceof Float32Array)) {
        const lengths = (v as Float32Array[]).map((x) => x.length);
        const flat = new Float32Array(lengths.reduce((a, b) => a + b, 0));
        let o = 0;
        for (const x of v as Float32Array[]) { flat.set(x, o); o += x.length; }
        return { [MARK]: 'ragged', buffer: put(bytesOf(flat)), lengths };
      }
      return v.map((x, i) => walk(x, `${path}[${i}]`, depth + 1) ?? null);
    }
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) throw new CodecError(`${path}: a ${proto?.constructor?.name ?? 'class instance'} cannot be sent to or from a session`);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === MARK) throw new CodecError(`${path}: the key "${MARK}" is reserved by the session protocol`);
      const e = walk(x, `${path}.${k}`, depth + 1);
      if (e !== undefined) out[k] = e;
    }
    return out;
  };
  return { json: walk(value, 'value', 0), buffers };
}

function ipcTable(buf: Uint8Array, where: string): arrow.Table {
  try {
    return arrow.tableFromIPC(buf);
  } catch (e) {
    throw new CodecError(`${where}: not an Arrow IPC stream: ${(e as Error).message}`);
  }
}

const toNumber = (v: unknown) => (typeof v === 'bigint' ? Number(v) : v);

/** Arrow rows back into metrics rows; nulls are dropped (an absent metric and a null one read the same). */
export function metricsFromTable(table: arrow.Table): MetricsLog {
  const names = table.schema.fields.map((f) => f.name);
  const rows: MetricsRow[] = [];
  for (let i = 0; i < table.numRows; i++) {
    const row: MetricsRow = {};
    for (const n of names) {
      const v = toNumber(table.getChild(n)!.get(i));
      if (v !== null && v !== undefined) row[n] = v as number | string;
    }
    rows.push(row);
  }
  return new MetricsLog(rows);
}

/** An aligned copy: zeromq frames may start at any byte offset, typed arrays may not. */
function aligned(buf: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(buf.byteLength); // (Buffer#slice would be a view into a shared pool, not a copy)
  copy.set(buf);
  return copy.buffer;
}

export function decodeValue(json: unknown, buffers: readonly Uint8Array[], where = 'value'): unknown {
  const buffer = (m: Record<string, unknown>, path: string): Uint8Array => {
    const i = m['buffer'];
    if (!Number.isInteger(i) || (i as number) < 0 || (i as number) >= buffers.length) {
      throw new CodecError(`${path}: buffer index ${JSON.stringify(i)} does not name one of the ${buffers.length} binary frames`);
    }
    return buffers[i as number]!;
  };
  const walk = (v: unknown, path: string, depth: number): unknown => {
    if (depth > MAX_DEPTH) throw new CodecError(`${path}: nested deeper than ${MAX_DEPTH} levels`);
    if (v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${path}[${i}]`, depth + 1));
    const o = v as Record<string, unknown>;
    if (!(MARK in o)) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(o)) out[k] = walk(x, `${path}.${k}`, depth + 1);
      return out;
    }
    switch (o[MARK]) {
      case 'rollouts':
        try {
          return RolloutBatch.fromTable(ipcTable(buffer(o, path), path));
        } catch (e) {
          throw e instanceof CodecError ? e : new CodecError(`${path}: ${(e as Error).message}`);
        }
      case 'metrics': return metricsFromTable(ipcTable(buffer(o, path), path));
      case 'table': return ipcTable(buffer(o, path), path);
      case 'tensor': {
        const dtype = o['dtype'];
        if (typeof dtype !== 'string' || !(dtype in DTYPES)) throw new CodecError(`${path}: dtype ${JSON.stringify(dtype)} is not one of ${Object.keys(DTYPES).join(', ')}`);
        const shape = o['shape'];
        if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw new CodecError(`${path}: shape must be an array of non-negative integers`);
        const C = DTYPES[dtype as Dtype];
        const bytes = buffer(o, path);
        const n = (shape as number[]).reduce((a, b) => a * b, 1);
        if (n * C.BYTES_PER_ELEMENT !== bytes.byteLength) throw new CodecError(`${path}: shape [${shape}] of ${dtype} needs ${n * C.BYTES_PER_ELEMENT} bytes, the frame has ${bytes.byteLength}`);
        const data = new C(aligned(bytes));
        return o['bare'] === true ? data : new HostTensor(data, shape as number[], dtype as Dtype);
      }
      case 'ragged': {
        const lengths = o['lengths'];
        if (!Array.isArray(lengths) || !lengths.every((d) => Number.isInteger(d) && d >= 0)) throw new CodecError(`${path}: lengths must be an array of non-negative integers`);
        const bytes = buffer(o, path);
        const total = (lengths as number[]).reduce((a, b) => a + b, 0);
        if (total * 4 !== bytes.byteLength) throw new CodecError(`${path}: lengths sum to ${total} float32 values, the frame has ${bytes.byteLength} bytes`);
        const flat = new Float32Array(aligned(bytes));
        let off = 0;
        return (lengths as number[]).map((n) => flat.slice(off, (off += n)));
      }
      default:
        throw new CodecError(`${path}: unknown value kind ${JSON.stringify(o[MARK])}`);
    }
  };
  return walk(json, where, 0);
}
