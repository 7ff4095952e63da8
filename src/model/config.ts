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

function checkActivation(raw: Json): void {
  const act = raw.hidden_act ?? 'silu';
  if (act !== 'silu')
    throw new UnsupportedModelError(`Unsupported hidden_act ${JSON.stringify(act)}; supported: silu`, { hiddenAct: act as never });
  if (raw.mlp_bias === true)
    throw new UnsupportedModelError('Unsupported mlp_bias: true (MLP projections without bias only)', { field: 'mlp_bias' });
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
  checkActivation(raw);
  const shape = parseShape(raw);
  const numLayers = positiveInt(raw, 'num_hidden_layers');
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
    ropeScaling: parseRopeScaling(raw.rope_scaling ?? (ropeParams.rope_type ? ropeParams : null)),
    maxPositionEmbeddings: positiveInt(raw, 'max_position_embeddings', arch.defaultMaxPositions),
    tieWordEmbeddings,
    bosTokenId: bos.length > 0 ? bos[0] : null,
    eosTokenIds: tokenIds(raw, 'eos_token_id'),
    memory3: isObject(memory3) ? memory3 : null,
  };
}

/**
 * RoPE inverse frequencies, headDim/2 of them: theta^(-2i/headDim), with Llama-3 frequency scaling
 * applied as in HF transformers `_compute_llama3_parameters`, or divided by a GGUF's rope_freqs
 * factors as llama.cpp does. Computed in float64, stored f32.
 */
export function ropeInvFreq(cfg: ModelConfig): Float32Array {
  const half = cfg.headDim / 2;
  const out = new Float32Array(half);
  const s = cfg.ropeScaling;
  for (let i = 0; i < half; i++) {
    const invFreq = 1 / cfg.ropeTheta ** ((2 * i) / cfg.headDim);
    out[i] = (s ? llama3Scale(invFreq, s) : invFreq) / (cfg.ropeFreqFactors?.[i] ?? 1);
  }
  return out;
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
