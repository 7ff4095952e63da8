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
import { gluRef, siluMulRef } from './silu_mul';

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
  postNorm: Float64Array; // (hidden) the MLP's input norm (Gemma: pre_feedforward_layernorm)
  postAttnNorm?: Float64Array; // (hidden) Gemma: norm of the attention output before the residual add
  postFfnNorm?: Float64Array; // (hidden) Gemma: norm of the MLP output
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
  invFreq: Float64Array; // (rotaryDim/2) RoPE inverse frequencies, llama3- or LongRoPE-scaled when configured
  rotaryDim: number; // leading elements of a head that rotate (Phi-3: partial_rotary_factor · headDim)
  ropeScale: number; // cos and sin × this (LongRoPE's attention factor; else 1)
  embed: ReferenceTensor; // (vocab, hidden)
  layers: LayerWeights[];
  /** Per layer: whether q and k rotate (SmolLM3's NoPE layers: false). */
  layerRope: boolean[];
  /** Per layer: the sliding window (null: full causal attention). */
  layerWindows: (number | null)[];
  /** Gemma's block: */
  normOffset: number; // added to every norm weight (1 + w), 0 where a GGUF folded it in
  embedScale: number; // embeddings × this (√hidden)
  attnScale: number; // score scale (query_pre_attn_scalar^-½; else headDim^-½)
  attnSoftcap: number | null;
  finalSoftcap: number | null;
  gelu: boolean; // GeGLU (gelu tanh) instead of SwiGLU
  localInvFreq: Float64Array | null; // Gemma 3's windowed layers' RoPE frequencies
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

/** Each layer's sliding window as transformers applies it: Mistral's every layer, Qwen2/3's from max_window_layers on, Gemma's layer_types or pattern. */
export function layerWindowsOf(config: Record<string, any>): (number | null)[] {
  const n = config.num_hidden_layers,
    w = config.sliding_window ?? null;
  if (isGemma(config)) {
    if (config.layer_types) return config.layer_types.map((t: string) => (t === 'sliding_attention' ? w : null));
    const pattern = config.model_type === 'gemma2' ? 2 : (config.sliding_window_pattern ?? 6);
    return Array.from({ length: n }, (_, l) => (w !== null && l % pattern < pattern - 1 ? w : null));
  }
  if (config.model_type === 'mistral') return Array(n).fill(w);
  if ((config.model_type === 'qwen2' || config.model_type === 'qwen3') && config.use_sliding_window && w !== null)
    return Array.from({ length: n }, (_, l) => (l >= (config.max_window_layers ?? 28) ? w : null));
  return Array(n).fill(null);
}

const isGemma = (config: Record<string, any>) => config.model_type === 'gemma2' || config.model_type === 'gemma3_text';

/**
 * Gemma's block fields, read from config.json as transformers reads them (`folded`: a GGUF, whose
 * norm weights already hold 1 + w). `invFreqOf(theta)`: the model's RoPE frequencies for a base.
 */
export function blockOf(
  config: Record<string, any>,
  headDim: number,
  folded: boolean,
  invFreqOf: (theta: number) => Float64Array,
): Pick<ReferenceModel, 'normOffset' | 'embedScale' | 'attnScale' | 'attnSoftcap' | 'finalSoftcap' | 'gelu' | 'localInvFreq'> {
  const gemma = isGemma(config);
  const cap = (v: number | null | undefined) => (v ? v : null);
  return {
    normOffset: gemma && !folded ? 1 : 0,
    embedScale: gemma ? Math.fround(Math.sqrt(config.hidden_size)) : 1,
    attnScale: 1 / Math.sqrt(gemma ? (config.query_pre_attn_scalar ?? headDim) : headDim),
    attnSoftcap: cap(config.attn_logit_softcapping),
    finalSoftcap: cap(config.final_logit_softcapping),
    gelu: gemma,
    localInvFreq: config.model_type === 'gemma3_text' ? invFreqOf(config.rope_local_base_freq ?? 10000) : null,
  };
}

/**
 * HF's default inv_freq over `dim` rotated elements (for base `theta`, default rope_theta),
 * rescaled per dimension for rope_type "llama3", divided by LongRoPE's factors for "longrope".
 */
