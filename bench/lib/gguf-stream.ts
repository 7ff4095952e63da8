/**
 * Streaming GGUF v3 header writer for the bench model: the same byte layout as
 * tools/fixtures/gguf.ts `ggufBytes` (LE, 32-byte alignment, F32 tensors), but the header is built
 * alone so tensor data can be appended one tensor at a time (a 540 MB model never sits in memory).
 */
import type { GgufValue } from '../../tools/fixtures/gguf';

export const ggufAlignment = 32;
const ggufMagic = 0x46554747; // "GGUF" read as a little-endian u32
const typeF32 = 0; // ggml_type GGML_TYPE_F32

enum ValueType { Uint32 = 4, Int32 = 5, Float32 = 6, Bool = 7, String = 8, Array = 9 }

export interface GgufTensorInfo {
  name: string; // llama.cpp name, e.g. blk.0.attn_q.weight
  dims: number[]; // GGUF order: dims[0] is the innermost (contiguous) axis
  elements: number;
}

/** Little-endian byte list grown in 64 KiB pages (headers are a few MB at most). */
class HeaderSink {
  private parts: Uint8Array[] = [];
  private page = new Uint8Array(1 << 16);
  private view = new DataView(this.page.buffer);
  private at = 0;
  length = 0;

  private room(n: number): void {
    if (this.at + n <= this.page.length) return;
    this.parts.push(this.page.subarray(0, this.at));
    this.page = new Uint8Array(Math.max(1 << 16, n));
    this.view = new DataView(this.page.buffer);
    this.at = 0;
  }
  private moved(n: number): void { this.at += n; this.length += n; }
  u8(v: number): void { this.room(1); this.view.setUint8(this.at, v); this.moved(1); }
  u32(v: number): void { this.room(4); this.view.setUint32(this.at, v, true); this.moved(4); }
  i32(v: number): void { this.room(4); this.view.setInt32(this.at, v, true); this.moved(4); }
  f32(v: number): void { this.room(4); this.view.setFloat32(this.at, v, true); this.moved(4); }
  u64(v: number): void { this.room(8); this.view.setBigUint64(this.at, BigInt(v), true); this.moved(8); }
  bytes(b: Uint8Array): void { this.room(b.length); this.page.set(b, this.at); this.moved(b.length); }
  str(s: string): void { const b = new TextEncoder().encode(s); this.u64(b.length); this.bytes(b); }
  pad(to: number): void { while (this.length % to !== 0) this.u8(0); }
  result(): Uint8Array {
    const out = new Uint8Array(this.length);
    let pos = 0;
    for (const p of [...this.parts, this.page.subarray(0, this.at)]) { out.set(p, pos); pos += p.length; }
    return out;
  }
}

function writeValue(sink: HeaderSink, value: GgufValue): void {
  if ('u32' in value) { sink.u32(ValueType.Uint32); sink.u32(value.u32); }
  else if ('i32' in value) { sink.u32(ValueType.Int32); sink.i32(value.i32); }
  else if ('f32' in value) { sink.u32(ValueType.Float32); sink.f32(value.f32); }
  else if ('bool' in value) { sink.u32(ValueType.Bool); sink.u8(value.bool ? 1 : 0); }
  else if ('str' in value) { sink.u32(ValueType.String); sink.str(value.str); }
  else if ('strings' in value) {
    sink.u32(ValueType.Array); sink.u32(ValueType.String); sink.u64(value.strings.length);
    for (const s of value.strings) sink.str(s);
  } else {
    sink.u32(ValueType.Array); sink.u32(ValueType.Int32); sink.u64(value.i32s.length);
    for (const v of value.i32s) sink.i32(v);
  }
}

/** Bytes a tensor's data takes in the file, padding included. */
export function ggufPaddedBytes(elements: number): number {
  return Math.ceil((elements * 4) / ggufAlignment) * ggufAlignment;
}

/**
 * Header, metadata, tensor infos and the padding before the data section. Each tensor's data then
 * follows in the given order, padded to 32 bytes (ggufPaddedBytes).
 */
export function ggufHeader(metadata: [string, GgufValue][], tensors: GgufTensorInfo[]): Uint8Array {
  const sink = new HeaderSink();
  sink.u32(ggufMagic);
  sink.u32(3);
  sink.u64(tensors.length);
  sink.u64(metadata.length);
  for (const [key, value] of metadata) { sink.str(key); writeValue(sink, value); }
  let offset = 0;
  for (const t of tensors) {
    sink.str(t.name);
    sink.u32(t.dims.length);
    for (const d of t.dims) sink.u64(d);
    sink.u32(typeF32);
    sink.u64(offset);
    offset += ggufPaddedBytes(t.elements);
  }
  sink.pad(ggufAlignment);
  return sink.result();
}
