/**
 * The ONNX export of a Llama-block model (config.json + F32 safetensors), built as Transformers.js /
 * onnxruntime-genai decoder models are, for onnxruntime-web's WebGPU EP:
 *
 *   input_ids (batch, seq) i64 → Gather(embed) → per layer:
 *     SimplifiedLayerNormalization (layer 0) or SkipSimplifiedLayerNormalization (the residual add
 *     fused, its 4th output the new residual) → q/k/v MatMul → com.microsoft.GroupQueryAttention
 *     (do_rotary=1 with cos_cache/sin_cache, past_key_values.L.key/value in, present.L.key/value out,
 *     both (batch, kvHeads, seq, headDim)) → o MatMul → SkipSimplifiedLayerNormalization → gate/up
 *     MatMul, x·Sigmoid(x), Mul → down MatMul
 *   → SkipSimplifiedLayerNormalization(final norm) → MatMul(lm_head) → logits (batch, seq, vocab).
 *
 * seqlens_k (total − 1, i32) and total_sequence_length (i32 scalar) come from attention_mask
 * (batch, total) i64 as genai builds them. Weights stay F32: HF's (out, in) projections are written
 * transposed, (in, out), as MatMul's B; tied embeddings are written a second time, transposed, as the
 * LM head. Pure TS (no Node): tensors are read through `TensorReader` while the model is written.
 */
import { parseModelConfig, ropeInvFreq, type ModelConfig } from '../../src/model/config';
import { MissingTensorError, ShapeMismatchError, UnsupportedModelError } from '../../src/util/errors';
import {
  onnxFloat,
  onnxInt32,
  onnxInt64,
  onnxModel,
  type LazyBytes,
  type NodeSpec,
  type ProtoMessage,
  type TensorInit,
  type ValueSpec,
} from './protobuf';

/** F32 tensors by HF name: shape in HF order, data read on demand. */
export interface TensorReader {
  shape(name: string): number[] | null;
  read(name: string): Float32Array;
}

export interface LlamaOnnxOptions {
  /** Rows of the cos/sin caches: the longest sequence the graph can run (default max_position_embeddings). */
  maxPositions?: number;
}

/** Input and output names of the exported graph (Transformers.js' names). */
export const onnxNames = {
  inputIds: 'input_ids',
  attentionMask: 'attention_mask',
  logits: 'logits',
  pastKey: (l: number) => `past_key_values.${l}.key`,
  pastValue: (l: number) => `past_key_values.${l}.value`,
  presentKey: (l: number) => `present.${l}.key`,
  presentValue: (l: number) => `present.${l}.value`,
};

/** The config parts of the plain Llama block the graph implements; anything else is refused by name. */
function checkSupported(c: ModelConfig): void {
  const refuse = (what: string) => {
    throw new UnsupportedModelError(`onnx export: ${c.architecture} uses ${what}, which the Llama ONNX graph does not implement`);
  };
  if (c.attentionBias || c.attentionOutputBias) refuse('attention biases');
  if (c.qkNorm) refuse('q/k norms');
  if (c.layerWindows.some((w) => w !== null)) refuse('sliding-window attention');
  if (c.layerRope.some((r) => !r)) refuse('layers without RoPE');
  if (c.mlpAct !== 'silu') refuse(`the ${c.mlpAct} MLP`);
  if (c.normOffset !== 0 || c.sandwichNorms || c.embedScale !== 1) refuse("Gemma's norms and embedding scale");
  if (c.attnSoftcap !== null || c.finalSoftcap !== null) refuse('soft-capping');
  if (c.rotaryDim !== c.headDim || c.longRope) refuse('partial or LongRoPE rotary embeddings');
  // GroupQueryAttention's do_rotary path checks this in every EP (group_query_attention_helper).
  if (c.headDim % 16 !== 0) refuse(`head_dim ${c.headDim}: GroupQueryAttention with do_rotary needs a multiple of 16`);
  if (Math.abs(c.attnScale - 1 / Math.sqrt(c.headDim)) > 1e-7) refuse('a non-default attention scale');
}

