/**
 * CPU reference for rotary position embedding (the one rotate-half of the tests), float64 except
 * the angle, which by default is the same f32 product the GPU forms (Math.fround(pos * invFreq[i]));
 * cos/sin of it are exact in float64. The whole-model reference (llama.ts) asks for the float64
 * angle of Hugging Face's formula instead (`angle: 'f64'`).
 */
/** `F`: the inverse frequencies' array type (the kernel test uploads Float32Array; the model reference's are float64). */
export interface RopeRefArgs<F extends ArrayLike<number> = Float32Array> {
  rows: number;
  heads: number;
  headDim: number;
  rowStride?: number;
  offset?: number;
  startPos: number;
  invFreq: F; // (rotaryDim/2)
  style: 'half' | 'interleaved';
  rotaryDim?: number; // leading elements that rotate (default headDim)
  scale?: number; // cos and sin × this (default 1)
  angle?: 'f32' | 'f64'; // pos·invFreq rounded to f32 as the kernel forms it (default), or in float64
}

/** Returns a float64 copy of `x` with the rotation applied where the kernel applies it. */
export function ropeRef(x: ArrayLike<number>, a: RopeRefArgs<ArrayLike<number>>): Float64Array {
  const out = Float64Array.from(x);
  const half = (a.rotaryDim ?? a.headDim) / 2,
    scale = a.scale ?? 1,
    stride = a.rowStride ?? a.heads * a.headDim,
    offset = a.offset ?? 0;
  for (let r = 0; r < a.rows; r++) {
    const pos = a.startPos + r;
    for (let h = 0; h < a.heads; h++) {
      const base = offset + r * stride + h * a.headDim;
      for (let i = 0; i < half; i++) {
        const angle = a.angle === 'f64' ? pos * a.invFreq[i] : Math.fround(pos * a.invFreq[i]);
        const c = Math.cos(angle) * scale,
          s = Math.sin(angle) * scale;
        const ia = a.style === 'half' ? base + i : base + 2 * i;
        const ib = a.style === 'half' ? ia + half : ia + 1;
        const xa = x[ia],
          xb = x[ib];
        out[ia] = xa * c - xb * s;
        out[ib] = xb * c + xa * s;
      }
    }
  }
  return out;
}

/** Llama's default inverse frequencies: 1 / theta^(2i / headDim), rounded to f32. */
export function ropeInvFreq(headDim: number, theta: number): Float32Array {
  const out = new Float32Array(headDim / 2);
  for (let i = 0; i < headDim / 2; i++) out[i] = 1 / theta ** ((2 * i) / headDim);
  return out;
}
