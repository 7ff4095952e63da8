import { describe, expect, it } from 'vitest';
import { bytesPerVector, decodeVectors, encodeVectors, qMax, relativeError, scaleBytes } from '../../src/memory/codec';
import type { CodecName } from '../../src/memory/types';
import { f16BitsToF32, f32ToF16Bits } from '../../src/util/f16';
import { Prng } from '../../src/util/prng';
import { Gauss } from '../helpers/memory-bank';
import { expectCodecError } from '../helpers/memory-errors';

/** Gaussian rows with a per-row magnitude spread, a zero row and a row with one outlier. */
function rows(dim: number, count: number, seed: number): Float32Array {
  const g = new Gauss(new Prng(seed));
  const v = g.fill(dim * count);
  for (let r = 0; r < count; r++) {
    const m = Math.exp(3 * g.next());
    for (let j = 0; j < dim; j++) v[r * dim + j] *= m;
  }
  v.fill(0, 0, dim);
  if (count > 1) v[dim + (dim >> 1)] = 1000;
  return v;
}

function roundTrip(codec: CodecName, v: Float32Array, dim: number): { bytes: Uint8Array; out: Float32Array } {
  const bytes = encodeVectors(codec, v, dim);
  const out = new Float32Array(v.length).fill(NaN);
  decodeVectors(codec, bytes, dim, v.length / dim, out);
  return { bytes, out };
}

const dims = [1, 2, 7, 80, 129];

describe('scalar codecs', () => {
  it('bytes per vector: f32 4·dim, f16 2·dim, int8 2+dim, int4 2+⌈dim/2⌉, pq = subvectors', () => {
    expect(scaleBytes).toBe(2);
    for (const d of dims) {
      expect(bytesPerVector('f32', d)).toBe(4 * d);
      expect(bytesPerVector('f16', d)).toBe(2 * d);
      expect(bytesPerVector('int8', d)).toBe(2 + d);
      expect(bytesPerVector('int4', d)).toBe(2 + Math.ceil(d / 2));
    }
    expect(bytesPerVector('int4', 80)).toBe(42);
    expect(bytesPerVector('pq', 80)).toBe(16);
    expect(bytesPerVector('pq', 80, 10)).toBe(10);
    expect(bytesPerVector('pq', 64)).toBe(16);
    expect(bytesPerVector('pq', 128)).toBe(32);
  });

  it('f32 is bit-exact, including -0, subnormals and extremes', () => {
    for (const d of dims) {
      const v = rows(d, 9, d);
      v[v.length - 1] = -0;
      if (v.length > 3) {
        v[1] = 1e-45;
        v[2] = -3.4028234663852886e38;
      }
      const { bytes, out } = roundTrip('f32', v, d);
      expect(bytes.length).toBe(4 * v.length);
      expect(Array.from(new Uint32Array(out.buffer))).toEqual(Array.from(new Uint32Array(v.buffer)));
    }
  });

  it('f16 decodes every element to its round-to-nearest-even f16 value', () => {
    for (const d of dims) {
      const v = rows(d, 11, 100 + d);
      if (v.length > 4) {
        v[1] = 1 + 2 ** -11;
        v[2] = 1 + 3 * 2 ** -11;
        v[3] = 3e-8;
        v[4] = 65519;
      } // ties, subnormal, largest value rounding to 65504
      const { bytes, out } = roundTrip('f16', v, d);
      expect(bytes.length).toBe(2 * v.length);
      for (let i = 0; i < v.length; i++) expect(out[i]).toBe(f16BitsToF32(f32ToF16Bits(v[i])));
    }
  });

  for (const codec of ['int8', 'int4'] as const) {
    it(`${codec}: every element within scale/2 of the input; scale ≥ absmax/${qMax[codec]}, rounded up by < one f16 ulp`, () => {
      const levels = qMax[codec];
      for (const d of dims) {
        const count = 13;
        const v = rows(d, count, 200 + d);
        const { bytes, out } = roundTrip(codec, v, d);
        const bpv = bytesPerVector(codec, d);
        expect(bytes.length).toBe(count * bpv);
        for (let r = 0; r < count; r++) {
          const scale = f16BitsToF32(bytes[r * bpv] | (bytes[r * bpv + 1] << 8));
          let absmax = 0;
          for (let j = 0; j < d; j++) absmax = Math.max(absmax, Math.abs(v[r * d + j]));
          expect(scale * levels).toBeGreaterThanOrEqual(absmax);
          expect(scale).toBeLessThanOrEqual((absmax / levels) * (1 + 2 ** -10) + 2 ** -24);
          for (let j = 0; j < d; j++) {
            const err = Math.abs(out[r * d + j] - v[r * d + j]);
            expect(err, `row ${r} elem ${j}`).toBeLessThanOrEqual((scale / 2) * (1 + 1e-6));
          }
        }
        for (let j = 0; j < d; j++) expect(out[j]).toBe(0); // the zero row
      }
    });
  }

  it('int8/int4 use the full code range: the absmax element decodes to ±qmax·scale', () => {
    const v = Float32Array.from([0.5, -3, 1, 2.9]);
    for (const codec of ['int8', 'int4'] as const) {
      const { bytes, out } = roundTrip(codec, v, 4);
      const scale = f16BitsToF32(bytes[0] | (bytes[1] << 8));
      expect(out[1]).toBe(Math.fround(-qMax[codec] * scale));
    }
  });

  it('decodes into a subarray without touching the rest of the buffer', () => {
    const v = rows(80, 5, 7);
    for (const codec of ['f32', 'f16', 'int8', 'int4'] as const) {
      const slot = new Float32Array(80 * 9).fill(NaN);
      decodeVectors(codec, encodeVectors(codec, v, 80), 80, 5, slot.subarray(80 * 2));
      expect(slot.subarray(0, 160).every(Number.isNaN)).toBe(true);
      expect(slot.subarray(160 + 400).every(Number.isNaN)).toBe(true);
      expect(relativeError(v, slot.subarray(160, 560))).toBeLessThan(codec === 'int4' ? 0.2 : 0.01);
    }
  });

  it('relativeError is ‖a−b‖/‖a‖ in float64, 0 for two zero vectors, Infinity for a zero original', () => {
    expect(relativeError(Float32Array.from([3, 4]), Float32Array.from([3, 4]))).toBe(0);
    expect(relativeError(Float32Array.from([3, 4]), Float32Array.from([0, 4]))).toBeCloseTo(0.6, 12);
    expect(relativeError(new Float32Array(2), new Float32Array(2))).toBe(0);
    expect(relativeError(new Float32Array(2), Float32Array.from([1, 0]))).toBe(Infinity);
  });
});

