/**
 * Qwen2 / Qwen2.5: biases on q, k and v; with `use_sliding_window`, layers from `max_window_layers`
 * on attend within `sliding_window` (transformers' layer_types). llama.cpp reads no window for
 * qwen2, and the released checkpoints ship use_sliding_window false.
 */
import { optionalBool, optionalPositiveInt, positiveInt } from '../json-fields';
import { type ArchSpec, llamaTensors, plainBlock, windowed, siluMlp } from './spec';

export const qwen2: ArchSpec = {
  family: 'qwen2',
  hfArchitecture: 'Qwen2ForCausalLM',
  modelType: 'qwen2',
  ggufArch: 'qwen2',
  ggufRope: 'neox',
  defaultMaxPositions: 32768,
  blockFromHf(raw, shape) {
    siluMlp(raw);
    const window = optionalBool(raw, 'use_sliding_window', false) ? optionalPositiveInt(raw, 'sliding_window') : null;
    const from = window === null ? 0 : positiveInt(raw, 'max_window_layers', 28);
    const layerWindows = windowed(shape.numLayers, window, from);
    return plainBlock(shape, { attentionBias: true, layerWindows, slidingWindow: layerWindows.some((w) => w !== null) ? window : null });
  },
  blockFromGguf(_h, shape) {
    return plainBlock(shape, { attentionBias: true });
  },
  tensors: llamaTensors,
};
