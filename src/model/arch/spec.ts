/**
 * What an architecture is, declared once: its names (Hugging Face and llama.cpp), its tensors (HF
 * and GGUF names, shapes, which block role each plays), and the fields of config.json or GGUF
 * metadata that shape its blocks. The config parser, both weight loaders, the layer loop, the
 * float64 reference and the fixtures' GGUF converter all read this one description; adding an
 * architecture is one file in this folder (and its line in index.ts) plus its fixture.
 */
import { UnsupportedModelError } from '../../util/errors';
import type { GgufHeader } from '../gguf';

export type Json = Record<string, unknown>;

/** What a block does beyond the Llama block (pre-norm, GQA attention with RoPE, SwiGLU MLP). */
export interface BlockFields {
  /** q, k, v projections carry a bias. */
  attentionBias: boolean;
  /** o_proj carries a bias. */
  attentionOutputBias: boolean;
  /** Per-head RMSNorm of q and k (over headDim, one weight per layer) before RoPE (Qwen3). */
  qkNorm: boolean;
  /** The sliding window of each layer (null: full causal attention), numLayers entries. */
  layerWindows: (number | null)[];
  /** Whether each layer rotates q and k (SmolLM3's no-RoPE layers: false), numLayers entries. */
  layerRope: boolean[];
  /** The largest window any layer uses (null: none); what config.json calls sliding_window. */
  slidingWindow: number | null;
  /** The MLP's gate activation: SwiGLU (silu) or GeGLU with gelu's tanh approximation (Gemma). */
  mlpAct: 'silu' | 'gelu_tanh';
  /** Added to every norm weight (Gemma's RMSNorm scales by 1 + w; its GGUF export folds the 1 in, so 0 there). */
  normOffset: number;
  /** Gemma 2/3: the attention and MLP outputs are normed again (post_attention / post_feedforward) before the residual add. */
  sandwichNorms: boolean;
  /** Embeddings are multiplied by this (Gemma: √hidden; else 1). */
  embedScale: number;
  /** The attention score scale (Gemma: query_pre_attn_scalar^-½; else headDim^-½). */
  attnScale: number;
  /** Gemma 2's soft-capping of attention scores and of the final logits: cap·tanh(x/cap) (null: none). */
  attnSoftcap: number | null;
  finalSoftcap: number | null;
  /** Gemma 3: the RoPE base of the sliding-window layers (rope_local_base_freq; null: the global base everywhere). */
  ropeLocalTheta: number | null;
  /** Leading elements of each head that rotate (Phi-3's partial_rotary_factor · headDim; else headDim). */
  rotaryDim: number;
  /** Phi-3's LongRoPE (null: none): per-frequency divisors for contexts up to and beyond `original` positions, and cos/sin's factor. */
  longRope: LongRope | null;
}

export interface LongRope {
  shortFactor: number[]; // rotaryDim/2 divisors of the frequencies for contexts ≤ original
  longFactor: number[]; // the same beyond: chosen by the context length the engine holds, as llama.cpp does
  original: number; // original_max_position_embeddings
  attnFactor: number; // cos and sin are scaled by it: √(1 + ln(max/original) / ln(original)), or 1
}

/** The shape fields every architecture shares, already parsed, for the block fields to build on. */
export interface BaseShape {
  numLayers: number;
  hiddenSize: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  intermediateSize: number;
  vocabSize: number;
  tieWordEmbeddings: boolean;
}

/** Where a tensor goes in the layer structure (model/weights.ts): a field of LayerWeights or a global. */
export type LayerRole =
  | 'attnNorm'
  | 'q'
  | 'k'
  | 'v'
  | 'o'
  | 'qBias'
  | 'kBias'
  | 'vBias'
  | 'oBias'
  | 'qNorm'
  | 'kNorm'
  | 'mlpNorm'
  | 'postAttnNorm'
  | 'postFfnNorm'
  | 'gate'
  | 'up'
  | 'down';
export type GlobalRole = 'embed' | 'finalNorm' | 'lmHead';

