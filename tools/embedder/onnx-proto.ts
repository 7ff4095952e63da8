/**
 * A minimal ONNX protobuf writer (the subset the test embedder needs): ModelProto with one graph,
 * nodes with int / ints attributes, f32 and i64 initializers as raw_data, tensor value infos with
 * symbolic or fixed dims. Field numbers follow onnx/onnx.proto3 (ONNX 1.x, IR version 8).
 */

/** Protobuf wire format: varints, length-delimited fields; nothing else is needed here. */
class ProtoWriter {
  private readonly parts: number[] = [];

  varint(value: number | bigint): this {
    let v = BigInt.asUintN(64, BigInt(value));
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      this.parts.push(byte);
    } while (v !== 0n);
    return this;
  }

  /** A varint field (wire type 0). */
  int(field: number, value: number | bigint): this {
    return this.varint((field << 3) | 0).varint(value);
  }

  /** A length-delimited field (wire type 2). */
  bytes(field: number, data: Uint8Array): this {
    this.varint((field << 3) | 2).varint(data.length);
    for (const b of data) this.parts.push(b);
    return this;
  }

  string(field: number, text: string): this {
    return this.bytes(field, new TextEncoder().encode(text));
  }

  message(field: number, inner: ProtoWriter): this {
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export const onnxFloat = 1;
export const onnxInt64 = 7;

export interface TensorInit {
  name: string;
  dims: number[];
  dataType: typeof onnxFloat | typeof onnxInt64;
  data: Float32Array | BigInt64Array;
}

export interface NodeSpec {
  opType: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  /** Integer attributes; arrays become INTS. */
  attrs?: Record<string, number | number[]>;
}

export interface ValueSpec {
  name: string;
  elemType: typeof onnxFloat | typeof onnxInt64;
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

function tensorProto(t: TensorInit): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.dataType);
  w.string(8, t.name);
  // raw_data is little-endian; typed arrays are little-endian on every platform JS runs on.
  w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return w;
}

function attributeProto(name: string, value: number | number[]): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  if (Array.isArray(value)) {
    for (const v of value) w.int(8, v);
    return w.int(20, 7); // AttributeType.INTS
  }
  return w.int(3, value).int(20, 2); // AttributeType.INT
}

function nodeProto(n: NodeSpec): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name) w.string(3, n.name);
  w.string(4, n.opType);
  for (const [key, value] of Object.entries(n.attrs ?? {})) w.message(5, attributeProto(key, value));
  return w;
}

function valueInfoProto(v: ValueSpec): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.dims) {
    shape.message(1, typeof d === 'number' ? new ProtoWriter().int(1, d) : new ProtoWriter().string(2, d));
  }
  const tensorType = new ProtoWriter().int(1, v.elemType).message(2, shape);
  return new ProtoWriter().string(1, v.name).message(2, new ProtoWriter().message(1, tensorType));
}

/** Serializes a ModelProto (IR version 8, default-domain opset `opset`). */
export function writeOnnxModel(graph: GraphSpec, opset = 17): Uint8Array {
  const g = new ProtoWriter();
  for (const n of graph.nodes) g.message(1, nodeProto(n));
  g.string(2, graph.name);
  for (const t of graph.initializers) g.message(5, tensorProto(t));
  for (const v of graph.inputs) g.message(11, valueInfoProto(v));
  for (const v of graph.outputs) g.message(12, valueInfoProto(v));
  const model = new ProtoWriter()
    .int(1, 8)
    .string(2, 'memory3-web tools/embedder')
    .string(3, '1')
    .message(7, g)
    .message(8, new ProtoWriter().string(1, '').int(2, opset));
  return model.finish();
}
