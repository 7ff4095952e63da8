/** Llama (1, 2, 3.x; also TinyLlama, SmolLM2): the plain block; `attention_bias` puts a bias on q, k, v and o. */
import { optionalBool } from '../json-fields';
import { type ArchSpec, llamaTensors, plainBlock, siluMlp } from './spec';

export const llama: ArchSpec = {
  family: 'llama',
  hfArchitecture: 'LlamaForCausalLM',
  modelType: 'llama',
  ggufArch: 'llama',
  ggufRope: 'norm',
  defaultMaxPositions: 2048,
  blockFromHf(raw, shape) {
    siluMlp(raw);
    const bias = optionalBool(raw, 'attention_bias', false);
    return plainBlock(shape, { attentionBias: bias, attentionOutputBias: bias });
  },
  blockFromGguf(_h, shape, names) {
    return plainBlock(shape, { attentionBias: names.has('blk.0.attn_q.bias'), attentionOutputBias: names.has('blk.0.attn_output.bias') });
  },
  tensors: llamaTensors,
};
