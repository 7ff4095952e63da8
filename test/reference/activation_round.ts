/**
 * CPU reference for activation_round: llama.cpp's CPU rounding of matmul inputs (ggml's
 * quantize_row_q8_0 on x86, quantize_row_q8_K_ref, fp32→fp16/bf16), in f32 arithmetic as there
 * (Math.fround after every operation), ties to even as _mm256_round_ps and nearest_int do.
 */
import { f16BitsToF32, f32ToF16Bits } from '../../src/util/f16';

const f = Math.fround;

/** Round half to even. */
function rne(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function bf16(v: number): number {
  const b = new Uint32Array(Float32Array.of(v).buffer)[0];
  return new Float32Array(Uint32Array.of(((b + 0x7fff + ((b >>> 16) & 1)) & 0xffff0000) >>> 0).buffer)[0];
}

export type ActivationRounding = 'q8_0' | 'q8_k' | 'f16' | 'bf16';

export function activationRoundRef(x: Float32Array, mode: ActivationRounding): Float32Array {
  const out = new Float32Array(x.length);
  if (mode === 'f16' || mode === 'bf16') {
    for (let i = 0; i < x.length; i++) out[i] = mode === 'f16' ? f16BitsToF32(f32ToF16Bits(x[i])) : bf16(x[i]);
    return out;
  }
  const block = mode === 'q8_0' ? 32 : 256;
  for (let b = 0; b < x.length; b += block) {
    const v = x.subarray(b, b + block);
    if (mode === 'q8_0') {
      const amax = v.reduce((a, e) => Math.max(a, Math.abs(e)), 0);
      const d = f16BitsToF32(f32ToF16Bits(f(amax / 127)));
      const id = amax !== 0 ? f(127 / amax) : 0;
      v.forEach((e, i) => {
        out[b + i] = f(d * rne(f(e * id)));
      });
    } else {
      let m = 0;
      for (const e of v) if (Math.abs(e) > Math.abs(m)) m = e;
      const s = m !== 0 ? f(-127 / m) : 0,
        d = m !== 0 ? f(1 / s) : 0;
      v.forEach((e, i) => {
        out[b + i] = f(d * Math.min(127, rne(f(e * s))));
      });
    }
  }
  return out;
}