export function ropeInvFreq(config: Record<string, any>, dim: number, theta = config.rope_theta): Float64Array {
  const inv = new Float64Array(dim / 2);
  for (let i = 0; i < inv.length; i++) inv[i] = 1 / theta ** ((2 * i) / dim);
  if (theta !== config.rope_theta) return inv; // Gemma 3's local base is unscaled
  const scaling = config.rope_scaling;
  if (!scaling) return inv;
  const type = scaling.rope_type ?? scaling.type;
  if (type === 'longrope') {
    // Phi-3: the long factors when the context the engine holds (its full max_position_embeddings here) exceeds the original.
    const ext = config.max_position_embeddings > config.original_max_position_embeddings ? scaling.long_factor : scaling.short_factor;
    return inv.map((f, i) => f / ext[i]);
  }
  if (type !== 'llama3') throw new Error(`reference: rope_type ${scaling.rope_type} not implemented`);
  const old = scaling.original_max_position_embeddings;
  const lowWavelen = old / scaling.low_freq_factor;
  const highWavelen = old / scaling.high_freq_factor;
  for (let i = 0; i < inv.length; i++) {
    const wavelen = (2 * Math.PI) / inv[i];
    if (wavelen > lowWavelen) inv[i] /= scaling.factor;
    else if (wavelen >= highWavelen) {
      const smooth = (old / wavelen - scaling.low_freq_factor) / (scaling.high_freq_factor - scaling.low_freq_factor);
      inv[i] = (1 - smooth) * (inv[i] / scaling.factor) + smooth * inv[i];
    }
  }
  return inv;
}

/** Phi-3's fused qkv_proj and gate_up_proj, split into the q, k, v, gate and up tensors by rows (in `tensors`). */
function splitFusedRef(config: Record<string, any>, tensors: Map<string, ReferenceTensor>, headDim: number): void {
  const rows = (t: ReferenceTensor, from: number, n: number): ReferenceTensor => ({
    shape: [n, t.shape[1]],
    data: t.data.slice(from * t.shape[1], (from + n) * t.shape[1]),
  });
  const q = config.num_attention_heads * headDim,
    kv = config.num_key_value_heads * headDim,
    ff = config.intermediate_size;
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    const qkv = tensors.get(`${p}.self_attn.qkv_proj.weight`);
    if (qkv) {
      tensors.set(`${p}.self_attn.q_proj.weight`, rows(qkv, 0, q));
      tensors.set(`${p}.self_attn.k_proj.weight`, rows(qkv, q, kv));
      tensors.set(`${p}.self_attn.v_proj.weight`, rows(qkv, q + kv, kv));
    }
    const gateUp = tensors.get(`${p}.mlp.gate_up_proj.weight`);
    if (gateUp) {
      tensors.set(`${p}.mlp.gate_proj.weight`, rows(gateUp, 0, ff));
      tensors.set(`${p}.mlp.up_proj.weight`, rows(gateUp, ff, ff));
    }
  }
}

/** LongRoPE's factor on cos and sin: √(1 + ln(max/original) / ln(original)) (transformers' default attention_factor), else 1. */
function longRopeScale(config: Record<string, any>): number {
  const t = config.rope_scaling?.rope_type ?? config.rope_scaling?.type;
  if (t !== 'longrope') return 1;
  const scale = config.max_position_embeddings / config.original_max_position_embeddings;
  return scale > 1 ? Math.sqrt(1 + Math.log(scale) / Math.log(config.original_max_position_embeddings)) : 1;
}

/** The reference model of a config and its tensors (HF names), `folded`: a GGUF's (norms hold 1 + w). */
export function referenceModelOf(
  config: Record<string, any>,
  tensors: Map<string, ReferenceTensor>,
  dir: string,
  folded: boolean,
): ReferenceModel {
  const get = (name: string): ReferenceTensor => {
    const t = tensors.get(name);
    if (!t) throw new Error(`reference: tensor ${name} missing in ${dir}`);
    return t;
  };
  const heads = config.num_attention_heads;
  const headDim = config.head_dim ?? config.hidden_size / heads;
  splitFusedRef(config, tensors, headDim);
  const rotaryDim = Math.round((config.partial_rotary_factor ?? 1) * headDim);
  const layers: LayerWeights[] = [];
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    layers.push({
      inputNorm: get(`${p}.input_layernorm.weight`).data,
      q: get(`${p}.self_attn.q_proj.weight`),
      k: get(`${p}.self_attn.k_proj.weight`),
      v: get(`${p}.self_attn.v_proj.weight`),
      o: get(`${p}.self_attn.o_proj.weight`),
      qBias: tensors.get(`${p}.self_attn.q_proj.bias`)?.data,
      kBias: tensors.get(`${p}.self_attn.k_proj.bias`)?.data,
      vBias: tensors.get(`${p}.self_attn.v_proj.bias`)?.data,
      qNorm: tensors.get(`${p}.self_attn.q_norm.weight`)?.data,
      kNorm: tensors.get(`${p}.self_attn.k_norm.weight`)?.data,
      ...(config.model_type === 'gemma2' || config.model_type === 'gemma3_text'
        ? {
            postNorm: get(`${p}.pre_feedforward_layernorm.weight`).data,
            postAttnNorm: get(`${p}.post_attention_layernorm.weight`).data,
            postFfnNorm: get(`${p}.post_feedforward_layernorm.weight`).data,
          }
        : { postNorm: get(`${p}.post_attention_layernorm.weight`).data }),
      gate: get(`${p}.mlp.gate_proj.weight`),
      up: get(`${p}.mlp.up_proj.weight`),
      down: get(`${p}.mlp.down_proj.weight`),
    });
  }
  const embed = get('model.embed_tokens.weight');
  return {
    config,
    hidden: config.hidden_size,
    heads,
    kvHeads: config.num_key_value_heads,
    headDim,
    eps: config.rms_norm_eps,
    invFreq: ropeInvFreq(config, rotaryDim),
    rotaryDim,
    ropeScale: longRopeScale(config),
    embed,
    layers,
    ...blockOf(config, headDim, folded, (theta) => ropeInvFreq(config, headDim, theta)),
    layerRope: layerRopeOf(config),
    layerWindows: layerWindowsOf(config),
    finalNorm: get('model.norm.weight').data,
    lmHead: config.tie_word_embeddings ? embed : get('lm_head.weight'),
  };
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

