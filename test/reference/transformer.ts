/**
 * The whole-model float64 reference's layer loop, composed of the per-op references (embedding,
 * rms_norm, matmul, rope, attention, silu_mul): one rotate-half, one attention, one RMSNorm for the
 * plain forward, the forward with explicit memory and the memory writer's captures. Plain TS
 * without Node imports (browser tests run it on weights they fetched); llama.ts loads the weights.
 */
import { attentionRef } from './attention';
import { embeddingRef } from './embedding';
import { matmulRef } from './matmul';
import type { ReferenceTensor } from './modelFiles';
import { rmsNormRef } from './rms_norm';
import { ropeRef } from './rope';
import { siluMulRef } from './silu_mul';

export interface LayerWeights {
  inputNorm: Float64Array; // (hidden)
  q: ReferenceTensor; // (heads*headDim, hidden)
  k: ReferenceTensor; // (kvHeads*headDim, hidden)
  v: ReferenceTensor; // (kvHeads*headDim, hidden)
  o: ReferenceTensor; // (hidden, heads*headDim)
  qBias?: Float64Array;
  kBias?: Float64Array;
  vBias?: Float64Array;
  qNorm?: Float64Array; // (headDim) per-head q norm (Qwen3)
  kNorm?: Float64Array; // (headDim)
  postNorm: Float64Array; // (hidden)
  gate: ReferenceTensor;
  up: ReferenceTensor; // (inter, hidden)
  down: ReferenceTensor; // (hidden, inter)
}

export interface ReferenceModel {
  config: Record<string, any>;
  hidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  eps: number;
  invFreq: Float64Array; // (headDim/2) RoPE inverse frequencies, llama3-scaled when configured
  embed: ReferenceTensor; // (vocab, hidden)
  layers: LayerWeights[];
  /** Per layer: whether q and k rotate (SmolLM3's NoPE layers: false). */
  layerRope: boolean[];
  /** Per layer: the sliding window (null: full causal attention). */
  layerWindows: (number | null)[];
  finalNorm: Float64Array; // (hidden)
  lmHead: ReferenceTensor; // (vocab, hidden); the embedding when tied
}

/** Which layers rotate q and k: SmolLM3's no_rope_layers (1 = RoPE; default every 4th layer without), else all. */
export function layerRopeOf(config: Record<string, any>): boolean[] {
  const n = config.num_hidden_layers;
  if (config.model_type !== 'smollm3') return Array(n).fill(true);
  const list: number[] =
    config.no_rope_layers ?? Array.from({ length: n }, (_, l) => ((l + 1) % (config.no_rope_layer_interval ?? 4) === 0 ? 0 : 1));
  return list.map((v) => v === 1);
}

/** Each layer's sliding window as transformers applies it: Mistral's every layer, Qwen2/3's from max_window_layers on. */
export function layerWindowsOf(config: Record<string, any>): (number | null)[] {
  const n = config.num_hidden_layers,
    w = config.sliding_window ?? null;
  if (config.model_type === 'mistral') return Array(n).fill(w);
  if ((config.model_type === 'qwen2' || config.model_type === 'qwen3') && config.use_sliding_window && w !== null)
    return Array.from({ length: n }, (_, l) => (l >= (config.max_window_layers ?? 28) ? w : null));
  return Array(n).fill(null);
}

/** y = W x (+ b) for W of shape (rows, cols): the matmul reference at m = 1. */
export function matVec(w: ReferenceTensor, x: Float64Array, bias?: Float64Array): Float64Array {
  const [rows, cols] = w.shape;
  return matmulRef(x, w.data, 1, rows, cols, bias);
}

/** RMSNorm of one row: the rms_norm reference. */
export function rmsNorm(x: Float64Array, weight: Float64Array, eps: number): Float64Array {
  return rmsNormRef(x, weight, 1, x.length, eps);
}

/** HF rotate_half RoPE in place on each head of `vec` (heads*headDim), at position `pos`: the rope reference, float64 angle. */
export function applyRope(vec: Float64Array, heads: number, headDim: number, invFreq: Float64Array, pos: number): void {
  vec.set(ropeRef(vec, { rows: 1, heads, headDim, startPos: pos, invFreq, style: 'half', angle: 'f64' }));
}

