/**
 * A minimal ONNX protobuf writer: ModelProto with one GraphProto, NodeProto with int / ints / float /
 * string attributes, TensorProto initializers as raw_data (f32, i32, i64), ValueInfoProto with fixed
 * or symbolic dims, and any number of opset imports (e.g. com.microsoft for contrib ops). Field
 * numbers follow onnx/onnx.proto3.
 *
 * A message is a tree of byte pieces whose sizes are known before any large tensor is read: an
 * initializer's raw_data may be a `LazyBytes` that is produced only while the model is written, so
 * a model of hundreds of MB streams to a file one tensor at a time (`writeTo` with a file sink).
 */

/** Bytes produced on demand, of a length known up front. */
export interface LazyBytes {
  byteLength: number;
  read(): Uint8Array;
}

type Piece = Uint8Array | ProtoMessage | LazyBytes;

function varintBytes(value: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return out;
}

/** One protobuf message under construction (wire types 0, 2 and 5 only: all ONNX needs). */
export class ProtoMessage {
  private readonly pieces: Piece[] = [];
  private pending: number[] = [];
  private size = 0;

  private push(bytes: number[]): void {
    for (const b of bytes) this.pending.push(b);
    this.size += bytes.length;
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    this.pieces.push(Uint8Array.from(this.pending));
    this.pending = [];
  }

  /** A varint field (wire type 0). */
  int(field: number, value: number | bigint): this {
    this.push([...varintBytes((field << 3) | 0), ...varintBytes(value)]);
    return this;
  }

  /** A 32-bit float field (wire type 5). */
  float(field: number, value: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push([...varintBytes((field << 3) | 5), ...b]);
    return this;
  }

  /** A length-delimited field (wire type 2) holding `data` (copied now, or produced while writing). */
  bytes(field: number, data: Uint8Array | LazyBytes): this {
    this.push([...varintBytes((field << 3) | 2), ...varintBytes(data.byteLength)]);
    this.flush();
    this.pieces.push(data instanceof Uint8Array ? data.slice() : data);
    this.size += data.byteLength;
    return this;
  }

  string(field: number, text: string): this {
    return this.bytes(field, new TextEncoder().encode(text));
  }

  message(field: number, inner: ProtoMessage): this {
    this.push([...varintBytes((field << 3) | 2), ...varintBytes(inner.byteLength)]);
    this.flush();
    this.pieces.push(inner);
    this.size += inner.byteLength;
    return this;
  }

  get byteLength(): number {
    return this.size;
  }

  /** Writes the encoded message to `sink` piece by piece (lazy pieces are read here, once). */
  writeTo(sink: (chunk: Uint8Array) => void): void {
    this.flush();
    for (const p of this.pieces) {
      if (p instanceof ProtoMessage) p.writeTo(sink);
      else if (p instanceof Uint8Array) sink(p);
      else {
        const bytes = p.read();
        if (bytes.byteLength !== p.byteLength) throw new Error(`onnx writer: lazy bytes of ${p.byteLength} produced ${bytes.byteLength}`);
        sink(bytes);
      }
    }
  }

  /** The whole encoded message in one array. */
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.byteLength);
    let at = 0;
    this.writeTo((chunk) => {
      out.set(chunk, at);
      at += chunk.byteLength;
    });
    return out;
  }
}

/** TensorProto.DataType values used here. */
export const onnxFloat = 1;
export const onnxInt32 = 6;
export const onnxInt64 = 7;
export type OnnxDataType = typeof onnxFloat | typeof onnxInt32 | typeof onnxInt64;

export interface TensorInit {
  name: string;
  dims: number[];
  dataType: OnnxDataType;
  /** Little-endian element data, or bytes produced while the model is written. */
  data: Float32Array | Int32Array | BigInt64Array | LazyBytes;
}

/** An attribute: a number is INT, an array INTS, `{ float }` FLOAT, a string STRING. */
export type AttrValue = number | number[] | { float: number } | string;

export interface NodeSpec {
  opType: string;
  inputs: string[]; // '' for an omitted optional input
  outputs: string[]; // '' for an omitted optional output
  name?: string;
  domain?: string; // '' (default ONNX domain) unless e.g. 'com.microsoft'
  attrs?: Record<string, AttrValue>;
}

export interface ValueSpec {
  name: string;
  elemType: OnnxDataType;
  /** A number is a fixed size, a string a symbolic dim (dim_param). */
  dims: (number | string)[];
}

export interface GraphSpec {
  name: string;
  nodes: NodeSpec[];
  initializers: TensorInit[];
  inputs: ValueSpec[];
  outputs: ValueSpec[];
}

export interface ModelSpec {
  graph: GraphSpec;
  opsets: { domain: string; version: number }[]; // '' is the default ONNX domain
  irVersion?: number; // default 8
  producer?: string;
}

function tensorProto(t: TensorInit): ProtoMessage {
  const w = new ProtoMessage();
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.dataType);
  w.string(8, t.name);
  // raw_data is little-endian; typed arrays are little-endian on every platform JS runs on.
  const d = t.data;
  w.bytes(9, ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : d);
  return w;
}

function attributeProto(name: string, value: AttrValue): ProtoMessage {
  const w = new ProtoMessage().string(1, name);
  if (Array.isArray(value)) {
    for (const v of value) w.int(8, v);
    return w.int(20, 7); // AttributeType.INTS
  }
  if (typeof value === 'string') return w.string(4, value).int(20, 3); // STRING
  if (typeof value === 'object') return w.float(2, value.float).int(20, 1); // FLOAT
  return w.int(3, value).int(20, 2); // INT
}

function nodeProto(n: NodeSpec): ProtoMessage {
  const w = new ProtoMessage();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name) w.string(3, n.name);
  w.string(4, n.opType);
  for (const [key, value] of Object.entries(n.attrs ?? {})) w.message(5, attributeProto(key, value));
  if (n.domain) w.string(7, n.domain);
  return w;
}

function valueInfoProto(v: ValueSpec): ProtoMessage {
  const shape = new ProtoMessage();
  for (const d of v.dims) {
    shape.message(1, typeof d === 'number' ? new ProtoMessage().int(1, d) : new ProtoMessage().string(2, d));
  }
  const tensorType = new ProtoMessage().int(1, v.elemType).message(2, shape);
  return new ProtoMessage().string(1, v.name).message(2, new ProtoMessage().message(1, tensorType));
}

/** The ModelProto of `spec`, ready to stream (`writeTo`) or to flatten (`toBytes`). */
export function onnxModel(spec: ModelSpec): ProtoMessage {
  const { graph } = spec;
  const g = new ProtoMessage();
  for (const n of graph.nodes) g.message(1, nodeProto(n));
  g.string(2, graph.name);
  for (const t of graph.initializers) g.message(5, tensorProto(t));
  for (const v of graph.inputs) g.message(11, valueInfoProto(v));
  for (const v of graph.outputs) g.message(12, valueInfoProto(v));
  const model = new ProtoMessage()
    .int(1, spec.irVersion ?? 8)
    .string(2, spec.producer ?? 'memory3-web tools/onnx')
    .string(3, '1')
    .message(7, g);
  for (const o of spec.opsets) model.message(8, new ProtoMessage().string(1, o.domain).int(2, o.version));
  return model;
}
