import { describe, expect, it } from 'vitest';
import {
  bf16BitsToF32,
  bf16ToF16Array,
  bf16ToF32Array,
  f16BitsToF32,
  f16ToF32Array,
  f32BitsToF16Bits,
  f32ToF16Array,
  f32ToF16Bits,
} from '../../src/util/f16';

/** Every finite non-negative f16 value, by bit pattern 0..0x7bff, from the IEEE formula in float64. */
const f16Values: number[] = [];
for (let h = 0; h <= 0x7bff; h++) {
  const exp = h >> 10;
  const mant = h & 0x3ff;
  f16Values.push(exp === 0 ? mant * 2 ** -24 : (1 + mant / 1024) * 2 ** (exp - 15));
}

/** Reference f16 rounding: nearest representable value, ties to the even bit pattern, ≥ 65520 → Inf. */
function refF16Bits(x: number): number {
  if (Number.isNaN(x)) return -1;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return sign | 0x7c00;
  let lo = 0;
  let hi = f16Values.length - 1;
  while (lo < hi) {
    // largest index with value ≤ a
    const mid = (lo + hi + 1) >> 1;
    if (f16Values[mid] <= a) lo = mid;
    else hi = mid - 1;
  }
  if (lo === f16Values.length - 1) return sign | lo;
  const dLo = a - f16Values[lo];
  const dHi = f16Values[lo + 1] - a;
  if (dLo < dHi) return sign | lo;
  if (dHi < dLo) return sign | (lo + 1);
  return sign | (lo % 2 === 0 ? lo : lo + 1);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function f32FromBits(bits: number): number {
  u32[0] = bits;
  return f32[0];
}
function f32Bits(x: number): number {
  f32[0] = x;
  return u32[0];
}

describe('f16 bits → f32', () => {
  it('matches the IEEE formula for all 65536 patterns and round-trips every non-NaN exactly', () => {
    let nans = 0;
    for (let h = 0; h < 65536; h++) {
      const v = f16BitsToF32(h);
      const exp = (h >> 10) & 0x1f;
      const mant = h & 0x3ff;
      if (exp === 0x1f && mant !== 0) {
        expect(Number.isNaN(v)).toBe(true);
        expect(Number.isNaN(f16BitsToF32(f32ToF16Bits(v)))).toBe(true);
        nans++;
        continue;
      }
      const mag = exp === 0x1f ? Infinity : f16Values[h & 0x7fff];
      const ref = h & 0x8000 ? -mag : mag;
      if (!Object.is(v, ref)) expect.fail(`f16 0x${h.toString(16)}: got ${v}, expected ${ref}`);
      if (f32ToF16Bits(v) !== h) expect.fail(`f16 0x${h.toString(16)} round-trips to 0x${f32ToF16Bits(v).toString(16)}`);
    }
    expect(nans).toBe(2 * 1023);
  });

  it('array conversion agrees with the scalar one', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const out = f16ToF32Array(all);
    for (let h = 0; h < 65536; h++) {
      const r = f16BitsToF32(h);
      if (!(Object.is(out[h], Math.fround(r)) || (Number.isNaN(r) && Number.isNaN(out[h])))) expect.fail(`0x${h.toString(16)}`);
    }
  });
});