/** A norm weight as the block applies it: w + offset (Gemma's 1 + w). */
const offset = (w: Float64Array, by: number): Float64Array => (by === 0 ? w : w.map((v) => v + by));

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
  const embedded = embeddingRef(m.embed.data, m.hidden, tokens).map((v) => v * m.embedScale);
  let xs: Float64Array[] = tokens.map((_, t) => embedded.slice(t * m.hidden, (t + 1) * m.hidden));
  const pos = (t: number) => o.positions?.[t] ?? t;
  m.layers.slice(0, o.layers ?? m.layers.length).forEach((layer, l) => {
    const norm = (x: Float64Array, w: Float64Array) => rmsNorm(x, offset(w, m.normOffset), m.eps);
    const normed = xs.map((x) => norm(x, layer.inputNorm));
    const headNorm = (x: Float64Array, w: Float64Array | undefined) =>
      w ? rmsNormRef(x, offset(w, m.normOffset), x.length / m.headDim, m.headDim, m.eps) : x;
    const q = normed.map((x) => headNorm(matVec(layer.q, x, layer.qBias), layer.qNorm));
    const k = normed.map((x) => headNorm(matVec(layer.k, x, layer.kBias), layer.kNorm));
    const v = normed.map((x) => matVec(layer.v, x, layer.vBias));
    const invFreq = m.layerWindows[l] !== null && m.localInvFreq ? m.localInvFreq : m.invFreq;
    const rope = (x: Float64Array, heads: number, t: number) =>
      m.layerRope[l]
        ? ropeRef(x, {
            rows: 1,
            heads,
            headDim: m.headDim,
            rotaryDim: m.rotaryDim,
            scale: m.ropeScale,
            startPos: pos(t),
            invFreq,
            style: 'half',
            angle: 'f64',
          })
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
        scale: m.attnScale,
        softcap: m.attnSoftcap ?? undefined,
        memory: mem ? { k: mem.keys, v: mem.values, count: mem.count, headMask: mem.headMask } : undefined,
      });
      const out = matVec(layer.o, a);
      return residual(x, layer.postAttnNorm ? norm(out, layer.postAttnNorm) : out);
    });
    xs = xs.map((x) => {
      const h = norm(x, layer.postNorm);
      const gate = matVec(layer.gate, h),
        up = matVec(layer.up, h);
      const out = matVec(layer.down, m.gelu ? gluRef(gate, up, 'gelu_tanh') : siluMulRef(gate, up));
      return residual(x, layer.postFfnNorm ? norm(out, layer.postFfnNorm) : out);
    });
  });
  return xs;
}

/** The final norm, the LM head and Gemma 2's final soft-cap of one residual row. */
export function referenceHead(m: ReferenceModel, x: Float64Array): Float64Array {
  const logits = matVec(m.lmHead, rmsNorm(x, offset(m.finalNorm, m.normOffset), m.eps));
  const cap = m.finalSoftcap;
  return cap === null ? logits : logits.map((v) => cap * Math.tanh(v / cap));
}

/** Logits (vocab) at every position of `tokens`, positions 0..T-1. */
export function referenceLogits(m: ReferenceModel, tokens: number[]): Float64Array[] {
  return referenceForward(m, tokens).map((x) => referenceHead(m, x));
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
  return referenceForward(m, tokens, { positions, memoryAt }).map((x) => referenceHead(m, x));
}

export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}
