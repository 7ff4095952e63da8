/**
 * CPU reference for causal GQA attention with explicit-memory slots, in float64.
 * For query row i (absolute position startPos + i) and head h (kv head g = floor(h / group)):
 *   keys   = [memK[g, 0..memCount), kCache[0 ..= startPos + i, g]]   (memory unmasked, context causal)
 *   scores = scale · q·k,  p = softmax(scores) jointly over all keys,  out = Σ p · v.
 * With a sliding window only context keys p with (startPos + i) − p < window are keys (memory stays);
 * with a soft-cap each score s becomes softcap · tanh(s / softcap).
 */
export interface AttentionRefArgs {
  q: ArrayLike<number>; // (m, nHeads, headDim) at qOffset
  qOffset?: number;
  kCache: ArrayLike<number>; // (ctx, kvHeads, headDim)
  vCache: ArrayLike<number>; // (ctx, kvHeads, headDim)
  m: number;
  startPos: number;
  nHeads: number;
  kvHeads: number;
  headDim: number;
  scale: number;
  window?: number;
  softcap?: number;
  memory?: { k: ArrayLike<number>; v: ArrayLike<number>; count: number; headMask?: number }; // (kvHeads, count, headDim); headMask bit g: kv head g reads memory
}

/** Returns out (m, nHeads, headDim). */
export function attentionRef(a: AttentionRefArgs): Float64Array {
  const { m, nHeads, kvHeads, headDim: hd } = a;
  const group = nHeads / kvHeads;
  const memCount = a.memory?.count ?? 0;
  const out = new Float64Array(m * nHeads * hd);
  for (let i = 0; i < m; i++) {
    for (let h = 0; h < nHeads; h++) {
      const g = Math.floor(h / group);
      const qBase = (a.qOffset ?? 0) + (i * nHeads + h) * hd;
      // Key/value rows as (array, element offset), memory first.
      const rows: [ArrayLike<number>, ArrayLike<number>, number][] = [];
      const reads = ((a.memory?.headMask ?? 0xffffffff) >>> g) & 1;
      for (let j = 0; j < (reads ? memCount : 0); j++) rows.push([a.memory!.k, a.memory!.v, (g * memCount + j) * hd]);
      const first = a.window === undefined ? 0 : Math.max(0, a.startPos + i + 1 - a.window);
      for (let p = first; p <= a.startPos + i; p++) rows.push([a.kCache, a.vCache, (p * kvHeads + g) * hd]);
      const scores = rows.map(([k, , base]) => {
        let dot = 0;
        for (let d = 0; d < hd; d++) dot += a.q[qBase + d] * k[base + d];
        const sc = dot * a.scale;
        return a.softcap === undefined ? sc : a.softcap * Math.tanh(sc / a.softcap);
      });
      const max = Math.max(...scores);
      const weights = scores.map((s) => Math.exp(s - max));
      const sum = weights.reduce((x, y) => x + y, 0);
      const oBase = (i * nHeads + h) * hd;
      rows.forEach(([, v, base], j) => {
        for (let d = 0; d < hd; d++) out[oBase + d] += (weights[j] / sum) * v[base + d];
      });
    }
  }
  return out;
}
