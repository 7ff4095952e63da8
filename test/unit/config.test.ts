import { describe, expect, it } from 'vitest';
import { contextLimit, parseModelConfig, ropeInvFreq, type ModelConfig } from '../../src/model/config';
import { ModelConfigError, UnsupportedModelError } from '../../src/util/errors';
import { expectClose } from '../helpers/expect-close';

/** Verbatim config.json of meta-llama/Llama-3.2-1B (publicly documented values). */
const llama32 = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 128000,
  eos_token_id: 128001,
  head_dim: 64,
  hidden_act: 'silu',
  hidden_size: 2048,
  initializer_range: 0.02,
  intermediate_size: 8192,
  max_position_embeddings: 131072,
  mlp_bias: false,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 16,
  num_key_value_heads: 8,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
  rope_theta: 500000.0,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  use_cache: true,
  vocab_size: 128256,
};
/** Qwen/Qwen2.5-0.5B-Instruct. */
const qwen25 = {
  architectures: ['Qwen2ForCausalLM'],
  attention_dropout: 0.0,
  bos_token_id: 151643,
  eos_token_id: 151645,
  hidden_act: 'silu',
  hidden_size: 896,
  initializer_range: 0.02,
  intermediate_size: 4864,
  max_position_embeddings: 32768,
  max_window_layers: 21,
  model_type: 'qwen2',
  num_attention_heads: 14,
  num_hidden_layers: 24,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  sliding_window: 32768,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  use_cache: true,
  use_sliding_window: false,
  vocab_size: 151936,
};
/** mistralai/Mistral-7B-v0.1. */
const mistral = {
  architectures: ['MistralForCausalLM'],
  bos_token_id: 1,
  eos_token_id: 2,
  hidden_act: 'silu',
  hidden_size: 4096,
  initializer_range: 0.02,
  intermediate_size: 14336,
  max_position_embeddings: 32768,
  model_type: 'mistral',
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-5,
  rope_theta: 10000.0,
  sliding_window: 4096,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  use_cache: true,
  vocab_size: 32000,
};

function expectThrow(fn: () => unknown, cls: abstract new (...a: never[]) => Error, ...fragments: string[]): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a throw').toBeInstanceOf(cls);
  for (const f of fragments) expect((err as Error).message).toContain(f);
}