/** HF (rows, cols) F32 → ONNX (cols, rows), read and transposed while the model is written. */
function transposed(r: TensorReader, name: string, rows: number, cols: number, as: string): TensorInit {
  const read = (): Uint8Array => {
    const src = r.read(name);
    if (src.length !== rows * cols)
      throw new ShapeMismatchError(`onnx export: ${name} has ${src.length} elements, expected ${rows}×${cols}`);
    const out = new Float32Array(rows * cols);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = src[i * cols + j];
    return new Uint8Array(out.buffer);
  };
  return { name: as, dims: [cols, rows], dataType: onnxFloat, data: { byteLength: rows * cols * 4, read } };
}

function asIs(r: TensorReader, name: string, dims: number[]): TensorInit {
  const bytes = dims.reduce((a, b) => a * b, 1) * 4;
  const data: LazyBytes = { byteLength: bytes, read: () => new Uint8Array(r.read(name).slice().buffer) };
  return { name, dims, dataType: onnxFloat, data };
}

/** cos and sin of position × inverse frequency, (maxPositions, headDim/2), angles in float64. */
function ropeCaches(c: ModelConfig, maxPositions: number): { cos: Float32Array; sin: Float32Array } {
  const inv = ropeInvFreq(c, { contextLength: maxPositions });
  const cos = new Float32Array(maxPositions * inv.length),
    sin = new Float32Array(maxPositions * inv.length);
  for (let p = 0; p < maxPositions; p++) {
    for (let i = 0; i < inv.length; i++) {
      cos[p * inv.length + i] = Math.cos(p * inv[i]);
      sin[p * inv.length + i] = Math.sin(p * inv[i]);
    }
  }
  return { cos, sin };
}

