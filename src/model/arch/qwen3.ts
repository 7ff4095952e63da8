/**
 * Qwen3 (0.6B–32B dense): the Llama block with a per-head RMSNorm on q and k (`q_norm`, `k_norm`,
 * one headDim weight per layer) after the projections and before RoPE; `attention_bias` on q, k, v
 * and o (false in the releases); head_dim is its own field (128 where hidden/heads is 64 for 0.6B).
 */
import { optionalBool, optionalPositiveInt, positiveInt } from '../json-fields';
import { type ArchSpec, insertAfter, llamaTensors, plainBlock, qkNormTensors, windowed, siluMlp } from './spec';

export const qwen3: ArchSpec = {
  family: 'qwen3',
  hfArchitecture: 'Qwen3ForCausalLM',
  modelType: 'qwen3',
  ggufArch: 'qwen3',
  ggufRope: 'neox',
  defaultMaxPositions: 40960,
  blockFromHf(raw, shape) {
    siluMlp(raw);
    const bias = optionalBool(raw, 'attention_bias', false);
    const window = optionalBool(raw, 'use_sliding_window', false) ? optionalPositiveInt(raw, 'sliding_window') : null;
    const from = window === null ? 0 : positiveInt(raw, 'max_window_layers', 28);
    const layerWindows = windowed(shape.numLayers, window, from);
    return plainBlock(shape, {
      attentionBias: bias,
      attentionOutputBias: bias,
      qkNorm: true,
      layerWindows,
      slidingWindow: layerWindows.some((w) => w !== null) ? window : null,
    });
  },
  blockFromGguf(_h, shape, names) {
    return plainBlock(shape, {
      attentionBias: names.has('blk.0.attn_q.bias'),
      attentionOutputBias: names.has('blk.0.attn_output.bias'),
      qkNorm: true,
    });
  },
  tensors: insertAfter(llamaTensors, 'oBias', qkNormTensors),
};
