/**
 * Node-only reader of GGUF files for the CPU reference: parsed by @huggingface/gguf (not the
 * engine's parser), tensors dequantized to float64 (reference/quant.ts), renamed to Hugging Face
 * names, and the llama architecture's interleaved q/k rows put back in HF order, so the float64
 * forward pass of reference/llama.ts runs the file's exact weights.
 */
import { readFileSync } from 'node:fs';
import { gguf } from '@huggingface/gguf';
import { archByGguf } from '../../src/model/arch/index';
import { ggufInterleavesQk, ggufTensorName } from '../../src/model/gguf-model';
import { decode, type ReferenceTensor } from './modelFiles';
import { dequantize, type QuantFormat } from './quant';

const types: Record<number, string> = { 0: 'F32', 1: 'F16', 2: 'q4_0', 8: 'q8_0', 12: 'q4_k', 14: 'q6_k', 30: 'BF16' };

/** HF row h·d + j·d/2 + i was stored at row h·d + 2i + j (convert_hf_to_gguf's permute). */
function deinterleave(t: ReferenceTensor, headDim: number): ReferenceTensor {
  const cols = t.shape.length > 1 ? t.shape[1] : 1,
    rows = t.shape[0],
    half = headDim / 2;
  const out = new Float64Array(t.data.length);
  for (let h = 0; h < rows / headDim; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const from = (h * headDim + 2 * i + j) * cols,
          to = (h * headDim + j * half + i) * cols;
        out.set(t.data.subarray(from, from + cols), to);
      }
    }
  }
  return { shape: t.shape, data: out };
}

export interface GgufReference {
  config: Record<string, any>; // HF config.json fields the reference reads
  tensors: Map<string, ReferenceTensor>; // HF names and shapes
  ropeFactors: Float64Array | null; // rope_freqs.weight
}

export async function readGgufModel(path: string): Promise<GgufReference> {
  const { metadata, tensorInfos, tensorDataOffset } = await gguf(path, { allowLocalFile: true });
  const meta = metadata as unknown as Record<string, any>;
  const file = readFileSync(path);
  const arch = meta['general.architecture'] as string;
  const heads = meta[`${arch}.attention.head_count`],
    hidden = meta[`${arch}.embedding_length`];
  const headDim = meta[`${arch}.attention.key_length`] ?? hidden / heads;
  const family = archByGguf(arch)?.family ?? 'llama';
  const hfNames = new Map<string, string>();
  for (let l = 0; l < meta[`${arch}.block_count`]; l++) {
    for (const s of [
      'input_layernorm.weight',
      'post_attention_layernorm.weight',
      'mlp.gate_proj.weight',
      'mlp.up_proj.weight',
      'mlp.down_proj.weight',
      ...['q', 'k', 'v', 'o'].flatMap((p) => [`self_attn.${p}_proj.weight`, `self_attn.${p}_proj.bias`]),
      ...(family === 'qwen3' ? ['self_attn.q_norm.weight', 'self_attn.k_norm.weight'] : []),
    ]) {
      hfNames.set(ggufTensorName(`model.layers.${l}.${s}`, family), `model.layers.${l}.${s}`);
    }
  }
  for (const n of ['model.embed_tokens.weight', 'model.norm.weight', 'lm_head.weight']) hfNames.set(ggufTensorName(n, family), n);
  const tensors = new Map<string, ReferenceTensor>();
  let ropeFactors: Float64Array | null = null;
  for (const info of tensorInfos) {
    const type = types[info.dtype];
    if (!type) throw new Error(`reference: GGUF type ${info.dtype} of ${info.name} not implemented`);
    const shape = info.shape.map(Number).reverse();
    const count = shape.reduce((a, b) => a * b, 1);
    const bytes = new Uint8Array(file.buffer, file.byteOffset + Number(tensorDataOffset + info.offset));
    const data = type === type.toUpperCase() ? decode(bytes, type, count) : dequantize(type as QuantFormat, bytes, count);
    if (info.name === 'rope_freqs.weight') {
      ropeFactors = data;
      continue;
    }
    const name = hfNames.get(info.name);
    if (!name) throw new Error(`reference: no HF name for GGUF tensor ${info.name}`);
    let t: ReferenceTensor = { shape, data };
    if (ggufInterleavesQk(arch) && /self_attn\.[qk]_proj/.test(name)) t = deinterleave(t, headDim);
    tensors.set(name, t);
  }
  const config = {
    model_type: family,
    hidden_size: hidden,
    num_attention_heads: heads,
    num_key_value_heads: meta[`${arch}.attention.head_count_kv`] ?? heads,
    head_dim: headDim,
    num_hidden_layers: meta[`${arch}.block_count`],
    rms_norm_eps: meta[`${arch}.attention.layer_norm_rms_epsilon`],
    rope_theta: meta[`${arch}.rope.freq_base`] ?? 10000,
    rope_scaling: null,
    tie_word_embeddings: !tensors.has('lm_head.weight'),
  };
  return { config, tensors, ropeFactors };
}
