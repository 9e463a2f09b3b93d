// A tiny protobuf writer for the subset of onnx.proto that single-op graphs need, so no protobuf
// dependency. Field numbers (checked against onnx/onnx.proto):
//   ModelProto      ir_version=1 (varint), graph=7, opset_import=8
//   OperatorSetId   domain=1, version=2
//   GraphProto      node=1, name=2, input=11, output=12
//   NodeProto       input=1, output=2, name=3, op_type=4, attribute=5, domain=7
//   AttributeProto  name=1, f=2 (fixed32), i=3, s=4, ints=8, type=20
//   ValueInfoProto  name=1, type=2;  TypeProto tensor_type=1;  TypeProto.Tensor elem_type=1, shape=2
//   TensorShapeProto dim=1;  Dimension dim_value=1, dim_param=2

/** ONNX TensorProto.DataType values for the dtypes tfjs has. */
export const ELEM = { float: 1, uint8: 2, int32: 6, int64: 7, bool: 9 } as const;
export type ElemType = (typeof ELEM)[keyof typeof ELEM];

const ATTR_TYPE = { float: 1, int: 2, string: 3, ints: 7 } as const;

export type AttrValue = number | string | number[] | { float: number };

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  /** Integers are written as INT, `{ float: x }` as FLOAT, arrays as INTS, strings as STRING. */
  attrs?: Record<string, AttrValue>;
  domain?: string;
}

export interface OnnxValue {
  name: string;
  elem: ElemType;
  /** A number is a fixed dim, a string a symbolic one (one session serves every size). */
  dims: (number | string)[];
}

export interface OnnxGraph {
  nodes: OnnxNode[];
  inputs: OnnxValue[];
  outputs: OnnxValue[];
  opset?: number;
}

// Wire types: 0 = varint, 2 = length-delimited, 5 = 32-bit.
class Writer {
  private bytes: number[] = [];

  private varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v)); // negatives are 10-byte two's complement, as protobuf says
    while (x >= 0x80n) {
      this.bytes.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.bytes.push(Number(x));
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, v: number): this {
    this.tag(field, 0);
    this.varint(v);
    return this;
  }

  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.bytes.push(...b);
    return this;
  }

  bytesField(field: number, data: Uint8Array): this {
    this.tag(field, 2);
    this.varint(data.length);
    for (const b of data) this.bytes.push(b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytesField(field, new TextEncoder().encode(s));
  }

  message(field: number, m: Writer): this {
    return this.bytesField(field, m.finish());
  }

  /** Packed repeated int64 (proto3 default for repeated scalars; both forms must be accepted by parsers). */
  packedInts(field: number, values: number[]): this {
    const inner = new Writer();
    for (const v of values) inner.varint(v);
    return this.bytesField(field, inner.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

function attribute(name: string, value: AttrValue): Writer {
  const w = new Writer().string(1, name);
  if (typeof value === 'string') return w.string(4, value).int(20, ATTR_TYPE.string);
  if (Array.isArray(value)) return w.packedInts(8, value).int(20, ATTR_TYPE.ints);
  if (typeof value === 'object') return w.float(2, value.float).int(20, ATTR_TYPE.float);
  if (!Number.isInteger(value)) throw new Error(`onnx/proto: attribute ${name}=${value} is not an integer (wrap floats as { float: x })`);
  return w.int(3, value).int(20, ATTR_TYPE.int);
}

function node(n: OnnxNode, index: number): Writer {
  const w = new Writer();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, `n${index}_${n.op}`).string(4, n.op);
  for (const [k, v] of Object.entries(n.attrs ?? {})) w.message(5, attribute(k, v));
  if (n.domain) w.string(7, n.domain);
  return w;
}

function valueInfo(v: OnnxValue): Writer {
  const shape = new Writer();
  for (const d of v.dims) shape.message(1, typeof d === 'number' ? new Writer().int(1, d) : new Writer().string(2, d));
  const tensor = new Writer().int(1, v.elem).message(2, shape);
  return new Writer().string(1, v.name).message(2, new Writer().message(1, tensor));
}

/** Serialized ModelProto bytes for `g` (IR version 8, default-domain opset `g.opset` or 17). */
export function encodeModel(g: OnnxGraph, name = 'orz'): Uint8Array {
  const graph = new Writer();
  g.nodes.forEach((n, i) => graph.message(1, node(n, i)));
  graph.string(2, name);
  for (const v of g.inputs) graph.message(11, valueInfo(v));
  for (const v of g.outputs) graph.message(12, valueInfo(v));
  const opset = new Writer().string(1, '').int(2, g.opset ?? 17);
  return new Writer().int(1, 8).message(7, graph).message(8, opset).finish();
}
