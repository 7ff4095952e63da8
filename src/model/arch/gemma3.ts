/**
 * Gemma 3 text (1B; the text tower of 4B–27B): Gemma 2's block without soft-capping, plus per-head
 * q/k norms (also 1 + w), five windowed layers to each global one, and a RoPE base of its own for
 * the windowed layers (rope_local_base_freq). llama.cpp hard-codes that local base at 10000 unless
 * the GGUF names `gemma3.rope.freq_base_swa`.
 */
import { ggufMeta } from '../gguf';
import { optionalPositiveInt, positiveInt, positiveNumber } from '../json-fields';
import { gemmaBlock, gemmaGgufBlock, gemmaGgufValues, gemmaTensors, softcap } from './gemma2';
import { type ArchSpec, insertAfter, qkNormTensors } from './spec';

export const gemma3: ArchSpec = {
  family: 'gemma3',
  hfArchitecture: 'Gemma3ForCausalLM',
  modelType: 'gemma3_text',
  ggufArch: 'gemma3',
  ggufRope: 'neox',
  defaultMaxPositions: 131072,
  blockFromHf(raw, shape) {
    return {
      ...gemmaBlock(raw, shape, positiveInt(raw, 'sliding_window_pattern', 6)),
      qkNorm: true,
      attnSoftcap: softcap(raw, 'attn_logit_softcapping'),
      finalSoftcap: softcap(raw, 'final_logit_softcapping'),
      ropeLocalTheta: positiveNumber(raw, 'rope_local_base_freq', 10000),
    };
  },
  blockFromGguf(h, shape) {
    const pattern = ggufMeta<number>(h, 'gemma3.attention.sliding_window_pattern', 'number', 6);
    return {
      ...gemmaGgufBlock(h, 'gemma3', shape, pattern, 62),
      qkNorm: true,
      ropeLocalTheta: ggufMeta<number>(h, 'gemma3.rope.freq_base_swa', 'number', 10000),
    };
  },
  ggufMetadata(raw) {
    return [['gemma3.attention.sliding_window', { u32: optionalPositiveInt(raw, 'sliding_window') ?? 0 }]];
  },
  ggufValues: gemmaGgufValues,
  tensors: insertAfter(gemmaTensors, 'o', qkNormTensors),
};
