/**
 * Plain float64 forward pass of an HF Llama-family model (llama, llama3 RoPE scaling, qwen2 biases,
 * mistral head_dim), read from config.json + safetensors. Readable over fast: a second oracle.
 */
import { readGgufModel } from './gguf-files';
import { readConfig, readModelTensors, type ReferenceTensor } from './modelFiles';

interface LayerWeights {
  inputNorm: Float64Array; // (hidden)
  q: ReferenceTensor; // (heads*headDim, hidden)
  k: ReferenceTensor; // (kvHeads*headDim, hidden)
  v: ReferenceTensor; // (kvHeads*headDim, hidden)
  o: ReferenceTensor; // (hidden, heads*headDim)
  qBias?: Float64Array; kBias?: Float64Array; vBias?: Float64Array;
  postNorm: Float64Array; // (hidden)
  gate: ReferenceTensor; up: ReferenceTensor; // (inter, hidden)
  down: ReferenceTensor; // (hidden, inter)
}

export interface ReferenceModel {
  config: Record<string, any>;
  hidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  eps: number;
  invFreq: Float64Array; // (headDim/2) RoPE inverse frequencies, llama3-scaled when configured
  embed: ReferenceTensor; // (vocab, hidden)
  layers: LayerWeights[];
  finalNorm: Float64Array; // (hidden)
  lmHead: ReferenceTensor; // (vocab, hidden); the embedding when tied
}

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
  if (ropeFactors) m.invFreq = m.invFreq.map((f, i) => f / ropeFactors[i]);  // llama.cpp divides each frequency
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
      q: get(`${p}.self_attn.q_proj.weight`), k: get(`${p}.self_attn.k_proj.weight`),
      v: get(`${p}.self_attn.v_proj.weight`), o: get(`${p}.self_attn.o_proj.weight`),
      qBias: tensors.get(`${p}.self_attn.q_proj.bias`)?.data,
      kBias: tensors.get(`${p}.self_attn.k_proj.bias`)?.data,
      vBias: tensors.get(`${p}.self_attn.v_proj.bias`)?.data,
      postNorm: get(`${p}.post_attention_layernorm.weight`).data,
      gate: get(`${p}.mlp.gate_proj.weight`), up: get(`${p}.mlp.up_proj.weight`), down: get(`${p}.mlp.down_proj.weight`),
    });
  }
  const embed = get('model.embed_tokens.weight');
  return {
    config, hidden: config.hidden_size, heads, kvHeads: config.num_key_value_heads, headDim,
    eps: config.rms_norm_eps, invFreq: ropeInvFreq(config, headDim), embed, layers,
    finalNorm: get('model.norm.weight').data,
    lmHead: config.tie_word_embeddings ? embed : get('lm_head.weight'),
  };
}

/** y = W x (+ b) for W of shape (rows, cols). */
export function matVec(w: ReferenceTensor, x: Float64Array, bias?: Float64Array): Float64Array {
  const [rows, cols] = w.shape;
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let sum = bias ? bias[r] : 0;
    const base = r * cols;
    for (let c = 0; c < cols; c++) sum += w.data[base + c] * x[c];
    y[r] = sum;
  }
  return y;
}

export function rmsNorm(x: Float64Array, weight: Float64Array, eps: number): Float64Array {
  let sumSq = 0;
  for (const v of x) sumSq += v * v;
  const scale = 1 / Math.sqrt(sumSq / x.length + eps);
  return x.map((v, i) => v * scale * weight[i]);
}

/** HF rotate_half RoPE in place on each head of `vec` (heads*headDim), at position `pos`. */
export function applyRope(vec: Float64Array, heads: number, headDim: number, invFreq: Float64Array, pos: number): void {
  const half = headDim / 2;
  for (let h = 0; h < heads; h++) {
    const base = h * headDim;
    for (let i = 0; i < half; i++) {
      const angle = pos * invFreq[i];
      const cos = Math.cos(angle);
      const sin = Math.sin(angle);
      const a = vec[base + i];
      const b = vec[base + i + half];
      vec[base + i] = a * cos - b * sin;
      vec[base + i + half] = b * cos + a * sin;
    }
  }
}

/** Causal GQA attention of every position; q: (T, heads*headDim), k/v: (T, kvHeads*headDim). */
function attention(m: ReferenceModel, q: Float64Array[], k: Float64Array[], v: Float64Array[]): Float64Array[] {
  const group = m.heads / m.kvHeads;
  const scale = 1 / Math.sqrt(m.headDim);
  return q.map((qt, t) => {
    const out = new Float64Array(m.heads * m.headDim);
    for (let h = 0; h < m.heads; h++) {
      const kvBase = Math.floor(h / group) * m.headDim;
      const qBase = h * m.headDim;
      const scores = new Float64Array(t + 1);
      for (let s = 0; s <= t; s++) {
        let dot = 0;
        for (let d = 0; d < m.headDim; d++) dot += qt[qBase + d] * k[s][kvBase + d];
        scores[s] = dot * scale;
      }
      const probs = softmax(scores);
      for (let s = 0; s <= t; s++) {
        for (let d = 0; d < m.headDim; d++) out[qBase + d] += probs[s] * v[s][kvBase + d];
      }
    }
    return out;
  });
}

export function softmax(x: Float64Array): Float64Array {
  let max = -Infinity;
  for (const v of x) max = Math.max(max, v);
  const e = x.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

function mlp(layer: LayerWeights, x: Float64Array): Float64Array {
  const gate = matVec(layer.gate, x);
  const up = matVec(layer.up, x);
  const act = gate.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]); // SiLU(gate) * up
  return matVec(layer.down, act);
}

function addInPlace(x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < x.length; i++) x[i] += y[i];
}

/** Logits (vocab) at every position of `tokens`, positions 0..T-1. */
export function referenceLogits(m: ReferenceModel, tokens: number[]): Float64Array[] {
  const vocab = m.embed.shape[0];
  const xs = tokens.map((tok) => {
    if (!Number.isInteger(tok) || tok < 0 || tok >= vocab) throw new Error(`reference: token ${tok} outside vocab ${vocab}`);
    return m.embed.data.slice(tok * m.hidden, (tok + 1) * m.hidden);
  });
  for (const layer of m.layers) {
    const normed = xs.map((x) => rmsNorm(x, layer.inputNorm, m.eps));
    const q = normed.map((x) => matVec(layer.q, x, layer.qBias));
    const k = normed.map((x) => matVec(layer.k, x, layer.kBias));
    const v = normed.map((x) => matVec(layer.v, x, layer.vBias));
    q.forEach((qt, t) => applyRope(qt, m.heads, m.headDim, m.invFreq, t));
    k.forEach((kt, t) => applyRope(kt, m.kvHeads, m.headDim, m.invFreq, t));
    attention(m, q, k, v).forEach((a, t) => addInPlace(xs[t], matVec(layer.o, a)));
    xs.forEach((x) => addInPlace(x, mlp(layer, rmsNorm(x, layer.postNorm, m.eps))));
  }
  return xs.map((x) => matVec(m.lmHead, rmsNorm(x, m.finalNorm, m.eps)));
}

export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}
