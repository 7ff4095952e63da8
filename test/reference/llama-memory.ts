/**
 * Float64 reference forward with explicit memory: like referenceLogits (llama.ts), but each token
 * has its own RoPE position and, in memory layers, attends jointly to [memory slots of its kv head,
 * causal context] — the attention the engine computes when memories are spliced in.
 */
import { applyRope, matVec, rmsNorm, softmax, type ReferenceModel } from './llama';

export interface RefMemory {
  keys: Float64Array;    // (kvHeads, count, headDim), RoPE already applied
  values: Float64Array;  // (kvHeads, count, headDim)
  count: number;
  headMask: number;      // bit g: kv head g reads the slots
}

function addInPlace(x: Float64Array, y: Float64Array): void { for (let i = 0; i < x.length; i++) x[i] += y[i]; }

export function referenceLogitsWithMemory(
  m: ReferenceModel, tokens: number[], positions: number[], memoryAt: (t: number, layer: number) => RefMemory | null,
): Float64Array[] {
  const xs = tokens.map((tok) => m.embed.data.slice(tok * m.hidden, (tok + 1) * m.hidden));
  const hd = m.headDim, group = m.heads / m.kvHeads, scale = 1 / Math.sqrt(hd);
  m.layers.forEach((layer, l) => {
    const normed = xs.map((x) => rmsNorm(x, layer.inputNorm, m.eps));
    const q = normed.map((x) => matVec(layer.q, x, layer.qBias));
    const k = normed.map((x) => matVec(layer.k, x, layer.kBias));
    const v = normed.map((x) => matVec(layer.v, x, layer.vBias));
    q.forEach((qt, t) => applyRope(qt, m.heads, hd, m.invFreq, positions[t]));
    k.forEach((kt, t) => applyRope(kt, m.kvHeads, hd, m.invFreq, positions[t]));
    q.forEach((qt, t) => {
      const out = new Float64Array(m.heads * hd);
      const mem = memoryAt(t, l);
      for (let h = 0; h < m.heads; h++) {
        const g = Math.floor(h / group);
        const rows: [Float64Array, number][] = [];   // (array, offset) of key; values alongside
        const vals: [Float64Array, number][] = [];
        if (mem && (mem.headMask >>> g) & 1) {
          for (let j = 0; j < mem.count; j++) { rows.push([mem.keys, (g * mem.count + j) * hd]); vals.push([mem.values, (g * mem.count + j) * hd]); }
        }
        for (let s = 0; s <= t; s++) { rows.push([k[s], g * hd]); vals.push([v[s], g * hd]); }
        const scores = new Float64Array(rows.length);
        rows.forEach(([arr, off], j) => {
          let dot = 0;
          for (let d = 0; d < hd; d++) dot += qt[h * hd + d] * arr[off + d];
          scores[j] = dot * scale;
        });
        const p = softmax(scores);
        vals.forEach(([arr, off], j) => { for (let d = 0; d < hd; d++) out[h * hd + d] += p[j] * arr[off + d]; });
      }
      addInPlace(xs[t], matVec(layer.o, out));
    });
    xs.forEach((x) => {
      const n = rmsNorm(x, layer.postNorm, m.eps);
      const gate = matVec(layer.gate, n), up = matVec(layer.up, n);
      addInPlace(x, matVec(layer.down, gate.map((gv, i) => (gv / (1 + Math.exp(-gv))) * up[i])));
    });
  });
  return xs.map((x) => matVec(m.lmHead, rmsNorm(x, m.finalNorm, m.eps)));
}