describe('scalar codec errors', () => {
  const v = rows(8, 2, 1);
  it('unknown codec', () => {
    expectCodecError(() => encodeVectors('q3' as CodecName, v, 8), 'unknown codec', 'q3');
    expectCodecError(() => decodeVectors('bf16' as CodecName, new Uint8Array(32), 8, 2, new Float32Array(16)), 'unknown codec');
    expectCodecError(() => bytesPerVector('int2' as CodecName, 8), 'unknown codec');
  });
  it('wrong payload length, short output, bad dim or count', () => {
    expectCodecError(() => decodeVectors('int8', new Uint8Array(19), 8, 2, new Float32Array(16)), 'payload length', '20', '19');
    expectCodecError(() => decodeVectors('f16', new Uint8Array(32), 8, 2, new Float32Array(15)), 'output length');
    expectCodecError(() => encodeVectors('f16', v, 3), 'multiple of 3');
    expectCodecError(() => encodeVectors('f16', v, 0), 'dim');
    expectCodecError(() => decodeVectors('f16', new Uint8Array(0), 8, -1, new Float32Array(0)), 'count');
  });
  it('NaN and infinite inputs', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const w = v.slice();
      w[5] = bad;
      for (const codec of ['f32', 'f16', 'int8', 'int4'] as const) expectCodecError(() => encodeVectors(codec, w, 8), 'element 5');
    }
  });
  it('a value or a scale beyond the f16 range', () => {
    expectCodecError(() => encodeVectors('f16', Float32Array.from([1, -65520]), 2), 'element 1', 'f16 range');
    expectCodecError(() => encodeVectors('int8', Float32Array.from([1e7, 1]), 2), 'f16 range');
    expectCodecError(() => encodeVectors('int4', Float32Array.from([1e6, 1]), 2), 'f16 range');
  });
  it('pq without a codebook, or with subvectors that do not divide dim', () => {
    expectCodecError(() => encodeVectors('pq', v, 8), 'pq codebook', 'none');
    expectCodecError(() => decodeVectors('pq', new Uint8Array(4), 8, 2, new Float32Array(16)), 'pq codebook');
    expectCodecError(() => bytesPerVector('pq', 80, 14), 'must divide dim 80', '14');
  });
});
