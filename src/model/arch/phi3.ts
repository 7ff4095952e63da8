/**
 * Phi-3 / Phi-3.5-mini / Phi-4-mini: the Llama block with q, k and v fused in one `qkv_proj` and
 * gate and up in one `gate_up_proj` (loaded as row ranges of those), partial rotary embeddings
 * (`partial_rotary_factor`: the leading rotaryDim elements of each head rotate) and LongRoPE
 * (`rope_scaling.type` longrope / su: short and long per-frequency divisors and a cos/sin factor).
 *
 * llama.cpp picks the long factors when its context exceeds original_max_position_embeddings; so
 * does the engine, by the context it holds (transformers switches by the current sequence length,
 * which would change the rotation of keys already cached). convert_hf_to_gguf.py writes the factors
 * as rope_factors_{long,short}.weight and llama.cpp runs Phi with full attention (its Phi SWA is
 * disabled), so a sliding_window beyond the context is what the GGUF path agrees with.
 */
import { ModelConfigError, UnsupportedModelError } from '../../util/errors';
import { ggufMeta } from '../gguf';
import { isObject, optionalBool, optionalPositiveInt, positiveInt, type Json } from '../json-fields';
import { type ArchSpec, type BaseShape, type LongRope, llamaTensors, plainBlock, siluMlp, type TensorSpec, windowed } from './spec';

const qRows = (c: BaseShape) => c.numHeads * c.headDim,
  kvRows = (c: BaseShape) => c.numKvHeads * c.headDim;
const qkv = {
  hf: 'model.layers.{L}.self_attn.qkv_proj.weight',
  gguf: 'blk.{L}.attn_qkv.weight',
  shape: (c: BaseShape) => [qRows(c) + 2 * kvRows(c), c.hiddenSize],
};
const gateUp = {
  hf: 'model.layers.{L}.mlp.gate_up_proj.weight',
  gguf: 'blk.{L}.ffn_up.weight',
  shape: (c: BaseShape) => [2 * c.intermediateSize, c.hiddenSize],
};

/** Where each part lies in its fused tensor (HF order: q, k, v; gate, up). */
const parts: Partial<Record<TensorSpec['role'], TensorSpec['part']>> = {
  q: { ...qkv, rows: (c) => [0, qRows(c)] },
  k: { ...qkv, rows: (c) => [qRows(c), kvRows(c)] },
  v: { ...qkv, rows: (c) => [qRows(c) + kvRows(c), kvRows(c)] },
  gate: { ...gateUp, rows: (c) => [0, c.intermediateSize] },
  up: { ...gateUp, rows: (c) => [c.intermediateSize, c.intermediateSize] },
};

/** The rotated leading elements of a head. */
function rotaryDimOf(raw: Json, headDim: number): number {
  const f = raw.partial_rotary_factor ?? 1;
  const dim = typeof f === 'number' ? Math.round(f * headDim) : Number.NaN;
  if (!((f as number) > 0 && (f as number) <= 1) || dim % 2 !== 0 || Math.abs(dim - (f as number) * headDim) > 1e-6) {
    throw new ModelConfigError(
      `config.json: "partial_rotary_factor" ${JSON.stringify(f)} must give an even number of rotated elements of ${headDim}`,
      {
        field: 'partial_rotary_factor',
      },
    );
  }
  return dim;
}

/** √(1 + ln(scale) / ln(original)) for scale = max/original > 1, else 1 (transformers and convert_hf_to_gguf.py). */
export function longRopeAttnFactor(maxPositions: number, original: number): number {
  const scale = maxPositions / original;
  return scale > 1 ? Math.sqrt(1 + Math.log(scale) / Math.log(original)) : 1;
}

function factors(v: Json, key: string, n: number): number[] {
  const list = v[key];
  if (!Array.isArray(list) || list.length !== n || list.some((x) => typeof x !== 'number' || !(x > 0))) {
    throw new ModelConfigError(`config.json: "rope_scaling.${key}" must hold ${n} positive numbers (rotary dim / 2)`, {
      field: `rope_scaling.${key}`,
    });
  }
  return list as number[];
}

/** rope_scaling of type longrope / su; none; anything else refused. */
function longRopeOf(raw: Json, rotaryDim: number): LongRope | null {
  const v = raw.rope_scaling;
  if (v === undefined || v === null) return null;
  if (!isObject(v)) throw new ModelConfigError('config.json: "rope_scaling" must be an object or null', { field: 'rope_scaling' });
  const type = v.rope_type ?? v.type;
  if (type !== 'longrope' && type !== 'su') {
    throw new UnsupportedModelError(`Unsupported rope_scaling type ${JSON.stringify(type)} for Phi-3; supported: longrope, su`, {
      field: 'rope_scaling.type',
    });
  }
  const original = positiveInt(raw, 'original_max_position_embeddings');
  const max = positiveInt(raw, 'max_position_embeddings');
  const given = v.attention_factor;
  return {
    shortFactor: factors(v, 'short_factor', rotaryDim / 2),
    longFactor: factors(v, 'long_factor', rotaryDim / 2),
    original,
    attnFactor: typeof given === 'number' && given > 0 ? given : longRopeAttnFactor(max, original),
  };
}

export const phi3: ArchSpec = {
  family: 'phi3',
  hfArchitecture: 'Phi3ForCausalLM',
  modelType: 'phi3',
  ggufArch: 'phi3',
  ggufRope: 'neox',
  defaultMaxPositions: 4096,
  blockFromHf(raw, shape) {
    siluMlp(raw);
    const bias = optionalBool(raw, 'attention_bias', false);
    const rotaryDim = rotaryDimOf(raw, shape.headDim);
    const window = optionalPositiveInt(raw, 'sliding_window');
    return plainBlock(shape, {
      attentionBias: bias,
      attentionOutputBias: bias,
      rotaryDim,
      longRope: longRopeOf(raw, rotaryDim),
      layerWindows: windowed(shape.numLayers, window),
      slidingWindow: window,
    });
  },
  blockFromGguf(h, shape) {
    const rotaryDim = ggufMeta<number>(h, 'phi3.rope.dimension_count', 'number', shape.headDim);
    return plainBlock(shape, { rotaryDim });
  },
  ggufMetadata(raw) {
    const headDim = (raw.head_dim as number | undefined) ?? (raw.hidden_size as number) / (raw.num_attention_heads as number);
    const rotaryDim = rotaryDimOf(raw, headDim);
    const lr = longRopeOf(raw, rotaryDim);
    return lr
      ? [
          ['phi3.rope.scaling.attn_factor', { f32: lr.attnFactor }],
          ['phi3.rope.scaling.original_context_length', { u32: lr.original }],
        ]
      : [];
  },
  ggufTensors(raw) {
    const headDim = (raw.head_dim as number | undefined) ?? (raw.hidden_size as number) / (raw.num_attention_heads as number);
    const lr = longRopeOf(raw, rotaryDimOf(raw, headDim));
    return lr
      ? [
          { name: 'rope_factors_long.weight', data: Float32Array.from(lr.longFactor) },
          { name: 'rope_factors_short.weight', data: Float32Array.from(lr.shortFactor) },
        ]
      : [];
  },
  tensors: llamaTensors.map((t) => (parts[t.role] ? { ...t, part: parts[t.role] } : t)),
};