/** One tensor of the architecture; `{L}` in a name stands for the layer index. */
export interface TensorSpec {
  role: LayerRole | GlobalRole;
  hf: string;
  gguf: string;
  /** HF shape (row-major, nn.Linear (out, in)). */
  shape: (c: BaseShape & BlockFields) => number[];
  /** Present only when this holds (default: always). */
  when?: (c: BaseShape & BlockFields) => boolean;
  /** The tensor is rows [start, start + count) of a fused file tensor (Phi-3's qkv_proj, gate_up_proj). */
  part?: {
    hf: string;
    gguf: string;
    rows: (c: BaseShape & BlockFields) => [number, number];
    shape: (c: BaseShape & BlockFields) => number[];
  };
}

/** A GGUF metadata value the converter writes (a subset of tools/fixtures' GgufValue). */
export type GgufMetaValue = { u32: number } | { f32: number } | { bool: boolean } | { i32s: number[] } | { str: string };

/** SwiGLU's activation: refuses any other `hidden_act`, and MLP biases, naming the field. */
export function siluMlp(raw: Json): 'silu' {
  const act = raw.hidden_act ?? 'silu';
  if (act !== 'silu') {
    throw new UnsupportedModelError(`Unsupported hidden_act ${JSON.stringify(act)}; supported: silu`, { hiddenAct: act as never });
  }
  if (raw.mlp_bias === true) {
    throw new UnsupportedModelError('Unsupported mlp_bias: true (MLP projections without bias only)', { field: 'mlp_bias' });
  }
  return 'silu';
}

export interface ArchSpec {
  /** The engine's name for it (ModelConfig.family). */
  family: string;
  /** config.json `architectures[0]` and `model_type`. */
  hfArchitecture: string;
  modelType: string;
  /** llama.cpp's `general.architecture` (null: the engine reads no GGUF of it). */
  ggufArch: string | null;
  /**
   * llama.cpp's RoPE for the arch: 'norm' rotates adjacent pairs, so convert_hf_to_gguf.py stores
   * q/k rows interleaved per head (the loader puts them back); 'neox' rotates halves as HF does.
   */
  ggufRope: 'norm' | 'neox';
  /** max_position_embeddings when config.json leaves it out. */
  defaultMaxPositions: number;
  /** The block fields config.json implies; throws UnsupportedModelError naming a field it does not implement. */
  blockFromHf(raw: Json, shape: BaseShape): BlockFields;
  /** The same from a GGUF header (`meta(key)`: `<arch>.<key>`), and the names of its tensors. */
  blockFromGguf(h: GgufHeader, shape: BaseShape, tensorNames: ReadonlySet<string>): BlockFields;
  /** Metadata convert_hf_to_gguf.py writes for this arch beyond the shared keys (the fixtures' converter). */
  ggufMetadata?(raw: Json): [string, GgufMetaValue][];
  /** Tensors convert_hf_to_gguf.py adds from config.json (Phi-3's rope_factors_{long,short}.weight), F32. */
  ggufTensors?(raw: Json): { name: string; data: Float32Array }[];
  /** How convert_hf_to_gguf.py changes a tensor's values (Gemma: norm weights + 1), in place. */
  ggufValues?(hfName: string, data: Float32Array): void;
  /** Every tensor, in load order: global ones with no `{L}`, the per-layer ones once. */
  tensors: TensorSpec[];
}

/** Block fields of a plain Llama block: nothing beyond it, every layer full attention with RoPE. */
export function plainBlock(shape: BaseShape, extra: Partial<BlockFields> = {}): BlockFields {
  return {
    mlpAct: 'silu',
    normOffset: 0,
    sandwichNorms: false,
    embedScale: 1,
    attnScale: 1 / Math.sqrt(shape.headDim),
    attnSoftcap: null,
    finalSoftcap: null,
    ropeLocalTheta: null,
    rotaryDim: shape.headDim,
    longRope: null,
    attentionBias: false,
    attentionOutputBias: false,
    qkNorm: false,
    layerWindows: Array(shape.numLayers).fill(null),
    layerRope: Array(shape.numLayers).fill(true),
    slidingWindow: null,
    ...extra,
  };
}

/** A block whose every layer uses the same sliding window (Mistral, windowed Qwen2 above max_window_layers). */
export function windowed(numLayers: number, window: number | null, from = 0): (number | null)[] {
  return Array.from({ length: numLayers }, (_, l) => (window !== null && l >= from ? window : null));
}

const q = (c: BaseShape) => c.numHeads * c.headDim;
const kv = (c: BaseShape) => c.numKvHeads * c.headDim;

