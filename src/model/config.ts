/**
 * Hugging Face config.json → a normalized, validated ModelConfig for the decoder-only families the
 * engine runs (Llama, Qwen2, Mistral), plus the RoPE inverse frequencies those configs imply.
 */
import { ModelConfigError, UnsupportedModelError } from '../util/errors';

export type ModelFamily = 'llama' | 'qwen2' | 'mistral';

export interface RopeScaling {
  type: 'llama3';
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositionEmbeddings: number;
}

export interface ModelConfig {
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
  attentionBias: boolean; // q/k/v projections carry a bias (always for qwen2)
  attentionOutputBias: boolean; // o_proj carries a bias (llama with attention_bias only)
  bosTokenId: number | null;
  eosTokenIds: number[];
  /** Sliding-window attention span; the engine honours it by never holding a longer context (contextLimit). */
  slidingWindow: number | null;
  memory3: Record<string, unknown> | null; // raw `memory3` object if config.json carries one
}

/**
 * The most context rows the engine may hold for this model: its positions, and within a sliding
 * window full causal attention is the model's own, so the context stops at the window.
 */
export function contextLimit(cfg: Pick<ModelConfig, 'maxPositionEmbeddings' | 'slidingWindow'>): number {
  return Math.min(cfg.maxPositionEmbeddings, cfg.slidingWindow ?? Infinity);
}

const architectures: Record<string, ModelFamily> = {
  LlamaForCausalLM: 'llama',
  Qwen2ForCausalLM: 'qwen2',
  MistralForCausalLM: 'mistral',
};
const modelTypes: readonly ModelFamily[] = ['llama', 'qwen2', 'mistral'];
const defaultMaxPositions: Record<ModelFamily, number> = { llama: 2048, qwen2: 32768, mistral: 131072 };

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function positiveInt(raw: Json, key: string, fallback?: number): number {
  const v = raw[key] ?? fallback;
  if (v === undefined) throw new ModelConfigError(`config.json: missing required field "${key}"`, { field: key });
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
    throw new ModelConfigError(`config.json: "${key}" must be a positive integer, got ${JSON.stringify(v)}`, {
      field: key,
      actual: v as never,
    });
  }
  return v;
}

function positiveNumber(raw: Json, key: string, fallback: number | undefined, prefix = ''): number {
  const v = raw[key] ?? fallback;
  if (v === undefined) {
    throw new ModelConfigError(`config.json: missing required field "${prefix}${key}"`, { field: prefix + key });
  }
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new ModelConfigError(`config.json: "${prefix}${key}" must be a positive number, got ${JSON.stringify(v)}`, {
      field: prefix + key,
      actual: v as never,
    });
  }
  return v;
}

function optionalBool(raw: Json, key: string, fallback: boolean): boolean {
  const v = raw[key] ?? fallback;
  if (typeof v !== 'boolean') {
    throw new ModelConfigError(`config.json: "${key}" must be a boolean, got ${JSON.stringify(v)}`, { field: key });
  }
  return v;
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

function resolveFamily(raw: Json): { family: ModelFamily; architecture: string } {
  const supported = `supported: ${Object.keys(architectures).join(', ')} (model_type ${modelTypes.join(', ')})`;
  const archList = raw.architectures;
  const modelType = raw.model_type;
  let family: ModelFamily | undefined;
  let architecture: string | undefined;
  if (archList !== undefined && archList !== null) {
    if (!Array.isArray(archList) || archList.length === 0 || typeof archList[0] !== 'string') {
      throw new ModelConfigError('config.json: "architectures" must be a non-empty array of strings', { field: 'architectures' });
    }
    architecture = archList[0];
    family = architectures[architecture];
    if (!family) throw new UnsupportedModelError(`Unsupported architecture "${architecture}"; ${supported}`, { architecture });
  }
  if (modelType !== undefined && modelType !== null) {
    if (typeof modelType !== 'string' || !modelTypes.includes(modelType as ModelFamily)) {
      throw new UnsupportedModelError(`Unsupported model_type ${JSON.stringify(modelType)}; ${supported}`, {
        modelType: modelType as never,
      });
    }
    family ??= modelType as ModelFamily;
  }
  if (!family)
    throw new ModelConfigError(`config.json names neither "architectures" nor "model_type"; ${supported}`, { field: 'architectures' });
  architecture ??= Object.keys(architectures).find((a) => architectures[a] === family)!;
  return { family, architecture };
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

function parseSlidingWindow(raw: Json, family: ModelFamily): number | null {
  if (family === 'llama') return null;
  if (family === 'qwen2' && raw.use_sliding_window !== true) return null;
  const v = raw.sliding_window;
  if (v === undefined || v === null) return null;
  return positiveInt(raw, 'sliding_window');
}

function checkActivation(raw: Json): void {
  const act = raw.hidden_act ?? 'silu';
  if (act !== 'silu')
    throw new UnsupportedModelError(`Unsupported hidden_act ${JSON.stringify(act)}; supported: silu`, { hiddenAct: act as never });
  if (raw.mlp_bias === true)
    throw new UnsupportedModelError('Unsupported mlp_bias: true (MLP projections without bias only)', { field: 'mlp_bias' });
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
  const { family, architecture } = resolveFamily(raw);
  checkActivation(raw);
  const shape = parseShape(raw);
  const ropeParams = isObject(raw.rope_parameters) ? raw.rope_parameters : {};
  const memory3 = raw.memory3;
  if (memory3 !== undefined && memory3 !== null && !isObject(memory3)) {
    throw new ModelConfigError('config.json: "memory3" must be an object', { field: 'memory3' });
  }
  const bos = tokenIds(raw, 'bos_token_id');
  const llamaBias = family === 'llama' && optionalBool(raw, 'attention_bias', false);
  return {
    family,
    architecture,
    ...shape,
    intermediateSize: positiveInt(raw, 'intermediate_size'),
    numLayers: positiveInt(raw, 'num_hidden_layers'),
    vocabSize: positiveInt(raw, 'vocab_size'),
    rmsNormEps: positiveNumber(raw, 'rms_norm_eps', 1e-6),
    ropeTheta: positiveNumber(raw.rope_theta === undefined ? ropeParams : raw, 'rope_theta', 10000),
    ropeScaling: parseRopeScaling(raw.rope_scaling ?? (ropeParams.rope_type ? ropeParams : null)),
    maxPositionEmbeddings: positiveInt(raw, 'max_position_embeddings', defaultMaxPositions[family]),
    tieWordEmbeddings: optionalBool(raw, 'tie_word_embeddings', false),
    attentionBias: family === 'qwen2' || llamaBias,
    attentionOutputBias: llamaBias,
    bosTokenId: bos.length > 0 ? bos[0] : null,
    eosTokenIds: tokenIds(raw, 'eos_token_id'),
    slidingWindow: parseSlidingWindow(raw, family),
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