/** Checks every tensor the graph reads against the config's shapes before anything is written. */
function checkShapes(c: ModelConfig, r: TensorReader): void {
  const h = c.hiddenSize,
    q = c.numHeads * c.headDim,
    kv = c.numKvHeads * c.headDim,
    ff = c.intermediateSize;
  const want: [string, number[]][] = [
    ['model.embed_tokens.weight', [c.vocabSize, h]],
    ['model.norm.weight', [h]],
  ];
  if (!c.tieWordEmbeddings) want.push(['lm_head.weight', [c.vocabSize, h]]);
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`;
    want.push(
      [`${p}.input_layernorm.weight`, [h]],
      [`${p}.self_attn.q_proj.weight`, [q, h]],
      [`${p}.self_attn.k_proj.weight`, [kv, h]],
      [`${p}.self_attn.v_proj.weight`, [kv, h]],
      [`${p}.self_attn.o_proj.weight`, [h, q]],
      [`${p}.post_attention_layernorm.weight`, [h]],
      [`${p}.mlp.gate_proj.weight`, [ff, h]],
      [`${p}.mlp.up_proj.weight`, [ff, h]],
      [`${p}.mlp.down_proj.weight`, [h, ff]],
    );
  }
  for (const [name, shape] of want) {
    const got = r.shape(name);
    if (!got) throw new MissingTensorError(`onnx export: tensor ${name} missing`);
    if (got.join() !== shape.join()) throw new ShapeMismatchError(`onnx export: ${name} is (${got}), expected (${shape})`);
  }
}

function layerNodes(
  c: ModelConfig,
  l: number,
  residualIn: string,
  normedIn: string,
): { nodes: NodeSpec[]; mlpOut: string; residualMid: string } {
  const p = `model.layers.${l}`;
  const ms = 'com.microsoft';
  const mm = (x: string, w: string, out: string): NodeSpec => ({ opType: 'MatMul', inputs: [x, `${p}.${w}`], outputs: [out] });
  const t = (s: string) => `/layers.${l}/${s}`;
  const nodes: NodeSpec[] = [
    mm(normedIn, 'self_attn.q_proj.MatMul.weight', t('q')),
    mm(normedIn, 'self_attn.k_proj.MatMul.weight', t('k')),
    mm(normedIn, 'self_attn.v_proj.MatMul.weight', t('v')),
    {
      opType: 'GroupQueryAttention',
      domain: ms,
      inputs: [
        t('q'),
        t('k'),
        t('v'),
        onnxNames.pastKey(l),
        onnxNames.pastValue(l),
        'seqlens_k',
        'total_sequence_length',
        'cos_cache',
        'sin_cache',
      ],
      outputs: [t('attn'), onnxNames.presentKey(l), onnxNames.presentValue(l)],
      attrs: { num_heads: c.numHeads, kv_num_heads: c.numKvHeads, do_rotary: 1, rotary_interleaved: 0 },
    },
    mm(t('attn'), 'self_attn.o_proj.MatMul.weight', t('o')),
    {
      opType: 'SkipSimplifiedLayerNormalization',
      domain: ms,
      inputs: [t('o'), residualIn, `${p}.post_attention_layernorm.weight`],
      outputs: [t('mlp_in'), '', '', t('residual_mid')],
      attrs: { epsilon: { float: c.rmsNormEps } },
    },
    mm(t('mlp_in'), 'mlp.gate_proj.MatMul.weight', t('gate')),
    mm(t('mlp_in'), 'mlp.up_proj.MatMul.weight', t('up')),
    { opType: 'Sigmoid', inputs: [t('gate')], outputs: [t('gate_sigmoid')] },
    { opType: 'Mul', inputs: [t('gate'), t('gate_sigmoid')], outputs: [t('silu')] },
    { opType: 'Mul', inputs: [t('silu'), t('up')], outputs: [t('glu')] },
    mm(t('glu'), 'mlp.down_proj.MatMul.weight', t('mlp_out')),
  ];
  return { nodes, mlpOut: t('mlp_out'), residualMid: t('residual_mid') };
}

/** Nodes that turn attention_mask into GroupQueryAttention's seqlens_k and total_sequence_length. */
function maskNodes(): NodeSpec[] {
  return [
    { opType: 'ReduceSum', inputs: [onnxNames.attentionMask, 'const_axis_1'], outputs: ['mask_sum'], attrs: { keepdims: 0 } },
    { opType: 'Sub', inputs: ['mask_sum', 'const_one_i64'], outputs: ['mask_sum_minus_1'] },
    { opType: 'Cast', inputs: ['mask_sum_minus_1'], outputs: ['seqlens_k'], attrs: { to: onnxInt32 } },
    { opType: 'Shape', inputs: [onnxNames.attentionMask], outputs: ['mask_shape'] },
    { opType: 'Gather', inputs: ['mask_shape', 'const_index_1'], outputs: ['total_i64'], attrs: { axis: 0 } },
    { opType: 'Cast', inputs: ['total_i64'], outputs: ['total_sequence_length'], attrs: { to: onnxInt32 } },
  ];
}

function initializers(c: ModelConfig, r: TensorReader, maxPositions: number): TensorInit[] {
  const h = c.hiddenSize,
    q = c.numHeads * c.headDim,
    kv = c.numKvHeads * c.headDim,
    ff = c.intermediateSize;
  const { cos, sin } = ropeCaches(c, maxPositions);
  const half = c.headDim / 2;
  const list: TensorInit[] = [
    asIs(r, 'model.embed_tokens.weight', [c.vocabSize, h]),
    { name: 'cos_cache', dims: [maxPositions, half], dataType: onnxFloat, data: cos },
    { name: 'sin_cache', dims: [maxPositions, half], dataType: onnxFloat, data: sin },
    { name: 'const_axis_1', dims: [1], dataType: onnxInt64, data: BigInt64Array.of(1n) },
    { name: 'const_one_i64', dims: [], dataType: onnxInt64, data: BigInt64Array.of(1n) },
    { name: 'const_index_1', dims: [], dataType: onnxInt64, data: BigInt64Array.of(1n) },
  ];
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`;
    const lin = (w: string, rows: number, cols: number) => transposed(r, `${p}.${w}.weight`, rows, cols, `${p}.${w}.MatMul.weight`);
    list.push(
      asIs(r, `${p}.input_layernorm.weight`, [h]),
      lin('self_attn.q_proj', q, h),
      lin('self_attn.k_proj', kv, h),
      lin('self_attn.v_proj', kv, h),
      lin('self_attn.o_proj', h, q),
      asIs(r, `${p}.post_attention_layernorm.weight`, [h]),
      lin('mlp.gate_proj', ff, h),
      lin('mlp.up_proj', ff, h),
      lin('mlp.down_proj', h, ff),
    );
  }
  list.push(asIs(r, 'model.norm.weight', [h]));
  const head = c.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';
  list.push(transposed(r, head, c.vocabSize, h, 'lm_head.MatMul.weight'));
  return list;
}

