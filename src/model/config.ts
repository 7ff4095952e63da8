/**
 * Hugging Face config.json → a normalized, validated ModelConfig for the decoder-only architectures
 * the engine runs (model/arch: one file each), plus the RoPE inverse frequencies those configs imply.
 */
import { ModelConfigError, UnsupportedModelError } from '../util/errors';
import { architectures, archByHf, archByModelType, type ArchSpec, type BlockFields } from './arch/index';
import { isObject, optionalBool, positiveInt, positiveNumber, type Json } from './json-fields';

/** The engine's name of an architecture (arch/*.ts `family`): 'llama', 'qwen2', 'mistral', 'qwen3', 'smollm3'. */
export type ModelFamily = string;

export interface RopeScaling {
  type: 'llama3';
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositionEmbeddings: number;
}

export interface ModelConfig extends BlockFields {
  family: ModelFamily;
  architecture: string; // e.g. 'LlamaForCausalLM'
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number; // head_dim from config if present, else hiddenSize / numHeads
  vocabSize: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: RopeScaling | null;
  /** Per-frequency divisors of the RoPE frequencies (a GGUF's rope_freqs.weight, Llama-3 scaling), or absent. */
  ropeFreqFactors?: Float32Array;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  bosTokenId: number | null;
  eosTokenIds: number[];
  memory3: Record<string, unknown> | null; // raw `memory3` object if config.json carries one
}

/** The most layers a config may name (llama.cpp allows 512); beyond it a config is refused, not allocated for. */
export const maxLayers = 1024;

/** num_hidden_layers / block_count, bounded: a hostile file must not size per-layer arrays. */
export function checkLayerCount(n: number, field: string): number {
  if (n > maxLayers) {
    throw new ModelConfigError(`${field} is ${n}; at most ${maxLayers} layers are supported`, {
      field,
      expected: `<= ${maxLayers}`,
      actual: n,
    });
  }
  return n;
}

/**
 * The most context rows the engine may hold for this model: its positions. Sliding windows are
 * attention masks (each windowed layer reads only its last `window` rows), not a context bound.
 */
export function contextLimit(cfg: Pick<ModelConfig, 'maxPositionEmbeddings'>): number {
  return cfg.maxPositionEmbeddings;
}

function tokenIds(raw: Json, key: string): number[] {
  const v = raw[key];
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  for (const id of list) {
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
      throw new ModelConfigError(`config.json: "${key}" must hold non-negative integers, got ${JSON.stringify(v)}`, { field: key });
    }
  }
  return list as number[];
}

function resolveArch(raw: Json): ArchSpec {
  const supported = `supported: ${architectures.map((a) => a.hfArchitecture).join(', ')} (model_type ${architectures.map((a) => a.modelType).join(', ')})`;
  const archList = raw.architectures;
  const modelType = raw.model_type;
  let arch: ArchSpec | undefined;
  if (archList !== undefined && archList !== null) {
    if (!Array.isArray(archList) || archList.length === 0 || typeof archList[0] !== 'string') {
      throw new ModelConfigError('config.json: "architectures" must be a non-empty array of strings', { field: 'architectures' });
    }
    arch = archByHf(archList[0]);
    if (!arch) throw new UnsupportedModelError(`Unsupported architecture "${archList[0]}"; ${supported}`, { architecture: archList[0] });
  }
  if (modelType !== undefined && modelType !== null) {
    const byType = typeof modelType === 'string' ? archByModelType(modelType) : undefined;
    if (!byType) {
      throw new UnsupportedModelError(`Unsupported model_type ${JSON.stringify(modelType)}; ${supported}`, {
        modelType: modelType as never,
      });
    }
    arch ??= byType;
  }
  if (!arch)
    throw new ModelConfigError(`config.json names neither "architectures" nor "model_type"; ${supported}`, { field: 'architectures' });
  return arch;
}

function parseRopeScaling(v: unknown): RopeScaling | null {
  if (v === undefined || v === null) return null;
  if (!isObject(v)) throw new ModelConfigError('config.json: "rope_scaling" must be an object or null', { field: 'rope_scaling' });
  const type = v.rope_type ?? v.type;
  if (type === 'default') return null;
  if (type !== 'llama3') {
    throw new UnsupportedModelError(`Unsupported rope_scaling type ${JSON.stringify(type)}; supported: llama3`, {
      ropeScaling: type as never,
    });
  }
  const p = 'rope_scaling.';
  const scaling: RopeScaling = {
    type: 'llama3',
    factor: positiveNumber(v, 'factor', undefined, p),
    lowFreqFactor: positiveNumber(v, 'low_freq_factor', undefined, p),
    highFreqFactor: positiveNumber(v, 'high_freq_factor', undefined, p),
    originalMaxPositionEmbeddings: positiveNumber(v, 'original_max_position_embeddings', undefined, p),
  };
  if (scaling.highFreqFactor <= scaling.lowFreqFactor) {
    throw new ModelConfigError(
      `config.json: rope_scaling.high_freq_factor (${scaling.highFreqFactor}) must exceed ` + `low_freq_factor (${scaling.lowFreqFactor})`,
      { field: 'rope_scaling.high_freq_factor' },
    );
  }
  return scaling;
}

/** What no architecture here implements, refused by name: a mixture of experts. */
function checkDense(raw: Json): void {
  for (const key of ['num_experts', 'num_local_experts', 'n_routed_experts']) {
    const n = raw[key];
    if (typeof n === 'number' && n > 0) {
      throw new UnsupportedModelError(`Unsupported mixture of experts ("${key}": ${n}); dense models only`, { field: key });
    }
  }
}