describe('parseModelConfig', () => {
  it('normalizes a Llama 3.2 config with llama3 rope scaling and tied embeddings', () => {
    const c = parseModelConfig(llama32);
    expect(c).toEqual<ModelConfig>({
      family: 'llama',
      architecture: 'LlamaForCausalLM',
      hiddenSize: 2048,
      intermediateSize: 8192,
      numLayers: 16,
      numHeads: 32,
      numKvHeads: 8,
      headDim: 64,
      vocabSize: 128256,
      rmsNormEps: 1e-5,
      ropeTheta: 500000,
      ropeScaling: { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 },
      maxPositionEmbeddings: 131072,
      tieWordEmbeddings: true,
      attentionBias: false,
      attentionOutputBias: false,
      bosTokenId: 128000,
      eosTokenIds: [128001],
      slidingWindow: null,
      qkNorm: false,
      layerWindows: Array(16).fill(null),
      layerRope: Array(16).fill(true),
      mlpAct: 'silu',
      normOffset: 0,
      sandwichNorms: false,
      embedScale: 1,
      attnScale: 1 / 8,
      attnSoftcap: null,
      finalSoftcap: null,
      ropeLocalTheta: null,
      rotaryDim: 64,
      longRope: null,
      memory3: null,
    });
  });

  it('normalizes Qwen2 (q/k/v bias, sliding window off unless use_sliding_window)', () => {
    const c = parseModelConfig(qwen25);
    expect(c.family).toBe('qwen2');
    expect(c.headDim).toBe(64);
    expect(c.numKvHeads).toBe(2);
    expect(c.attentionBias).toBe(true);
    expect(c.attentionOutputBias).toBe(false);
    expect(c.slidingWindow).toBeNull();
    expect(c.ropeTheta).toBe(1e6);
    expect(parseModelConfig({ ...qwen25, use_sliding_window: true }).slidingWindow).toBe(32768);
  });

  it('normalizes Mistral (sliding window, untied head, defaults for absent fields)', () => {
    const c = parseModelConfig(mistral);
    expect(c).toMatchObject({
      family: 'mistral',
      headDim: 128,
      slidingWindow: 4096,
      tieWordEmbeddings: false,
      attentionBias: false,
      bosTokenId: 1,
      eosTokenIds: [2],
      ropeScaling: null,
    });
    expect(c.layerWindows.every((w) => w === 4096)).toBe(true); // every layer windowed
    expect(contextLimit(c)).toBe(c.maxPositionEmbeddings); // a window masks attention, it does not bound the context
    expect(contextLimit(parseModelConfig(qwen25))).toBe(parseModelConfig(qwen25).maxPositionEmbeddings);
    const { rope_theta: _t, rms_norm_eps: _e, num_key_value_heads: _k, ...sparse } = mistral;
    const d = parseModelConfig(sparse);
    expect([d.ropeTheta, d.rmsNormEps, d.numKvHeads]).toEqual([10000, 1e-6, 32]);
  });

  it('keeps the memory3 block, eos lists, explicit head_dim and model_type-only configs', () => {
    const memory3 = { memory_layers: [0, 1], knowledge_tokens: 128 };
    const c = parseModelConfig({ ...llama32, memory3, eos_token_id: [128001, 128009], bos_token_id: null });
    expect(c.memory3).toEqual(memory3);
    expect(c.eosTokenIds).toEqual([128001, 128009]);
    expect(c.bosTokenId).toBeNull();
    const wide = parseModelConfig({ ...mistral, head_dim: 96, num_attention_heads: 24 }); // 24*96 != 4096: allowed
    expect(wide.headDim).toBe(96);
    const { architectures: _a, ...noArch } = qwen25;
    expect(parseModelConfig(noArch).architecture).toBe('Qwen2ForCausalLM');
    expect(parseModelConfig({ ...llama32, rope_scaling: { rope_type: 'default' } }).ropeScaling).toBeNull();
    expect(parseModelConfig({ ...llama32, attention_bias: true })).toMatchObject({ attentionBias: true, attentionOutputBias: true });
  });

  it('rejects unsupported architectures, model types, activations and rope scaling', () => {
    expectThrow(
      () => parseModelConfig({ ...llama32, architectures: ['GPT2LMHeadModel'] }),
      UnsupportedModelError,
      'GPT2LMHeadModel',
      'LlamaForCausalLM',
      'Qwen2ForCausalLM',
      'MistralForCausalLM',
    );
    expectThrow(() => parseModelConfig({ ...llama32, model_type: 'mixtral' }), UnsupportedModelError, 'mixtral', 'llama');
    expectThrow(() => parseModelConfig({ ...llama32, hidden_act: 'gelu' }), UnsupportedModelError, 'gelu');
    expectThrow(() => parseModelConfig({ ...llama32, mlp_bias: true }), UnsupportedModelError, 'mlp_bias');
    for (const type of ['linear', 'dynamic', 'yarn', 'longrope']) {
      expectThrow(() => parseModelConfig({ ...llama32, rope_scaling: { type, factor: 2 } }), UnsupportedModelError, type, 'llama3');
    }
  });

  it('names the missing or invalid field', () => {
    const { hidden_size: _h, ...noHidden } = llama32;
    expectThrow(() => parseModelConfig(noHidden), ModelConfigError, 'hidden_size');
    expectThrow(() => parseModelConfig({ ...llama32, num_hidden_layers: 0 }), ModelConfigError, 'num_hidden_layers');
    expectThrow(() => parseModelConfig({ ...llama32, vocab_size: 12.5 }), ModelConfigError, 'vocab_size');
    expectThrow(() => parseModelConfig({ ...llama32, intermediate_size: '8192' }), ModelConfigError, 'intermediate_size');
    expectThrow(() => parseModelConfig({ ...mistral, num_attention_heads: 30 }), ModelConfigError, 'num_attention_heads', '4096');
    expectThrow(() => parseModelConfig({ ...llama32, num_key_value_heads: 5 }), ModelConfigError, 'num_key_value_heads');
    expectThrow(() => parseModelConfig({ ...llama32, rms_norm_eps: -1 }), ModelConfigError, 'rms_norm_eps');
    expectThrow(
      () => parseModelConfig({ ...llama32, rope_scaling: { rope_type: 'llama3', factor: 8 } }),
      ModelConfigError,
      'rope_scaling.low_freq_factor',
    );
    expectThrow(() => parseModelConfig({ ...llama32, memory3: 'yes' }), ModelConfigError, 'memory3');
    expectThrow(() => parseModelConfig([]), ModelConfigError);
    expectThrow(() => parseModelConfig({ hidden_size: 8 }), ModelConfigError, 'architectures');
    // Found by fuzzing: 1e308 is an integer to Number.isInteger, but no layer count.
    expectThrow(() => parseModelConfig({ ...llama32, num_hidden_layers: 1e308 }), ModelConfigError, 'num_hidden_layers');
    expectThrow(() => parseModelConfig({ ...llama32, eos_token_id: 2 ** 60 }), ModelConfigError, 'eos_token_id');
  });
});