function graphIo(c: ModelConfig): { inputs: ValueSpec[]; outputs: ValueSpec[] } {
  const cache = (name: string, seq: string): ValueSpec => ({
    name,
    elemType: onnxFloat,
    dims: ['batch_size', c.numKvHeads, seq, c.headDim],
  });
  const inputs: ValueSpec[] = [
    { name: onnxNames.inputIds, elemType: onnxInt64, dims: ['batch_size', 'sequence_length'] },
    { name: onnxNames.attentionMask, elemType: onnxInt64, dims: ['batch_size', 'total_sequence_length'] },
  ];
  const outputs: ValueSpec[] = [{ name: onnxNames.logits, elemType: onnxFloat, dims: ['batch_size', 'sequence_length', c.vocabSize] }];
  for (let l = 0; l < c.numLayers; l++) {
    inputs.push(cache(onnxNames.pastKey(l), 'past_sequence_length'), cache(onnxNames.pastValue(l), 'past_sequence_length'));
    outputs.push(cache(onnxNames.presentKey(l), 'total_sequence_length'), cache(onnxNames.presentValue(l), 'total_sequence_length'));
  }
  return { inputs, outputs };
}

/** The ModelProto of a Llama model's config.json (parsed JSON) and its F32 tensors. */
export function llamaOnnx(configJson: unknown, r: TensorReader, o: LlamaOnnxOptions = {}): ProtoMessage {
  const c = parseModelConfig(configJson);
  checkSupported(c);
  checkShapes(c, r);
  const maxPositions = o.maxPositions ?? c.maxPositionEmbeddings;
  const nodes: NodeSpec[] = [
    ...maskNodes(),
    { opType: 'Gather', inputs: ['model.embed_tokens.weight', onnxNames.inputIds], outputs: ['/embed'], attrs: { axis: 0 } },
    {
      opType: 'SimplifiedLayerNormalization',
      inputs: ['/embed', 'model.layers.0.input_layernorm.weight'],
      outputs: ['/layers.0/attn_in'],
      attrs: { axis: -1, epsilon: { float: c.rmsNormEps }, stash_type: 1 },
    },
  ];
  let residual = '/embed',
    normed = '/layers.0/attn_in';
  for (let l = 0; l < c.numLayers; l++) {
    const layer = layerNodes(c, l, residual, normed);
    nodes.push(...layer.nodes);
    const last = l === c.numLayers - 1;
    residual = last ? '' : `/layers.${l + 1}/residual_in`;
    normed = last ? '/final_norm' : `/layers.${l + 1}/attn_in`;
    nodes.push({
      opType: 'SkipSimplifiedLayerNormalization',
      domain: 'com.microsoft',
      inputs: [layer.mlpOut, layer.residualMid, last ? 'model.norm.weight' : `model.layers.${l + 1}.input_layernorm.weight`],
      outputs: last ? [normed] : [normed, '', '', residual],
      attrs: { epsilon: { float: c.rmsNormEps } },
    });
  }
  nodes.push({ opType: 'MatMul', inputs: ['/final_norm', 'lm_head.MatMul.weight'], outputs: [onnxNames.logits] });
  return onnxModel({
    graph: { name: `${c.family}_decoder`, nodes, initializers: initializers(c, r, maxPositions), ...graphIo(c) },
    opsets: [
      { domain: '', version: 17 },
      { domain: 'com.microsoft', version: 1 },
    ],
    producer: 'memory3-web tools/onnx/export-llama',
  });
}