function parseShape(raw: Json) {
  const hiddenSize = positiveInt(raw, 'hidden_size');
  const numHeads = positiveInt(raw, 'num_attention_heads');
  const numKvHeads = positiveInt(raw, 'num_key_value_heads', numHeads);
  const explicitHeadDim = raw.head_dim !== undefined && raw.head_dim !== null;
  if (!explicitHeadDim && hiddenSize % numHeads !== 0) {
    throw new ModelConfigError(`config.json: "num_attention_heads" (${numHeads}) does not divide hidden_size (${hiddenSize})`, {
      field: 'num_attention_heads',
      expected: `a divisor of ${hiddenSize}`,
      actual: numHeads,
    });
  }
  const headDim = explicitHeadDim ? positiveInt(raw, 'head_dim') : hiddenSize / numHeads;
  if (numHeads % numKvHeads !== 0) {
    throw new ModelConfigError(`config.json: "num_key_value_heads" (${numKvHeads}) does not divide num_attention_heads (${numHeads})`, {
      field: 'num_key_value_heads',
      expected: `a divisor of ${numHeads}`,
      actual: numKvHeads,
    });
  }
  if (headDim % 2 !== 0) {
    throw new ModelConfigError(`config.json: head dimension ${headDim} must be even for rotary embeddings`, {
      field: 'head_dim',
      actual: headDim,
    });
  }
  return { hiddenSize, numHeads, numKvHeads, headDim };
}

/** Normalize and validate a parsed config.json. Throws UnsupportedModelError or ModelConfigError. */
export function parseModelConfig(json: unknown): ModelConfig {
  if (!isObject(json)) throw new ModelConfigError('config.json must be a JSON object', { field: '(root)' });
  const raw = json;
  const arch = resolveArch(raw);
  checkDense(raw);
  const shape = parseShape(raw);
  const numLayers = checkLayerCount(positiveInt(raw, 'num_hidden_layers'), 'config.json: "num_hidden_layers"');
  const intermediateSize = positiveInt(raw, 'intermediate_size');
  const vocabSize = positiveInt(raw, 'vocab_size');
  const tieWordEmbeddings = optionalBool(raw, 'tie_word_embeddings', false);
  const block = arch.blockFromHf(raw, { ...shape, numLayers, intermediateSize, vocabSize, tieWordEmbeddings });
  const ropeParams = isObject(raw.rope_parameters) ? raw.rope_parameters : {};
  const memory3 = raw.memory3;
  if (memory3 !== undefined && memory3 !== null && !isObject(memory3)) {
    throw new ModelConfigError('config.json: "memory3" must be an object', { field: 'memory3' });
  }
  const bos = tokenIds(raw, 'bos_token_id');
  return {
    family: arch.family,
    architecture: arch.hfArchitecture,
    ...shape,
    ...block,
    intermediateSize,
    numLayers,
    vocabSize,
    rmsNormEps: positiveNumber(raw, 'rms_norm_eps', 1e-6),
    ropeTheta: positiveNumber(raw.rope_theta === undefined ? ropeParams : raw, 'rope_theta', 10000),
    ropeScaling: block.longRope ? null : parseRopeScaling(raw.rope_scaling ?? (ropeParams.rope_type ? ropeParams : null)),
    maxPositionEmbeddings: positiveInt(raw, 'max_position_embeddings', arch.defaultMaxPositions),
    tieWordEmbeddings,
    bosTokenId: bos.length > 0 ? bos[0] : null,
    eosTokenIds: tokenIds(raw, 'eos_token_id'),
    memory3: isObject(memory3) ? memory3 : null,
  };
}

/**
 * RoPE inverse frequencies, rotaryDim/2 of them (rotaryDim = headDim but for partial rotary):
 * theta^(-2i/rotaryDim), with Llama-3 frequency scaling applied as in HF transformers
 * `_compute_llama3_parameters`, or divided by a GGUF's rope_freqs factors as llama.cpp does, or by
 * LongRoPE's long factors when `contextLength` exceeds its original context (else the short ones);
 * `localTheta`: Gemma 3's windowed layers' unscaled base. Computed in float64, stored f32.
 */
export function ropeInvFreq(cfg: ModelConfig, opts: { localTheta?: number; contextLength?: number } = {}): Float32Array {
  const dim = cfg.rotaryDim;
  const out = new Float32Array(dim / 2);
  const local = opts.localTheta !== undefined;
  const s = local ? null : cfg.ropeScaling; // Gemma 3's local base is unscaled
  const lr = local ? null : cfg.longRope;
  const ext = lr ? ((opts.contextLength ?? 0) > lr.original ? lr.longFactor : lr.shortFactor) : null;
  for (let i = 0; i < dim / 2; i++) {
    const invFreq = 1 / (opts.localTheta ?? cfg.ropeTheta) ** ((2 * i) / dim);
    out[i] = (s ? llama3Scale(invFreq, s) : invFreq) / (cfg.ropeFreqFactors?.[i] ?? 1) / (ext?.[i] ?? 1);
  }
  return out;
}

/** What cos and sin are multiplied by (LongRoPE's attention factor; else 1). */
export function ropeScale(cfg: ModelConfig): number {
  return cfg.longRope?.attnFactor ?? 1;
}

function llama3Scale(invFreq: number, s: RopeScaling): number {
  const lowFreqWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highFreqWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  const wavelen = (2 * Math.PI) / invFreq;
  if (wavelen < highFreqWavelen) return invFreq; // high frequency: unchanged
  if (wavelen > lowFreqWavelen) return invFreq / s.factor; // low frequency: fully scaled
  const smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
  return (1 - smooth) * (invFreq / s.factor) + smooth * invFreq;
}
