/**
 * CPU references for ggml's quantized blocks, in float64, written from the block definitions (see
 * src/kernels/weight-formats.ts): dequantize a row-major tensor, and draw random valid blocks.
 * A quantized matmul's reference is matmulRef over dequantize(...): dequantize, then the existing op.
 */
import { f16BitsToF32, f32ToF16Bits } from '../../src/util/f16';
import { seeded } from '../helpers/random';

export type QuantFormat = 'q8_0' | 'q4_0' | 'q4_k' | 'q6_k';

export const blockOf: Record<QuantFormat, { elems: number; bytes: number }> = {
  q8_0: { elems: 32, bytes: 34 },
  q4_0: { elems: 32, bytes: 18 },
  q4_k: { elems: 256, bytes: 144 },
  q6_k: { elems: 256, bytes: 210 },
};

const half = (b: Uint8Array, at: number) => f16BitsToF32(b[at] | (b[at + 1] << 8));
const i8 = (v: number) => (v << 24) >> 24;

function q8_0(b: Uint8Array, out: Float64Array, o: number): void {
  const d = half(b, 0);
  for (let j = 0; j < 32; j++) out[o + j] = d * i8(b[2 + j]);
}

function q4_0(b: Uint8Array, out: Float64Array, o: number): void {
  const d = half(b, 0);
  for (let j = 0; j < 16; j++) {
    out[o + j] = d * ((b[2 + j] & 15) - 8);
    out[o + j + 16] = d * ((b[2 + j] >> 4) - 8);
  }
}

/** Six-bit scale and min of Q4_K sub-block j from the 12 packed bytes at `s`. */
export function q4kScaleMin(b: Uint8Array, s: number, j: number): [number, number] {
  if (j < 4) return [b[s + j] & 63, b[s + j + 4] & 63];
  return [(b[s + j + 4] & 15) | ((b[s + j - 4] >> 6) << 4), (b[s + j + 4] >> 4) | ((b[s + j] >> 6) << 4)];
}

function q4_k(b: Uint8Array, out: Float64Array, o: number): void {
  const d = half(b, 0),
    dmin = half(b, 2);
  for (let c = 0; c < 4; c++) {
    for (let h = 0; h < 2; h++) {
      const [sc, m] = q4kScaleMin(b, 4, 2 * c + h);
      for (let l = 0; l < 32; l++) {
        const q = (b[16 + 32 * c + l] >> (4 * h)) & 15;
        out[o + 64 * c + 32 * h + l] = d * sc * q - dmin * m;
      }
    }
  }
}

function q6_k(b: Uint8Array, out: Float64Array, o: number): void {
  const d = half(b, 208);
  for (let h = 0; h < 2; h++) {
    for (let g = 0; g < 4; g++) {
      for (let l = 0; l < 32; l++) {
        const lo = (b[64 * h + 32 * (g & 1) + l] >> (4 * (g >> 1))) & 15;
        const hi = (b[128 + 32 * h + l] >> (2 * g)) & 3;
        const sc = i8(b[192 + 8 * h + 2 * g + (l >> 4)]);
        out[o + 128 * h + 32 * g + l] = d * sc * ((lo | (hi << 4)) - 32);
      }
    }
  }
}

const kernels: Record<QuantFormat, (b: Uint8Array, out: Float64Array, o: number) => void> = { q8_0, q4_0, q4_k, q6_k };

/** The values of `elements` quantized values stored as consecutive blocks in `bytes`. */
export function dequantize(format: QuantFormat, bytes: Uint8Array, elements: number): Float64Array {
  const { elems, bytes: size } = blockOf[format];
  if (elements % elems !== 0 || bytes.length < (elements / elems) * size)
    throw new RangeError(`dequantize: ${elements} ${format} values need whole blocks`);
  const out = new Float64Array(elements);
  for (let b = 0; b < elements / elems; b++) kernels[format](bytes.subarray(b * size, (b + 1) * size), out, b * elems);
  return out;
}

/**
 * `elements` values of random valid blocks: random quants, f16 scales around `scale` (q4_k mins
 * too), so the values are roughly within ±scale. Independent of any quantizer.
 */
export function randomBlocks(format: QuantFormat, elements: number, seed: number, scale = 1): Uint8Array<ArrayBuffer> {
  const { elems, bytes: size } = blockOf[format];
  const r = seeded(seed);
  const out = new Uint8Array((elements / elems) * size);
  const putHalf = (at: number, v: number) => {
    const h = f32ToF16Bits(v);
    out[at] = h & 255;
    out[at + 1] = h >> 8;
  };
  for (let b = 0; b < elements / elems; b++) {
    const o = b * size;
    for (let i = 0; i < size; i++) out[o + i] = Math.floor(r() * 256);
    const jitter = 0.5 + r();
    if (format === 'q8_0') putHalf(o, (scale / 127) * jitter * (r() < 0.5 ? -1 : 1));
    else if (format === 'q4_0') putHalf(o, (scale / 8) * jitter);
    else if (format === 'q4_k') {
      putHalf(o, (scale / (15 * 63)) * jitter);
      putHalf(o + 2, (scale / 63) * jitter * 0.5);
    } else putHalf(o + 208, (scale / (32 * 127)) * jitter);
  }
  return out;
}
