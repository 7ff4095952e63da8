/**
 * Gemma 2 (2B, 9B, 27B): embeddings scaled by √hidden, RMSNorm with (1 + w), every block "sandwiched"
 * (input and post-attention norms around attention, pre- and post-feedforward norms around the
 * MLP), GeGLU with gelu's tanh approximation, scores scaled by query_pre_attn_scalar^-½ and
 * soft-capped, the final logits soft-capped, and even layers windowed (odd layers global).
 *
 * convert_hf_to_gguf.py adds the 1 to every norm weight and writes the window and both caps under
 * `gemma2.*`; llama.cpp scales scores by head_dim^-½ (hidden/heads for the 46-layer 27B), which is
 * what query_pre_attn_scalar says for the released checkpoints, and defaults the caps to 50 and 30.
 */
import { UnsupportedModelError } from '../../util/errors';
import { ggufMeta, type GgufHeader } from '../gguf';
import { optionalPositiveInt, positiveNumber, type Json } from '../json-fields';
import { type ArchSpec, type BaseShape, type BlockFields, llamaTensors, plainBlock, type TensorSpec } from './spec';

const h = (c: BaseShape) => [c.hiddenSize];

/** Llama's tensor of a role, as Gemma names it too. */
const llamas = (...roles: TensorSpec['role'][]) => roles.map((r) => llamaTensors.find((t) => t.role === r)!);

/** Gemma's tensors (Gemma 3 adds q/k norms): Llama's, but for the four norms around the two halves. */
export const gemmaTensors: TensorSpec[] = [
  ...llamas('embed', 'attnNorm', 'q', 'k', 'v', 'o'),
  { role: 'postAttnNorm', hf: 'model.layers.{L}.post_attention_layernorm.weight', gguf: 'blk.{L}.post_attention_norm.weight', shape: h },
  { role: 'mlpNorm', hf: 'model.layers.{L}.pre_feedforward_layernorm.weight', gguf: 'blk.{L}.ffn_norm.weight', shape: h },
  ...llamas('gate', 'up', 'down'),
  { role: 'postFfnNorm', hf: 'model.layers.{L}.post_feedforward_layernorm.weight', gguf: 'blk.{L}.post_ffw_norm.weight', shape: h },
  ...llamas('finalNorm', 'lmHead'),
];

/** Gemma's activation: gelu with the tanh approximation, by either field name. */
export function geluTanhMlp(raw: Json): 'gelu_tanh' {
  const act = raw.hidden_activation ?? raw.hidden_act ?? 'gelu_pytorch_tanh';
  if (act !== 'gelu_pytorch_tanh' && act !== 'gelu_tanh') {
    throw new UnsupportedModelError(`Unsupported hidden_activation ${JSON.stringify(act)}; supported: gelu_pytorch_tanh`, {
      field: 'hidden_activation',
    });
  }
  return 'gelu_tanh';
}

/**
 * Which layers are windowed: `layer_types` when config.json lists them, else llama.cpp's
 * set_swa_pattern(n): layer l is windowed unless l % n == n − 1 (Gemma 2: n = 2, Gemma 3: 6).
 */
export function gemmaWindows(raw: Json, numLayers: number, window: number | null, pattern: number): (number | null)[] {
  const types = raw.layer_types;
  if (Array.isArray(types)) {
    if (types.length !== numLayers || types.some((t) => t !== 'sliding_attention' && t !== 'full_attention')) {
      throw new UnsupportedModelError(
        `config.json: "layer_types" must name sliding_attention or full_attention for each of ${numLayers} layers`,
        {
          field: 'layer_types',
        },
      );
    }
    return types.map((t) => (t === 'sliding_attention' ? window : null));
  }
  return Array.from({ length: numLayers }, (_, l) => (window !== null && l % pattern < pattern - 1 ? window : null));
}

/** The cap a config names, or null (absent, null or 0: none). */
export function softcap(raw: Json, key: string): number | null {
  const v = raw[key];
  return v === undefined || v === null || v === 0 ? null : positiveNumber(raw, key, undefined);
}

/** The fields every Gemma block shares (HF config.json). */
export function gemmaBlock(raw: Json, shape: BaseShape, pattern: number): BlockFields {
  const window = optionalPositiveInt(raw, 'sliding_window');
  return plainBlock(shape, {
    mlpAct: geluTanhMlp(raw),
    normOffset: 1,
    sandwichNorms: true,
    embedScale: Math.fround(Math.sqrt(shape.hiddenSize)),
    attnScale: 1 / Math.sqrt(positiveNumber(raw, 'query_pre_attn_scalar', shape.headDim)),
    layerWindows: gemmaWindows(raw, shape.numLayers, window, pattern),
    slidingWindow: window,
  });
}

/** The same from a GGUF: norms already hold 1 + w, and llama.cpp's score scale. */
export function gemmaGgufBlock(h: GgufHeader, arch: string, shape: BaseShape, pattern: number, bigLayers: number): BlockFields {
  const window = ggufMeta<number>(h, `${arch}.attention.sliding_window`, 'number', 0) || null;
  const scaleDim = shape.numLayers === bigLayers ? shape.hiddenSize / shape.numHeads : shape.headDim;
  return plainBlock(shape, {
    mlpAct: 'gelu_tanh',
    normOffset: 0,
    sandwichNorms: true,
    embedScale: Math.fround(Math.sqrt(shape.hiddenSize)),
    attnScale: 1 / Math.sqrt(scaleDim),
    layerWindows: Array.from({ length: shape.numLayers }, (_, l) => (window !== null && l % pattern < pattern - 1 ? window : null)),
    slidingWindow: window,
  });
}

/** convert_hf_to_gguf.py's Gemma norm shift: every `*norm.weight` is stored as 1 + w. */
export function gemmaGgufValues(hfName: string, data: Float32Array): void {
  if (hfName.endsWith('norm.weight')) for (let i = 0; i < data.length; i++) data[i] = Math.fround(data[i] + 1);
}

export const gemma2: ArchSpec = {
  family: 'gemma2',
  hfArchitecture: 'Gemma2ForCausalLM',
  modelType: 'gemma2',
  ggufArch: 'gemma2',
  ggufRope: 'neox',
  defaultMaxPositions: 8192,
  blockFromHf(raw, shape) {
    return {
      ...gemmaBlock(raw, shape, 2),
      attnSoftcap: softcap(raw, 'attn_logit_softcapping'),
      finalSoftcap: softcap(raw, 'final_logit_softcapping'),
    };
  },
  blockFromGguf(h, shape) {
    return {
      ...gemmaGgufBlock(h, 'gemma2', shape, 2, 46),
      attnSoftcap: ggufMeta<number>(h, 'gemma2.attn_logit_softcapping', 'number', 50),
      finalSoftcap: ggufMeta<number>(h, 'gemma2.final_logit_softcapping', 'number', 30),
    };
  },
  ggufMetadata(raw) {
    return [
      ['gemma2.attention.sliding_window', { u32: optionalPositiveInt(raw, 'sliding_window') ?? 0 }],
      ['gemma2.attn_logit_softcapping', { f32: softcap(raw, 'attn_logit_softcapping') ?? 0 }],
      ['gemma2.final_logit_softcapping', { f32: softcap(raw, 'final_logit_softcapping') ?? 0 }],
    ];
  },
  ggufValues: gemmaGgufValues,
  tensors: gemmaTensors,
};
