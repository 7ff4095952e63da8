/**
 * Quantization to ggml's q8_0 and q4_0 blocks (layouts in kernels/weight-formats.ts), for loading
 * F32/F16/BF16 checkpoints with `weightDtype: 'q8_0' | 'q4_0'`. Each block of 32 values is scaled by
 * its largest magnitude: q8_0 d = max|x| / 127, q = round(x / d); q4_0 d = −m / 8 where m is the value
 * of largest magnitude (so m itself is exactly −8·d), q = clamp(round(x / d) + 8, 0, 15). d is stored
 * as f16, and the quants are computed with the f16 d, so d·q is what the reader reconstructs.
 */
import { f16BitsToF32, f32ToF16Bits } from '../util/f16';

export type QuantizeTarget = 'q8_0' | 'q4_0';

export const quantBlockBytes: Record<QuantizeTarget, number> = { q8_0: 34, q4_0: 18 };

/** Quantizes `x` (a whole number of 32-value blocks) into ggml block bytes. */
export function quantizeBlocks(target: QuantizeTarget, x: Float32Array): Uint8Array {
  if (x.length % 32 !== 0) throw new RangeError(`quantizeBlocks: ${x.length} values is not a whole number of 32-value blocks`);
  const size = quantBlockBytes[target];
  const out = new Uint8Array((x.length / 32) * size);
  for (let b = 0; b < x.length / 32; b++) {
    const v = x.subarray(b * 32, b * 32 + 32),
      o = b * size;
    let m = 0;
    for (let i = 0; i < 32; i++) if (Math.abs(v[i]) > Math.abs(m)) m = v[i];
    const bits = f32ToF16Bits(target === 'q8_0' ? Math.abs(m) / 127 : -m / 8);
    out[o] = bits & 255;
    out[o + 1] = bits >> 8;
    const d = f16BitsToF32(bits),
      id = d === 0 ? 0 : 1 / d;
    if (target === 'q8_0') {
      for (let i = 0; i < 32; i++) out[o + 2 + i] = Math.max(-127, Math.min(127, Math.round(v[i] * id))) & 255;
    } else {
      const q = (i: number) => Math.max(0, Math.min(15, Math.round(v[i] * id) + 8));
      for (let j = 0; j < 16; j++) out[o + 2 + j] = q(j) | (q(j + 16) << 4);
    }
  }
  return out;
}

export type WeightDtypeOption = 'auto' | 'f32' | 'f16' | 'q8_0' | 'q4_0';

/** GPU bytes per value of each format float matrices may take. */
const bytesPerValue = { f32: 4, f16: 2, q8_0: 34 / 32, q4_0: 18 / 32 } as const;

/**
 * What float matrices become with `weightDtype: 'auto'`. WebGPU does not say how much memory a GPU
 * has, so the budget is a quarter of the device memory the browser reports (`navigator.deviceMemory`,
 * which Chrome caps at 8 GiB) or 2 GiB where it reports none. The widest format whose matrices fit
 * the budget wins, in order f32 (only for an all-F32 checkpoint), f16, q8_0, then q4_0 regardless.
 */
export function autoWeightDtype(o: {
  matrixValues: number;
  allF32: boolean;
  deviceMemoryGiB?: number | null;
}): 'f32' | 'f16' | 'q8_0' | 'q4_0' {
  const budget = (o.deviceMemoryGiB ? o.deviceMemoryGiB / 4 : 2) * 2 ** 30;
  const fits = (f: keyof typeof bytesPerValue) => o.matrixValues * bytesPerValue[f] <= budget;
  if (o.allF32 && fits('f32')) return 'f32';
  if (fits('f16')) return 'f16';
  return fits('q8_0') ? 'q8_0' : 'q4_0';
}
