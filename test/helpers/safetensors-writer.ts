/**
 * A tiny safetensors writer for tests: builds a file in memory from raw tensor bytes. Dtype strings are
 * written as given (so tests can produce I8, F64, … files), and `dataOffsets` can be overridden to
 * produce inconsistent headers on purpose.
 */
import { f32BitsToF16Bits } from '../../src/util/f16';

export interface TensorSpec {
  name: string;
  dtype: string; // 'F32' | 'F16' | 'BF16' | anything
  shape: number[];
  data: Uint8Array; // little-endian element bytes
  dataOffsets?: [number, number]; // override (default: packed in the order given)
}

/** Serialize tensors (and optional __metadata__) into safetensors bytes. Header is padded to 8 bytes. */
export function writeSafetensors(tensors: TensorSpec[], metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const offsets = t.dataOffsets ?? [offset, offset + t.data.length];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: offsets };
    offset += t.data.length;
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8 !== 0) json += ' ';
  const jsonBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + jsonBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(jsonBytes.length), true);
  out.set(jsonBytes, 8);
  let pos = 8 + jsonBytes.length;
  for (const t of tensors) {
    out.set(t.data, pos);
    pos += t.data.length;
  }
  return out;
}

/** Bytes of a Float32Array / Uint16Array view (copied). */
export function bytesOf(view: Float32Array | Uint16Array | Uint8Array | Float64Array | Int8Array): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice();
}

/** Deterministic pseudo-random f32 values in [-scale, scale) (mulberry32). */
export function seededFloats(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

/** Encode f32 values as safetensors element bytes of `dtype` (F16 rounds to nearest even, BF16 truncates). */
export function encodeAs(values: Float32Array, dtype: 'F32' | 'F16' | 'BF16'): Uint8Array {
  if (dtype === 'F32') return bytesOf(values);
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = dtype === 'F16' ? f32BitsToF16Bits(bits[i]) : bits[i] >>> 16;
  return bytesOf(out);
}

/**
 * Tensor specs for every tensor `shapes` names (e.g. expectedTensors(cfg)), seeded values, dtypes cycling
 * through `dtypes` so one file mixes F32, F16 and BF16.
 */
export function checkpointTensors(
  shapes: ReadonlyMap<string, readonly number[]>,
  seed: number,
  dtypes: ('F32' | 'F16' | 'BF16')[] = ['F32', 'F16', 'BF16'],
): TensorSpec[] {
  let i = 0;
  const specs: TensorSpec[] = [];
  for (const [name, shape] of shapes) {
    const n = shape.reduce((a, d) => a * d, 1);
    const dtype = dtypes[i % dtypes.length];
    specs.push({ name, dtype, shape: [...shape], data: encodeAs(seededFloats(n, seed + i, 0.5), dtype) });
    i++;
  }
  return specs;
}