export function softmax(x: Float64Array): Float64Array {
  let max = -Infinity;
  for (const v of x) max = Math.max(max, v);
  const e = x.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** Explicit memory one token attends to in one layer: the attention reference's memory slots. */
export interface RefMemory {
  keys: Float64Array; // (kvHeads, count, headDim), RoPE already applied
  values: Float64Array; // (kvHeads, count, headDim)
  count: number;
  headMask: number; // bit g: kv head g reads the slots
}

/** What one layer computed for every token, for the memory writer's reference. */
export interface LayerCapture {
  q: Float64Array[];
  k: Float64Array[];
  kRot: Float64Array[];
  v: Float64Array[];
}

export interface ForwardOptions {
  positions?: number[]; // RoPE position of each token (default its index)
  memoryAt?: (t: number, layer: number) => RefMemory | null; // memory token t attends to in `layer`
  layers?: number; // run layers [0, layers) only (default all)
  capture?: (layer: number, c: LayerCapture) => void; // un-rotated q, k and rotated k, v of each layer
}

/** x + y: the residual connection (the engine fuses it into the matmul as y += x·wᵀ). */
const residual = (x: Float64Array, y: Float64Array): Float64Array => x.map((v, i) => v + y[i]);

/** Rows of equal length, concatenated. */
export const flat = (rows: Float64Array[]): Float64Array => {
  const out = new Float64Array(rows.length * rows[0].length);
  rows.forEach((r, i) => out.set(r, i * r.length));
  return out;
};

/**
 * The layer loop, composed of the per-op references (embedding, rms_norm, matmul, rope, attention,
 * silu_mul): returns the residual stream of every token after the layers run.
 */
export function referenceForward(m: ReferenceModel, tokens: number[], o: ForwardOptions = {}): Float64Array[] {
  const vocab = m.embed.shape[0];
  for (const tok of tokens) {
    if (!Number.isInteger(tok) || tok < 0 || tok >= vocab) throw new Error(`reference: token ${tok} outside vocab ${vocab}`);
  }
  const embedded = embeddingRef(m.embed.data, m.hidden, tokens);
  let xs: Float64Array[] = tokens.map((_, t) => embedded.slice(t * m.hidden, (t + 1) * m.hidden));
  const pos = (t: number) => o.positions?.[t] ?? t;
  m.layers.slice(0, o.layers ?? m.layers.length).forEach((layer, l) => {
    const normed = xs.map((x) => rmsNorm(x, layer.inputNorm, m.eps));
    const headNorm = (x: Float64Array, w: Float64Array | undefined) => (w ? rmsNormRef(x, w, x.length / m.headDim, m.headDim, m.eps) : x);
    const q = normed.map((x) => headNorm(matVec(layer.q, x, layer.qBias), layer.qNorm));
    const k = normed.map((x) => headNorm(matVec(layer.k, x, layer.kBias), layer.kNorm));
    const v = normed.map((x) => matVec(layer.v, x, layer.vBias));
    const rope = (x: Float64Array, heads: number, t: number) =>
      m.layerRope[l]
        ? ropeRef(x, { rows: 1, heads, headDim: m.headDim, startPos: pos(t), invFreq: m.invFreq, style: 'half', angle: 'f64' })
        : x;
    const qRot = q.map((x, t) => rope(x, m.heads, t));
    const kRot = k.map((x, t) => rope(x, m.kvHeads, t));
    o.capture?.(l, { q, k, kRot, v });
    const window = m.layerWindows[l];
    xs = xs.map((x, t) => {
      const mem = o.memoryAt?.(t, l);
      const first = window === null ? 0 : Math.max(0, t - window + 1); // the keys a window lets token t see
      const a = attentionRef({
        q: qRot[t],
        kCache: flat(kRot.slice(first, t + 1)),
        vCache: flat(v.slice(first, t + 1)),
        m: 1,
        startPos: t - first,
        nHeads: m.heads,
        kvHeads: m.kvHeads,
        headDim: m.headDim,
        scale: 1 / Math.sqrt(m.headDim),
        memory: mem ? { k: mem.keys, v: mem.values, count: mem.count, headMask: mem.headMask } : undefined,
      });
      return residual(x, matVec(layer.o, a));
    });
    xs = xs.map((x) => {
      const h = rmsNorm(x, layer.postNorm, m.eps);
      return residual(x, matVec(layer.down, siluMulRef(matVec(layer.gate, h), matVec(layer.up, h))));
    });
  });
  return xs;
}

/** Logits (vocab) at every position of `tokens`, positions 0..T-1. */
export function referenceLogits(m: ReferenceModel, tokens: number[]): Float64Array[] {
  return referenceForward(m, tokens).map((x) => matVec(m.lmHead, rmsNorm(x, m.finalNorm, m.eps)));
}

/**
 * Logits with explicit memory: each token has its own RoPE position and, in memory layers, attends
 * jointly to [memory slots of its kv head, causal context], as the engine does with memories spliced in.
 */
export function referenceLogitsWithMemory(
  m: ReferenceModel,
  tokens: number[],
  positions: number[],
  memoryAt: (t: number, layer: number) => RefMemory | null,
): Float64Array[] {
  return referenceForward(m, tokens, { positions, memoryAt }).map((x) => matVec(m.lmHead, rmsNorm(x, m.finalNorm, m.eps)));
}

export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}