/** HF `_compute_llama3_parameters`, transcribed literally (torch.where form), in float64. */
function hfLlama3InvFreq(dim: number, base: number, s: { factor: number; low: number; high: number; old: number }): number[] {
  const invFreq = Array.from({ length: dim / 2 }, (_, k) => 1 / base ** ((2 * k) / dim));
  const lowFreqWavelen = s.old / s.low;
  const highFreqWavelen = s.old / s.high;
  return invFreq.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    const invFreqLlama = wavelen > lowFreqWavelen ? f / s.factor : f;
    const smoothFactor = (s.old / wavelen - s.low) / (s.high - s.low);
    const smoothed = ((1 - smoothFactor) * invFreqLlama) / s.factor + smoothFactor * invFreqLlama;
    const isMediumFreq = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
    return isMediumFreq ? smoothed : invFreqLlama;
  });
}

describe('ropeInvFreq', () => {
  it('gives theta^(-2i/d) without scaling', () => {
    const c = parseModelConfig(mistral);
    const got = ropeInvFreq(c);
    expect(got.length).toBe(64);
    const ref = Array.from({ length: 64 }, (_, i) => Math.exp(((-2 * i) / 128) * Math.log(10000)));
    expectClose(got, ref, { atol: 0, rtol: 1e-7, label: 'inv_freq' });
    expect(got[0]).toBe(1);
  });

  it('applies Llama-3 scaling exactly like HF, including the smoothed band', () => {
    const c = parseModelConfig(llama32);
    const got = ropeInvFreq(c);
    const ref = hfLlama3InvFreq(64, 500000, { factor: 32, low: 1, high: 4, old: 8192 });
    expectClose(got, ref, { atol: 0, rtol: 1e-7, label: 'llama3 inv_freq' });
    const plain = Array.from({ length: 32 }, (_, i) => 1 / 500000 ** (i / 32));
    const kinds = plain.map((p, i) => {
      if (Math.abs(got[i] - p) <= 1e-7 * p) return 'high';
      if (Math.abs(got[i] - p / 32) <= (1e-7 * p) / 32) return 'low';
      return 'medium';
    });
    expect(kinds.filter((k) => k === 'medium').length).toBeGreaterThan(0); // the smoothing branch is exercised
    expect(kinds.indexOf('medium')).toBeGreaterThan(kinds.lastIndexOf('high'));
    expect(kinds.indexOf('low')).toBeGreaterThan(kinds.lastIndexOf('medium'));
  });

  describe('architectures beyond Llama (model/arch)', () => {
    // Qwen/Qwen3-0.6B's config.json fields that shape the block (head_dim 128 ≠ hidden/heads 64).
    const qwen3 = {
      architectures: ['Qwen3ForCausalLM'],
      model_type: 'qwen3',
      hidden_size: 1024,
      intermediate_size: 3072,
      num_hidden_layers: 28,
      num_attention_heads: 16,
      num_key_value_heads: 8,
      head_dim: 128,
      rms_norm_eps: 1e-6,
      rope_theta: 1000000,
      max_position_embeddings: 40960,
      tie_word_embeddings: true,
      vocab_size: 151936,
      attention_bias: false,
      use_sliding_window: false,
      sliding_window: null,
      max_window_layers: 28,
      hidden_act: 'silu',
    };
    it('Qwen3: per-head q/k norms, head_dim from the config, no window unless use_sliding_window', () => {
      const c = parseModelConfig(qwen3);
      expect(c).toMatchObject({ family: 'qwen3', headDim: 128, qkNorm: true, attentionBias: false, slidingWindow: null });
      const w = parseModelConfig({ ...qwen3, use_sliding_window: true, sliding_window: 4096, max_window_layers: 20 });
      expect(w.layerWindows.slice(18, 22)).toEqual([null, null, 4096, 4096]);
    });
    it('SmolLM3: no_rope_layers, or every 4th layer without RoPE by default', () => {
      const base = { ...qwen3, architectures: ['SmolLM3ForCausalLM'], model_type: 'smollm3', num_hidden_layers: 8, head_dim: undefined };
      expect(parseModelConfig(base).layerRope).toEqual([true, true, true, false, true, true, true, false]);
      expect(parseModelConfig({ ...base, no_rope_layers: [1, 0, 1, 1, 1, 1, 1, 1] }).layerRope[1]).toBe(false);
      expectThrow(() => parseModelConfig({ ...base, no_rope_layers: [1, 0] }), UnsupportedModelError, 'no_rope_layers');
    });
    it('refuses an absurd layer count with a named error instead of sizing arrays by it (fuzz: 2^53 − 1 layers)', () => {
      expectThrow(() => parseModelConfig({ ...qwen3, num_hidden_layers: 9007199254740991 }), ModelConfigError, 'num_hidden_layers', '1024');
    });
    it('refuses a mixture of experts, naming the field', () => {
      expectThrow(
        () => parseModelConfig({ ...qwen3, architectures: ['Qwen3ForCausalLM'], num_experts: 128 }),
        UnsupportedModelError,
        'num_experts',
      );
    });
  });
});
