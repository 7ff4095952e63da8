/**
 * Element-wise vector codecs over rows of `dim` f32 values: f32, f16, and symmetric absmax int8/int4
 * with one scale per vector. Byte layouts (little-endian, every vector self-contained, no alignment
 * assumed so blocks may start at any byte offset):
 *   f32  : dim × f32                                   4·dim bytes (host-endian copy; WebGPU hosts are LE)
 *   f16  : dim × f16 bits                              2·dim bytes, round to nearest even (|x| ≥ 65520 throws)
 *   int8 : scale f16 | dim × i8, q ∈ [−127, 127]       2 + dim bytes
 *   int4 : scale f16 | ⌈dim/2⌉ bytes of nibbles        2 + ⌈dim/2⌉ bytes; element 2i in the low nibble,
 *          2i+1 in the high one, nibble = q + 8 with q ∈ [−7, 7]; an odd dim pads the last high nibble with 8.
 * The scale is stored as f16 (2 bytes, counted above) and rounded *up* so that scale·qmax ≥ absmax:
 * no element clips, and decode(x) = q·scale with |x − decode(x)| ≤ scale/2 for the stored scale.
 */
import { f16BitsToF32, f16ToF32Array, f32ToF16Array, f32ToF16Bits } from '../../util/f16';
import { MemoryCodecError } from '../../util/errors';

export type ScalarCodec = 'f32' | 'f16' | 'int8' | 'int4';

/** Bytes of the per-vector scale of int8/int4 (an f16). */
export const scaleBytes = 2;
/** Largest |q| of each integer codec. */
export const qMax = { int8: 127, int4: 7 } as const;

let lut: Float32Array | null = null;
/** f16 bits → f32 value, all 65536 patterns. */
function f16Lut(): Float32Array {
  if (!lut) lut = f16ToF32Array(Uint16Array.from({ length: 65536 }, (_, i) => i));
  return lut;
}

export function scalarBytesPerVector(codec: ScalarCodec, dim: number): number {
  switch (codec) {
    case 'f32':
      return 4 * dim;
    case 'f16':
      return 2 * dim;
    case 'int8':
      return scaleBytes + dim;
    case 'int4':
      return scaleBytes + Math.ceil(dim / 2);
  }
}

/** f16 bits of the smallest f16 scale s with s·levels ≥ absmax (0 for an all-zero vector). */
export function scaleBitsFor(absmax: number, levels: number): number {
  let h = f32ToF16Bits(absmax / levels);
  if (f16BitsToF32(h) * levels < absmax) h++; // next f16 up (positive values: bits are monotone)
  if (h >= 0x7c00) {
    throw new MemoryCodecError(`int scale: absmax ${absmax} needs a scale above the f16 range (${levels} levels)`, { absmax, levels });
  }
  return h;
}

/** The stored (f16-rounded) scale of vector `v` in an int8/int4 block. */
export function storedScale(bytes: Uint8Array, offset: number): number {
  return f16Lut()[bytes[offset] | (bytes[offset + 1] << 8)];
}

function absMax(src: Float32Array, o: number, dim: number): number {
  let m = 0;
  for (let j = 0; j < dim; j++) {
    const a = Math.abs(src[o + j]);
    if (a > m) m = a;
  }
  return m;
}

function quantize(x: number, inv: number, levels: number): number {
  const q = Math.round(x * inv);
  return q > levels ? levels : Math.max(q, -levels);
}

/** Encodes `count` vectors of `src` into `dst` starting at byte `at`. Inputs are already validated finite. */
export function encodeScalar(codec: ScalarCodec, src: Float32Array, dim: number, count: number, dst: Uint8Array, at: number): void {
  const n = count * dim;
  if (codec === 'f32') {
    dst.set(new Uint8Array(src.buffer, src.byteOffset, n * 4), at);
  } else if (codec === 'f16') {
    const bits = f32ToF16Array(src.subarray(0, n));
    for (let i = 0; i < n; i++) {
      if ((bits[i] & 0x7c00) === 0x7c00) {
        throw new MemoryCodecError(`f16 encode: element ${i} = ${src[i]} is outside the f16 range (|x| < 65520)`, {
          element: i,
          value: src[i],
        });
      }
      dst[at + 2 * i] = bits[i] & 0xff;
      dst[at + 2 * i + 1] = bits[i] >>> 8;
    }
  } else {
    const levels = qMax[codec];
    const bpv = scalarBytesPerVector(codec, dim);
    for (let v = 0; v < count; v++) {
      const o = at + v * bpv,
        s = v * dim;
      const h = scaleBitsFor(absMax(src, s, dim), levels);
      dst[o] = h & 0xff;
      dst[o + 1] = h >>> 8;
      const scale = f16BitsToF32(h);
      const inv = scale === 0 ? 0 : 1 / scale;
      if (codec === 'int8') {
        for (let j = 0; j < dim; j++) dst[o + 2 + j] = quantize(src[s + j], inv, levels) & 0xff;
      } else {
        for (let j = 0; j < dim; j += 2) {
          const lo = quantize(src[s + j], inv, levels) + 8;
          const hi = j + 1 < dim ? quantize(src[s + j + 1], inv, levels) + 8 : 8;
          dst[o + 2 + (j >> 1)] = lo | (hi << 4);
        }
      }
    }
  }
}

/** Decodes `count` vectors from `src` (starting at byte `at`) into `out[0 .. count·dim)`. No allocation per vector. */
export function decodeScalar(codec: ScalarCodec, src: Uint8Array, at: number, dim: number, count: number, out: Float32Array): void {
  const n = count * dim;
  if (codec === 'f32') {
    new Uint8Array(out.buffer, out.byteOffset, n * 4).set(src.subarray(at, at + n * 4));
    return;
  }
  const table = f16Lut();
  if (codec === 'f16') {
    for (let i = 0, o = at; i < n; i++, o += 2) out[i] = table[src[o] | (src[o + 1] << 8)];
  } else if (codec === 'int8') {
    const bpv = scaleBytes + dim;
    for (let v = 0, o = at, w = 0; v < count; v++, o += bpv) {
      const scale = table[src[o] | (src[o + 1] << 8)];
      for (let j = 0; j < dim; j++) out[w++] = ((src[o + 2 + j] << 24) >> 24) * scale;
    }
  } else {
    const bpv = scaleBytes + Math.ceil(dim / 2);
    const pairs = dim >> 1;
    for (let v = 0, o = at, w = 0; v < count; v++, o += bpv) {
      const scale = table[src[o] | (src[o + 1] << 8)];
      for (let p = 0; p < pairs; p++) {
        const b = src[o + 2 + p];
        out[w++] = ((b & 15) - 8) * scale;
        out[w++] = ((b >>> 4) - 8) * scale;
      }
      if (dim & 1) out[w++] = ((src[o + 2 + pairs] & 15) - 8) * scale;
    }
  }
}