/**
 * The Llama tensor set under HF and llama.cpp names, which Qwen2, Mistral, Qwen3 and SmolLM3 share
 * (each adds to or filters it). The order is the fixtures' seeded draw order: keep it.
 */
export const llamaTensors: TensorSpec[] = [
  { role: 'embed', hf: 'model.embed_tokens.weight', gguf: 'token_embd.weight', shape: (c) => [c.vocabSize, c.hiddenSize] },
  { role: 'attnNorm', hf: 'model.layers.{L}.input_layernorm.weight', gguf: 'blk.{L}.attn_norm.weight', shape: (c) => [c.hiddenSize] },
  { role: 'q', hf: 'model.layers.{L}.self_attn.q_proj.weight', gguf: 'blk.{L}.attn_q.weight', shape: (c) => [q(c), c.hiddenSize] },
  { role: 'k', hf: 'model.layers.{L}.self_attn.k_proj.weight', gguf: 'blk.{L}.attn_k.weight', shape: (c) => [kv(c), c.hiddenSize] },
  { role: 'v', hf: 'model.layers.{L}.self_attn.v_proj.weight', gguf: 'blk.{L}.attn_v.weight', shape: (c) => [kv(c), c.hiddenSize] },
  { role: 'o', hf: 'model.layers.{L}.self_attn.o_proj.weight', gguf: 'blk.{L}.attn_output.weight', shape: (c) => [c.hiddenSize, q(c)] },
  ...(['q', 'k', 'v'] as const).map(
    (p): TensorSpec => ({
      role: `${p}Bias`,
      hf: `model.layers.{L}.self_attn.${p}_proj.bias`,
      gguf: `blk.{L}.attn_${p}.bias`,
      shape: (c) => [p === 'q' ? q(c) : kv(c)],
      when: (c) => c.attentionBias,
    }),
  ),
  {
    role: 'oBias',
    hf: 'model.layers.{L}.self_attn.o_proj.bias',
    gguf: 'blk.{L}.attn_output.bias',
    shape: (c) => [c.hiddenSize],
    when: (c) => c.attentionOutputBias,
  },
  {
    role: 'mlpNorm',
    hf: 'model.layers.{L}.post_attention_layernorm.weight',
    gguf: 'blk.{L}.ffn_norm.weight',
    shape: (c) => [c.hiddenSize],
  },
  {
    role: 'gate',
    hf: 'model.layers.{L}.mlp.gate_proj.weight',
    gguf: 'blk.{L}.ffn_gate.weight',
    shape: (c) => [c.intermediateSize, c.hiddenSize],
  },
  {
    role: 'up',
    hf: 'model.layers.{L}.mlp.up_proj.weight',
    gguf: 'blk.{L}.ffn_up.weight',
    shape: (c) => [c.intermediateSize, c.hiddenSize],
  },
  {
    role: 'down',
    hf: 'model.layers.{L}.mlp.down_proj.weight',
    gguf: 'blk.{L}.ffn_down.weight',
    shape: (c) => [c.hiddenSize, c.intermediateSize],
  },
  { role: 'finalNorm', hf: 'model.norm.weight', gguf: 'output_norm.weight', shape: (c) => [c.hiddenSize] },
  {
    role: 'lmHead',
    hf: 'lm_head.weight',
    gguf: 'output.weight',
    shape: (c) => [c.vocabSize, c.hiddenSize],
    when: (c) => !c.tieWordEmbeddings,
  },
];

/** Qwen3 / Gemma 3 per-head q and k norms. */
export const qkNormTensors: TensorSpec[] = [
  { role: 'qNorm', hf: 'model.layers.{L}.self_attn.q_norm.weight', gguf: 'blk.{L}.attn_q_norm.weight', shape: (c) => [c.headDim] },
  { role: 'kNorm', hf: 'model.layers.{L}.self_attn.k_norm.weight', gguf: 'blk.{L}.attn_k_norm.weight', shape: (c) => [c.headDim] },
];

/** `tensors` with `extra` inserted after the tensor of role `after`. */
export function insertAfter(tensors: TensorSpec[], after: TensorSpec['role'], extra: TensorSpec[]): TensorSpec[] {
  const i = tensors.findIndex((t) => t.role === after);
  return [...tensors.slice(0, i + 1), ...extra, ...tensors.slice(i + 1)];
}
