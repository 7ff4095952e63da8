/**
 * SmolLM3: the Llama block, but some layers attend without RoPE ("NoPE"): `no_rope_layers[l]` is 1
 * where layer l rotates, 0 where it does not (transformers' default: every 4th layer without).
 * llama.cpp has no GGUF key for it and hard-codes that pattern (layer l skips RoPE when
 * (l + 1) % 4 == 0), so the converter refuses a config whose list differs.
 */
import { UnsupportedModelError } from '../../util/errors';
import { optionalBool, positiveInt, type Json } from '../json-fields';
import { type ArchSpec, llamaTensors, plainBlock, siluMlp } from './spec';

/** llama.cpp's hard-coded NoPE step. */
const ggufNoRopeStep = 4;

/** The per-layer RoPE flags config.json implies. */
export function smollm3LayerRope(raw: Json, numLayers: number): boolean[] {
  const list = raw.no_rope_layers;
  if (list === undefined || list === null) {
    const interval = positiveInt(raw, 'no_rope_layer_interval', ggufNoRopeStep);
    return Array.from({ length: numLayers }, (_, l) => (l + 1) % interval !== 0);
  }
  if (!Array.isArray(list) || list.length !== numLayers || list.some((v) => v !== 0 && v !== 1)) {
    throw new UnsupportedModelError(`config.json: "no_rope_layers" must list 0 or 1 for each of the ${numLayers} layers`, {
      field: 'no_rope_layers',
    });
  }
  return list.map((v) => v === 1);
}

export const smollm3: ArchSpec = {
  family: 'smollm3',
  hfArchitecture: 'SmolLM3ForCausalLM',
  modelType: 'smollm3',
  ggufArch: 'smollm3',
  ggufRope: 'norm',
  defaultMaxPositions: 65536,
  blockFromHf(raw, shape) {
    siluMlp(raw);
    if (optionalBool(raw, 'use_sliding_window', false)) {
      throw new UnsupportedModelError('config.json: SmolLM3 with use_sliding_window true is not supported', {
        field: 'use_sliding_window',
      });
    }
    const bias = optionalBool(raw, 'attention_bias', false);
    return plainBlock(shape, { attentionBias: bias, attentionOutputBias: bias, layerRope: smollm3LayerRope(raw, shape.numLayers) });
  },
  blockFromGguf(_h, shape, names) {
    const layerRope = Array.from({ length: shape.numLayers }, (_, l) => (l + 1) % ggufNoRopeStep !== 0);
    return plainBlock(shape, {
      attentionBias: names.has('blk.0.attn_q.bias'),
      attentionOutputBias: names.has('blk.0.attn_output.bias'),
      layerRope,
    });
  },
  ggufMetadata(raw) {
    const layers = positiveInt(raw, 'num_hidden_layers');
    const rope = smollm3LayerRope(raw, layers);
    if (rope.some((r, l) => r !== ((l + 1) % ggufNoRopeStep !== 0))) {
      throw new UnsupportedModelError('SmolLM3 GGUF: llama.cpp skips RoPE on every 4th layer only; this no_rope_layers differs', {
        field: 'no_rope_layers',
      });
    }
    return [];
  },
  tensors: llamaTensors,
};
