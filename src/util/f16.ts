/**
 * IEEE 754 binary16 (f16) and bfloat16 (bf16) conversions, bit-exact and dependency-free.
 * f32 → f16 rounds to nearest, ties to even, produces subnormals, overflows to ±Inf and keeps NaN a
 * (quiet) NaN of the same sign. bf16 → f16 goes through the exact bf16 → f32 widening, so it rounds once.
 * Array helpers assume host-endian typed arrays (little-endian on every WebGPU platform).
 */

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** f16 bits of the f32 whose raw bit pattern is `bits` (u32), rounded to nearest even. */
export function f32BitsToF16Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13);
  const e = exp - 127 + 15; // biased f16 exponent
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal (2^-25): rounds to ±0
    const full = mant | 0x800000; // value = full · 2^(exp-150); subnormal unit is 2^-24
    const shift = 14 - e; // 14..24
    const half = 1 << (shift - 1);
    const rem = full & ((1 << shift) - 1);
    let r = full >>> shift;
    if (rem > half || (rem === half && (r & 1) === 1)) r++;
    return sign | r; // r may carry into 0x400: the smallest normal, encoded correctly
  }
  let r = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (r & 1) === 1)) r++; // carry may reach 0x7c00 = Inf
  return sign | r;
}

/** f16 bits of `x` (rounded to f32 first, as a Float32Array store would). */
export function f32ToF16Bits(x: number): number {
  scratchF32[0] = x;
  return f32BitsToF16Bits(scratchU32[0]);
}

/** The exact f32 value of f16 bits `h`. */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

/** The exact f32 value of bf16 bits `b` (bf16 is the top half of an f32). */
export function bf16BitsToF32(b: number): number {
  scratchU32[0] = (b & 0xffff) << 16;
  return scratchF32[0];
}

let f16ToF32Table: Float32Array | null = null;
let bf16ToF16Table: Uint16Array | null = null;

function f16Table(): Float32Array {
  if (!f16ToF32Table) {
    f16ToF32Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16ToF32Table[h] = f16BitsToF32(h);
  }
  return f16ToF32Table;
}

function bf16Table(): Uint16Array {
  if (!bf16ToF16Table) {
    bf16ToF16Table = new Uint16Array(65536);
    for (let b = 0; b < 65536; b++) bf16ToF16Table[b] = f32BitsToF16Bits((b << 16) >>> 0);
  }
  return bf16ToF16Table;
}

function checkLength(src: ArrayLike<number>, dst: ArrayLike<number>): void {
  if (dst.length < src.length) {
    throw new RangeError(`f16 conversion: destination holds ${dst.length} elements, source ${src.length}`);
  }
}

/** f16 bits → f32 values. */
export function f16ToF32Array(src: Uint16Array, dst = new Float32Array(src.length)): Float32Array {
  checkLength(src, dst);
  const table = f16Table();
  for (let i = 0; i < src.length; i++) dst[i] = table[src[i]];
  return dst;
}

/** f32 values → f16 bits, round-to-nearest-even. */
export function f32ToF16Array(src: Float32Array, dst = new Uint16Array(src.length)): Uint16Array {
  checkLength(src, dst);
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) dst[i] = f32BitsToF16Bits(bits[i]);
  return dst;
}

/** bf16 bits → f32 values (exact). */
export function bf16ToF32Array(src: Uint16Array, dst = new Float32Array(src.length)): Float32Array {
  checkLength(src, dst);
  const out = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i] << 16;
  return dst;
}

/** bf16 bits → f16 bits, round-to-nearest-even (one rounding). */
export function bf16ToF16Array(src: Uint16Array, dst = new Uint16Array(src.length)): Uint16Array {
  checkLength(src, dst);
  const table = bf16Table();
  for (let i = 0; i < src.length; i++) dst[i] = table[src[i]];
  return dst;
}
