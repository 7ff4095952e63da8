/**
 * Float64 CPU reference of the Memory³ writer: the Llama forward on [prefix + reference] through
 * the memory layers, capturing each layer's un-rotated q, k and rotated k, v; the selection scores
 * w_j = Σ_{h in group(g)} Σ_i exp(q_{i,h}·k_{j,g}/√d) over reference tokens (no mask, no RoPE),
 * top-k per KV head (ties → lower j, n < k → repeat the last kept token), and the gathered K/V.
 * Plain TS without Node imports, so browser tests can run it on weights they fetched.
 */
import type { ReferenceModel } from './llama';

/** Dimensions of one layer's selection. */
export interface SelectDims { heads: number; kvHeads: number; headDim: number }

/**
 * log w_j per (memory head, token): q rows (rows, heads*headDim), k rows (rows, kvHeads*headDim);
 * rows [0, prefixLen) are skipped. Returns (memHeads.length, rows - prefixLen) row-major.
 */
export function memoryScoresRef(q: ArrayLike<number>, k: ArrayLike<number>, rows: number, prefixLen: number,
  d: SelectDims, memHeads: number[]): Float64Array {
  const n = rows - prefixLen, hd = d.headDim, group = d.heads / d.kvHeads, scale = 1 / Math.sqrt(hd);
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
  const order = Array.from(scores, (_, j) => j).sort((a, b) => (scores[b] - scores[a]) || (a - b));
  const kept = order.slice(0, Math.min(k, order.length));
  while (kept.length < k) kept.push(kept[kept.length - 1]);
  return kept;
}

/** One memory record in float64, laid out as MemoryRecordData, plus what the selection saw. */
export interface ReferenceRecord {
  keys: Float64Array;     // (memLayers, memHeads, k, headDim), RoPE applied
  values: Float64Array;   // (memLayers, memHeads, k, headDim)
  positions: number[];    // (memLayers, memHeads, k): prefixLen + j
  scores: Float64Array[]; // per memory layer: (memHeads, n) log-scores
}

function rmsNorm(x: Float64Array, w: Float64Array, eps: number): Float64Array {
  let ss = 0;
  for (const v of x) ss += v * v;
  const s = 1 / Math.sqrt(ss / x.length + eps);
  return x.map((v, i) => v * s * w[i]);
}

function matVec(w: { shape: number[]; data: Float64Array }, x: Float64Array, bias?: Float64Array): Float64Array {
  const [rows, cols] = w.shape, y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let sum = bias ? bias[r] : 0;
    for (let c = 0; c < cols; c++) sum += w.data[r * cols + c] * x[c];
    y[r] = sum;
  }
  return y;
}

function rope(vec: Float64Array, heads: number, hd: number, invFreq: Float64Array, pos: number): Float64Array {
  const out = Float64Array.from(vec), half = hd / 2;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      const c = Math.cos(pos * invFreq[i]), s = Math.sin(pos * invFreq[i]);
      const a = vec[h * hd + i], b = vec[h * hd + i + half];
      out[h * hd + i] = a * c - b * s;
      out[h * hd + i + half] = b * c + a * s;
    }
  }
  return out;
}

/** Causal GQA attention of every row over rotated q, k and v. */
function attention(m: ReferenceModel, q: Float64Array[], k: Float64Array[], v: Float64Array[]): Float64Array[] {
  const group = m.heads / m.kvHeads, hd = m.headDim, scale = 1 / Math.sqrt(hd);
  return q.map((qt, t) => {
    const out = new Float64Array(m.heads * hd);
    for (let h = 0; h < m.heads; h++) {
      const kv = Math.floor(h / group) * hd;
      const logits = Array.from({ length: t + 1 }, (_, s) => {
        let dot = 0;
        for (let e = 0; e < hd; e++) dot += qt[h * hd + e] * k[s][kv + e];
        return dot * scale;
      });
      const max = Math.max(...logits), p = logits.map((x) => Math.exp(x - max)), sum = p.reduce((a, b) => a + b, 0);
      for (let s = 0; s <= t; s++) for (let e = 0; e < hd; e++) out[h * hd + e] += (p[s] / sum) * v[s][kv + e];
    }
    return out;
  });
}

interface LayerCapture { q: Float64Array[]; k: Float64Array[]; kRot: Float64Array[]; v: Float64Array[] }

/** The forward through layers [0, layers) capturing un-rotated q, k and rotated k, v per layer. */
export function forwardCapture(m: ReferenceModel, tokens: number[], layers: number): LayerCapture[] {
  const xs = tokens.map((t) => m.embed.data.slice(t * m.hidden, (t + 1) * m.hidden));
  const caps: LayerCapture[] = [];
  for (let l = 0; l < layers; l++) {
    const L = m.layers[l];
    const normed = xs.map((x) => rmsNorm(x, L.inputNorm, m.eps));
    const q = normed.map((x) => matVec(L.q, x, L.qBias)), k = normed.map((x) => matVec(L.k, x, L.kBias));
    const v = normed.map((x) => matVec(L.v, x, L.vBias));
    const qRot = q.map((x, t) => rope(x, m.heads, m.headDim, m.invFreq, t));
    const kRot = k.map((x, t) => rope(x, m.kvHeads, m.headDim, m.invFreq, t));
    caps.push({ q, k, kRot, v });
    attention(m, qRot, kRot, v).forEach((a, t) => { const o = matVec(L.o, a); xs[t].forEach((_, i) => { xs[t][i] += o[i]; }); });
    xs.forEach((x) => {
      const h = rmsNorm(x, L.postNorm, m.eps), gate = matVec(L.gate, h), up = matVec(L.up, h);
      const down = matVec(L.down, gate.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]));
      x.forEach((_, i) => { x[i] += down[i]; });
    });
  }
  return caps;
}

const flat = (rows: Float64Array[]) => { const o = new Float64Array(rows.length * rows[0].length); rows.forEach((r, i) => o.set(r, i * r.length)); return o; };

/** The memory record of `reference` (ids) encoded after `prefix` (ids), as the writer should produce it. */
export function referenceMemoryRecord(m: ReferenceModel, prefix: number[], reference: number[],
  memoryLayers: number[], memoryHeads: number[], k: number): ReferenceRecord {
  const P = prefix.length, hd = m.headDim, rows = P + reference.length;
  const caps = forwardCapture(m, [...prefix, ...reference], Math.max(...memoryLayers) + 1);
  const size = memoryLayers.length * memoryHeads.length * k;
  const rec: ReferenceRecord = { keys: new Float64Array(size * hd), values: new Float64Array(size * hd), positions: [], scores: [] };
  memoryLayers.forEach((l, li) => {
    const c = caps[l], n = reference.length;
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
