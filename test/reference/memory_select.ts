/**
 * Float64 CPU reference of the Memory³ writer: the Llama forward on [prefix + reference] through
 * the memory layers, capturing each layer's un-rotated q, k and rotated k, v; the selection scores
 * w_j = Σ_{h in group(g)} Σ_i exp(q_{i,h}·k_{j,g}/√d) over reference tokens (no mask, no RoPE),
 * top-k per KV head (ties → lower j, n < k → repeat the last kept token), and the gathered K/V.
 * The forward is the whole-model reference's (transformer.ts). Plain TS without Node imports, so
 * browser tests can run it on weights they fetched.
 */
import { flat, referenceForward, type LayerCapture, type ReferenceModel } from './transformer';

/** Dimensions of one layer's selection. */
export interface SelectDims {
  heads: number;
  kvHeads: number;
  headDim: number;
}

/**
 * log w_j per (memory head, token): q rows (rows, heads*headDim), k rows (rows, kvHeads*headDim);
 * rows [0, prefixLen) are skipped. Returns (memHeads.length, rows - prefixLen) row-major.
 */
export function memoryScoresRef(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  rows: number,
  prefixLen: number,
  d: SelectDims,
  memHeads: number[],
): Float64Array {
  const n = rows - prefixLen,
    hd = d.headDim,
    group = d.heads / d.kvHeads,
    scale = 1 / Math.sqrt(hd);
  const out = new Float64Array(memHeads.length * n);
  memHeads.forEach((g, mh) => {
    for (let j = 0; j < n; j++) {
      const kBase = ((prefixLen + j) * d.kvHeads + g) * hd;
      const xs: number[] = [];
      for (let h = g * group; h < (g + 1) * group; h++) {
        for (let i = 0; i < n; i++) {
          const qBase = ((prefixLen + i) * d.heads + h) * hd;
          let dot = 0;
          for (let e = 0; e < hd; e++) dot += q[qBase + e] * k[kBase + e];
          xs.push(dot * scale);
        }
      }
      const max = Math.max(...xs);
      out[mh * n + j] = max + Math.log(xs.reduce((s, x) => s + Math.exp(x - max), 0));
    }
  });
  return out;
}

/** Indices of the k best of `scores` (best first, ties → lower index); short lists repeat their last. */
export function topKRef(scores: ArrayLike<number>, k: number): number[] {
  const order = Array.from(scores, (_, j) => j).sort((a, b) => scores[b] - scores[a] || a - b);
  const kept = order.slice(0, Math.min(k, order.length));
  while (kept.length < k) kept.push(kept[kept.length - 1]);
  return kept;
}

/** One memory record in float64, laid out as MemoryRecordData, plus what the selection saw. */
export interface ReferenceRecord {
  keys: Float64Array; // (memLayers, memHeads, k, headDim), RoPE applied
  values: Float64Array; // (memLayers, memHeads, k, headDim)
  positions: number[]; // (memLayers, memHeads, k): prefixLen + j
  scores: Float64Array[]; // per memory layer: (memHeads, n) log-scores
}

/** The forward through layers [0, layers) capturing un-rotated q, k and rotated k, v per layer. */
export function forwardCapture(m: ReferenceModel, tokens: number[], layers: number): LayerCapture[] {
  const caps: LayerCapture[] = [];
  referenceForward(m, tokens, { layers, capture: (_l, c) => caps.push(c) });
  return caps;
}

/** The memory record of `reference` (ids) encoded after `prefix` (ids), as the writer should produce it. */
export function referenceMemoryRecord(
  m: ReferenceModel,
  prefix: number[],
  reference: number[],
  memoryLayers: number[],
  memoryHeads: number[],
  k: number,
): ReferenceRecord {
  const P = prefix.length,
    hd = m.headDim,
    rows = P + reference.length;
  const caps = forwardCapture(m, [...prefix, ...reference], Math.max(...memoryLayers) + 1);
  const size = memoryLayers.length * memoryHeads.length * k;
  const rec: ReferenceRecord = { keys: new Float64Array(size * hd), values: new Float64Array(size * hd), positions: [], scores: [] };
  memoryLayers.forEach((l, li) => {
    const c = caps[l],
      n = reference.length;
    const scores = memoryScoresRef(flat(c.q), flat(c.k), rows, P, m, memoryHeads);
    rec.scores.push(scores);
    memoryHeads.forEach((g, mh) => {
      topKRef(scores.subarray(mh * n, (mh + 1) * n), k).forEach((j, s) => {
        const slot = (li * memoryHeads.length + mh) * k + s;
        rec.positions.push(P + j);
        rec.keys.set(c.kRot[P + j].subarray(g * hd, (g + 1) * hd), slot * hd);
        rec.values.set(c.v[P + j].subarray(g * hd, (g + 1) * hd), slot * hd);
      });
    });
  });
  return rec;
}
