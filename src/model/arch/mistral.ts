/**
 * Mistral: the Llama block with every layer windowed by `sliding_window` (null in v0.2 and later).
 * convert_hf_to_gguf.py writes it as the `llama` architecture without the window, and llama.cpp
 * runs it with full attention, so a Mistral GGUF loads as Llama.
 */
import { optionalPositiveInt } from '../json-fields';
import { type ArchSpec, llamaTensors, plainBlock, windowed, siluMlp } from './spec';

export const mistral: ArchSpec = {
  family: 'mistral',
  hfArchitecture: 'MistralForCausalLM',
  modelType: 'mistral',
  ggufArch: 'llama',
  ggufRope: 'norm',
  defaultMaxPositions: 131072,
  blockFromHf(raw, shape) {
    siluMlp(raw);
    const window = optionalPositiveInt(raw, 'sliding_window');
    return plainBlock(shape, { layerWindows: windowed(shape.numLayers, window), slidingWindow: window });
  },
  blockFromGguf(_h, shape) {
    return plainBlock(shape);
  },
  tensors: llamaTensors,
};
