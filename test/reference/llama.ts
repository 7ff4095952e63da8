/**
 * Plain float64 forward pass of an HF Llama-family model (llama, llama3 RoPE scaling, qwen2 biases,
 * mistral head_dim), read from config.json + safetensors or GGUF. Readable over fast: a second
 * oracle. This file loads the weights; the layer loop (transformer.ts) is the per-op references
 * composed, with explicit memory and the writer's captures as options of the same loop.
 */
import { readGgufModel } from './gguf-files';
import { readConfig, readModelTensors, type ReferenceTensor } from './modelFiles';
import { layerRopeOf, layerWindowsOf, type LayerWeights, type ReferenceModel } from './transformer';

export * from './transformer';

/** HF's default inv_freq, rescaled per dimension for rope_type "llama3". */
export function ropeInvFreq(config: Record<string, any>, headDim: number): Float64Array {
  const inv = new Float64Array(headDim / 2);
  for (let i = 0; i < inv.length; i++) inv[i] = 1 / config.rope_theta ** ((2 * i) / headDim);
  const scaling = config.rope_scaling;
  if (!scaling) return inv;
  if ((scaling.rope_type ?? scaling.type) !== 'llama3') throw new Error(`reference: rope_type ${scaling.rope_type} not implemented`);
  const old = scaling.original_max_position_embeddings;
  const lowWavelen = old / scaling.low_freq_factor;
  const highWavelen = old / scaling.high_freq_factor;
  for (let i = 0; i < inv.length; i++) {
    const wavelen = (2 * Math.PI) / inv[i];
    if (wavelen > lowWavelen) inv[i] /= scaling.factor;
    else if (wavelen >= highWavelen) {
      const smooth = (old / wavelen - scaling.low_freq_factor) / (scaling.high_freq_factor - scaling.low_freq_factor);
      inv[i] = (1 - smooth) * (inv[i] / scaling.factor) + smooth * inv[i];
    }
  }
  return inv;
}

export function loadReferenceModel(dir: string): ReferenceModel {
  return referenceModelOf(readConfig(dir), readModelTensors(dir), dir);
}

/** The reference model of a GGUF file (its exact, dequantized weights). */
export async function loadReferenceGguf(path: string): Promise<ReferenceModel> {
  const { config, tensors, ropeFactors } = await readGgufModel(path);
  const m = referenceModelOf(config, tensors, path);
  if (ropeFactors) m.invFreq = m.invFreq.map((f, i) => f / ropeFactors[i]); // llama.cpp divides each frequency
  return m;
}

function referenceModelOf(config: Record<string, any>, tensors: Map<string, ReferenceTensor>, dir: string): ReferenceModel {
  const get = (name: string): ReferenceTensor => {
    const t = tensors.get(name);
    if (!t) throw new Error(`reference: tensor ${name} missing in ${dir}`);
    return t;
  };
  const heads = config.num_attention_heads;
  const headDim = config.head_dim ?? config.hidden_size / heads;
  const layers: LayerWeights[] = [];
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    layers.push({
      inputNorm: get(`${p}.input_layernorm.weight`).data,
      q: get(`${p}.self_attn.q_proj.weight`),
      k: get(`${p}.self_attn.k_proj.weight`),
      v: get(`${p}.self_attn.v_proj.weight`),
      o: get(`${p}.self_attn.o_proj.weight`),
      qBias: tensors.get(`${p}.self_attn.q_proj.bias`)?.data,
      kBias: tensors.get(`${p}.self_attn.k_proj.bias`)?.data,
      vBias: tensors.get(`${p}.self_attn.v_proj.bias`)?.data,
      qNorm: tensors.get(`${p}.self_attn.q_norm.weight`)?.data,
      kNorm: tensors.get(`${p}.self_attn.k_norm.weight`)?.data,
      postNorm: get(`${p}.post_attention_layernorm.weight`).data,
      gate: get(`${p}.mlp.gate_proj.weight`),
      up: get(`${p}.mlp.up_proj.weight`),
      down: get(`${p}.mlp.down_proj.weight`),
    });
  }
  const embed = get('model.embed_tokens.weight');
  return {
    config,
    hidden: config.hidden_size,
    heads,
    kvHeads: config.num_key_value_heads,
    headDim,
    eps: config.rms_norm_eps,
    invFreq: ropeInvFreq(config, headDim),
    embed,
    layers,
    layerRope: layerRopeOf(config),
    layerWindows: layerWindowsOf(config),
    finalNorm: get('model.norm.weight').data,
    lmHead: config.tie_word_embeddings ? embed : get('lm_head.weight'),
  };
}