describe('f32 → f16 rounding', () => {
  it('rounds every midpoint between adjacent f16 values, and its f32 neighbours, like the reference', () => {
    let checked = 0;
    for (let i = 0; i + 1 < f16Values.length; i++) {
      const mid = (f16Values[i] + f16Values[i + 1]) / 2;
      const bits = f32Bits(mid);
      expect(f32FromBits(bits)).toBe(mid); // midpoints are exact in f32
      for (const b of [bits - 1, bits, bits + 1]) {
        for (const s of [0, 0x80000000]) {
          const x = f32FromBits((b | s) >>> 0);
          const got = f32BitsToF16Bits((b | s) >>> 0);
          if (got !== refF16Bits(x)) expect.fail(`x=${x}: got 0x${got.toString(16)}, expected 0x${refF16Bits(x).toString(16)}`);
          checked++;
        }
      }
    }
    expect(checked).toBe(6 * (f16Values.length - 1));
  });

  it('handles the named edge cases', () => {
    const cases: [number, number][] = [
      [0, 0],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff],
      [65519.99, 0x7bff],
      [65520, 0x7c00],
      [1e6, 0x7c00],
      [-1e6, 0xfc00],
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -24, 0x0001],
      [2 ** -25, 0x0000],
      [Math.fround(2 ** -25 * 1.0000001), 0x0001],
      [1.5 * 2 ** -24, 0x0002],
      [2.5 * 2 ** -24, 0x0002],
      [-(2 ** -26), 0x8000],
      [1e-45, 0],
      [2 ** -14, 0x0400],
      [1023.5 * 2 ** -24, 0x0400],
      [1 + 2 ** -11, 0x3c00],
      [1 + 3 * 2 ** -11, 0x3c02],
      [0.1, 0x2e66],
      [-65504, 0xfbff],
    ];
    for (const [x, bits] of cases) expect(f32ToF16Bits(x), `x=${x}`).toBe(bits);
    expect(f32BitsToF16Bits(0xffc00000) & 0xfe00).toBe(0xfe00); // negative quiet NaN keeps its sign
    expect(f32BitsToF16Bits(0x7f800001) & 0x7c00).toBe(0x7c00); // signalling NaN stays NaN, not Inf
    expect(f32BitsToF16Bits(0x7f800001) & 0x3ff).not.toBe(0);
  });

  it('matches the reference on 200k random f32 bit patterns (array path)', () => {
    const n = 200_000;
    const bits = new Uint32Array(n);
    let s = 12345;
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      bits[i] = s;
    }
    const out = f32ToF16Array(new Float32Array(bits.buffer));
    const view = new Float32Array(bits.buffer);
    for (let i = 0; i < n; i++) {
      const x = view[i];
      if (Number.isNaN(x)) {
        if ((out[i] & 0x7c00) !== 0x7c00 || (out[i] & 0x3ff) === 0) expect.fail(`NaN → 0x${out[i].toString(16)}`);
      } else if (out[i] !== refF16Bits(x)) {
        expect.fail(`x=${x}: got 0x${out[i].toString(16)}, expected 0x${refF16Bits(x).toString(16)}`);
      }
    }
  });
});

describe('bf16', () => {
  it('widens all 65536 patterns exactly (IEEE formula) in scalar and array form', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const arr = bf16ToF32Array(all);
    for (let b = 0; b < 65536; b++) {
      const exp = (b >> 7) & 0xff;
      const mant = b & 0x7f;
      const sign = b & 0x8000 ? -1 : 1;
      const ref =
        exp === 0xff ? (mant ? NaN : sign * Infinity) : sign * (exp === 0 ? (mant / 128) * 2 ** -126 : (1 + mant / 128) * 2 ** (exp - 127));
      const got = bf16BitsToF32(b);
      if (!(Object.is(got, ref) || (Number.isNaN(ref) && Number.isNaN(got)))) expect.fail(`bf16 0x${b.toString(16)}: ${got} vs ${ref}`);
      if (!(Object.is(arr[b], got) || Number.isNaN(got))) expect.fail(`array bf16 0x${b.toString(16)}`);
    }
  });

  it('narrows all 65536 patterns to f16 with one round-to-nearest-even', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const out = bf16ToF16Array(all);
    for (let b = 0; b < 65536; b++) {
      const x = bf16BitsToF32(b);
      if (Number.isNaN(x)) {
        expect((out[b] & 0x7c00) === 0x7c00 && (out[b] & 0x3ff) !== 0).toBe(true);
      } else if (out[b] !== refF16Bits(x)) {
        expect.fail(`bf16 0x${b.toString(16)} (${x}): got 0x${out[b].toString(16)}, expected 0x${refF16Bits(x).toString(16)}`);
      }
    }
  });
});
