import { describe, expect, it } from 'vitest';
import { parseModelConfig } from '../../src/model/config';
import { parseSafetensorsHeader, type SafetensorsFile } from '../../src/model/safetensors';
import { expectedTensors, tensorOutputFormat, validateTensors } from '../../src/model/tensor-plan';
import { MissingTensorError, ModelConfigError, ShapeMismatchError } from '../../src/util/errors';
import { checkpointTensors, writeSafetensors, type TensorSpec } from '../helpers/safetensors-writer';

const base = {
  hidden_size: 8,
  intermediate_size: 12,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  vocab_size: 11,
  rms_norm_eps: 1e-5,
};
const llama = parseModelConfig({ ...base, architectures: ['LlamaForCausalLM'], model_type: 'llama' });
const qwen = parseModelConfig({ ...base, architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', tie_word_embeddings: true });
const wide = parseModelConfig({ ...base, architectures: ['MistralForCausalLM'], head_dim: 6 }); // 2*6 != 8

function fileOf(path: string, specs: TensorSpec[]): SafetensorsFile {
  const bytes = writeSafetensors(specs);
  return { path, size: bytes.length, ...parseSafetensorsHeader(bytes, bytes.length, path) };
}

describe('expectedTensors', () => {
  it('lists HF names and (out, in) shapes for a llama config', () => {
    const m = expectedTensors(llama);
    expect(m.size).toBe(1 + 2 * 9 + 2);
    expect(m.get('model.embed_tokens.weight')).toEqual([11, 8]);
    expect(m.get('model.layers.1.self_attn.q_proj.weight')).toEqual([8, 8]);
    expect(m.get('model.layers.1.self_attn.k_proj.weight')).toEqual([4, 8]);
    expect(m.get('model.layers.1.self_attn.v_proj.weight')).toEqual([4, 8]);
    expect(m.get('model.layers.0.self_attn.o_proj.weight')).toEqual([8, 8]);
    expect(m.get('model.layers.0.mlp.gate_proj.weight')).toEqual([12, 8]);
    expect(m.get('model.layers.0.mlp.up_proj.weight')).toEqual([12, 8]);
    expect(m.get('model.layers.0.mlp.down_proj.weight')).toEqual([8, 12]);
    expect(m.get('model.layers.0.input_layernorm.weight')).toEqual([8]);
    expect(m.get('model.layers.0.post_attention_layernorm.weight')).toEqual([8]);
    expect(m.get('model.norm.weight')).toEqual([8]);
    expect(m.get('lm_head.weight')).toEqual([11, 8]);
    expect([...m.keys()].some((k) => k.endsWith('.bias'))).toBe(false);
  });

  it('adds q/k/v biases for qwen2, drops a tied lm_head, honours explicit head_dim', () => {
    const q = expectedTensors(qwen);
    expect(q.get('model.layers.0.self_attn.q_proj.bias')).toEqual([8]);
    expect(q.get('model.layers.1.self_attn.k_proj.bias')).toEqual([4]);
    expect(q.get('model.layers.1.self_attn.v_proj.bias')).toEqual([4]);
    expect(q.has('model.layers.0.self_attn.o_proj.bias')).toBe(false);
    expect(q.has('lm_head.weight')).toBe(false);
    const w = expectedTensors(wide);
    expect(w.get('model.layers.0.self_attn.q_proj.weight')).toEqual([12, 8]);
    expect(w.get('model.layers.0.self_attn.k_proj.weight')).toEqual([6, 8]);
    expect(w.get('model.layers.0.self_attn.o_proj.weight')).toEqual([8, 12]);
  });

  it('keeps norms and biases f32 whatever the target; quantized tensors keep their type; q8_0/q4_0 need whole blocks', () => {
    const t = (name: string, dtype: 'F32' | 'BF16' | 'Q4_K', shape: number[]) => ({ name, dtype, shape });
    expect(tensorOutputFormat(t('model.layers.0.input_layernorm.weight', 'F32', [64]), 'f16')).toBe('f32');
    expect(tensorOutputFormat(t('model.norm.weight', 'BF16', [64]), 'q4_0')).toBe('f32');
    expect(tensorOutputFormat(t('model.layers.0.self_attn.q_proj.bias', 'F32', [64]), 'f16')).toBe('f32');
    expect(tensorOutputFormat(t('model.layers.0.self_attn.q_proj.weight', 'F32', [64, 64]), 'f16')).toBe('f16');
    expect(tensorOutputFormat(t('model.embed_tokens.weight', 'F32', [10, 64]), 'f32')).toBe('f32');
    expect(tensorOutputFormat(t('model.embed_tokens.weight', 'BF16', [10, 64]), 'q8_0')).toBe('q8_0');
    expect(tensorOutputFormat(t('model.embed_tokens.weight', 'BF16', [10, 48]), 'q4_0')).toBe('f16');
    expect(tensorOutputFormat(t('model.layers.0.mlp.up_proj.weight', 'Q4_K', [10, 256]), 'f32')).toBe('q4_k');
  });
});

describe('validateTensors', () => {
  const specs = checkpointTensors(expectedTensors(qwen), 5);

  it('locates every tensor across shards and ignores extras', () => {
    const extra: TensorSpec = { name: 'model.layers.0.self_attn.rotary_emb.inv_freq', dtype: 'F32', shape: [2], data: new Uint8Array(8) };
    const files = [fileOf('a.safetensors', [...specs.slice(0, 10), extra]), fileOf('b.safetensors', specs.slice(10))];
    const found = validateTensors(qwen, files);
    expect(found.size).toBe(specs.length);
    expect(found.has(extra.name)).toBe(false);
    expect(found.get(specs[0].name)!.file).toBe('a.safetensors');
    expect(found.get(specs[specs.length - 1].name)!.file).toBe('b.safetensors');
  });

  it('names a missing tensor and the files searched', () => {
    const files = [fileOf('a.safetensors', specs.slice(0, 10)), fileOf('b.safetensors', specs.slice(11))];
    const err = (() => {
      try {
        validateTensors(qwen, files);
      } catch (e) {
        return e;
      }
    })() as MissingTensorError;
    expect(err).toBeInstanceOf(MissingTensorError);
    expect(err.message).toContain(specs[10].name);
    expect(err.message).toContain('a.safetensors, b.safetensors');
    expect(err.details).toMatchObject({ tensor: specs[10].name, files: ['a.safetensors', 'b.safetensors'] });
  });

  it('reports expected and actual shape on mismatch', () => {
    const bad = specs.map((s) => (s.name === 'model.layers.1.mlp.down_proj.weight' ? { ...s, shape: [12, 8] } : s)); // transposed: same byte count, wrong shape
    const err = (() => {
      try {
        validateTensors(qwen, [fileOf('m.safetensors', bad)]);
      } catch (e) {
        return e;
      }
    })() as ShapeMismatchError;
    expect(err).toBeInstanceOf(ShapeMismatchError);
    expect(err.message).toContain('model.layers.1.mlp.down_proj.weight');
    expect(err.details).toMatchObject({ expected: [8, 12], actual: [12, 8] });
  });

  it('rejects a tensor stored in two shards', () => {
    const files = [fileOf('a.safetensors', specs), fileOf('b.safetensors', specs.slice(0, 1))];
    expect(() => validateTensors(qwen, files)).toThrow(ModelConfigError);
  });
});
