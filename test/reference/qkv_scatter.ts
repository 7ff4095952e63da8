/**
 * CPU reference for the q/k/v scatter (src/kernels/qkv_scatter.ts), float64: split each row of
 * the fused projection into its q, k and v vectors, RMS-normalize q and k per head (weight +
 * offset), rotate them with ropeRef (rotate-half), leave v as it is.
 */
import { rmsNormRef } from './rms_norm';
import { ropeRef } from './rope';

export interface QkvScatterRefArgs {
  rows: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  rope: boolean;
  startPos: number;
  invFreq: Float32Array;
  rotaryDim?: number;
  scale?: number;
  norm?: { q: ArrayLike<number>; k: ArrayLike<number>; eps: number; offset: number };
}

/** q (rows, heads·headDim), k and v (rows, kvHeads·headDim), as the kernel writes them. */
export function qkvScatterRef(qkv: ArrayLike<number>, a: QkvScatterRefArgs): { q: Float64Array; k: Float64Array; v: Float64Array } {
  const d = a.headDim,
    width = (a.heads + 2 * a.kvHeads) * d;
  const part = (from: number, count: number) => {
    const out = new Float64Array(a.rows * count * d);
    for (let r = 0; r < a.rows; r++) for (let i = 0; i < count * d; i++) out[r * count * d + i] = qkv[r * width + from * d + i];
    return out;
  };
  const shaped = (x: Float64Array, count: number, nw: ArrayLike<number> | undefined) => {
    let y = x;
    if (a.norm && nw) {
      const w = Array.from(nw, (v) => v + a.norm!.offset);
      y = rmsNormRef(x, w, a.rows * count, d, a.norm.eps);
    }
    if (a.rope) {
      y = ropeRef(y, {
        rows: a.rows,
        heads: count,
        headDim: d,
        startPos: a.startPos,
        invFreq: a.invFreq,
        style: 'half',
        rotaryDim: a.rotaryDim,
        scale: a.scale,
      });
    }
    return y;
  };
  return {
    q: shaped(part(0, a.heads), a.heads, a.norm?.q),
    k: shaped(part(a.heads, a.kvHeads), a.kvHeads, a.norm?.k),
    v: part(a.heads + a.kvHeads, a.kvHeads),
  };
}
