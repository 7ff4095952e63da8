/**
 * The tiny test sentence encoder: a real ONNX graph with BGE's input/output names, and the same
 * computation in plain TS (float64) as its CPU reference.
 *
 *   e     = word[input_ids] + type[token_type_ids]            (batch, seq, hidden)
 *   m     = float(attention_mask)[..., None]                  (batch, seq, 1)
 *   ctx   = Σ_s e·m / Σ_s m                                   (batch, 1, hidden)  masked mean: mixes context
 *   h     = tanh((e + ctx) · W + b) · m                       (batch, seq, hidden) = last_hidden_state
 *   sentence_embedding = Σ_s h / Σ_s m                        (batch, hidden)     ("pooled" variant only)
 *
 * No positions: the context mixing is what makes the CLS row depend on the whole sentence.
 * Variant 'bge' declares token_type_ids and outputs last_hidden_state; variant 'pooled' has no
 * token_type_ids (type row 0 is added as a constant instead) and also outputs sentence_embedding.
 */
import { Prng } from '../fixtures/prng';
import { onnxFloat, onnxInt64, onnxModel, type NodeSpec, type TensorInit, type ValueSpec } from '../onnx/protobuf';

export type EmbedderVariant = 'bge' | 'pooled';

/** Hidden size of the committed fixture. */
export const embedderHidden = 32;

export interface EmbedderWeights {
  vocab: number;
  hidden: number;
  word: Float32Array; // (vocab, hidden)
  type: Float32Array; // (2, hidden)
  w: Float32Array; // (hidden, hidden), x · W
  b: Float32Array; // (hidden)
}

/** Deterministic weights: same seed, same bytes. */
export function makeEmbedderWeights(vocab: number, hidden: number, seed = 20240701): EmbedderWeights {
  const rng = new Prng(seed);
  const fill = (n: number, scale: number) => Float32Array.from({ length: n }, () => rng.gaussian() * scale);
  return {
    vocab,
    hidden,
    word: fill(vocab * hidden, 0.5),
    type: fill(2 * hidden, 0.1),
    w: fill(hidden * hidden, 1 / Math.sqrt(hidden)),
    b: fill(hidden, 0.05),
  };
}

function initializers(wt: EmbedderWeights, variant: EmbedderVariant): TensorInit[] {
  const f = (name: string, dims: number[], data: Float32Array): TensorInit => ({ name, dims, dataType: onnxFloat, data });
  const list = [
    f('word_embeddings', [wt.vocab, wt.hidden], wt.word),
    f('dense.weight', [wt.hidden, wt.hidden], wt.w),
    f('dense.bias', [wt.hidden], wt.b),
    { name: 'axis_seq', dims: [1], dataType: onnxInt64, data: BigInt64Array.of(1n) } as TensorInit,
    { name: 'axis_last', dims: [1], dataType: onnxInt64, data: BigInt64Array.of(2n) } as TensorInit,
  ];
  if (variant === 'bge') list.push(f('token_type_embeddings', [2, wt.hidden], wt.type));
  else list.push(f('token_type_row0', [wt.hidden], wt.type.slice(0, wt.hidden)));
  return list;
}

function nodes(variant: EmbedderVariant): NodeSpec[] {
  const list: NodeSpec[] = [
    { opType: 'Gather', inputs: ['word_embeddings', 'input_ids'], outputs: ['word'], attrs: { axis: 0 } },
    variant === 'bge'
      ? { opType: 'Gather', inputs: ['token_type_embeddings', 'token_type_ids'], outputs: ['types'], attrs: { axis: 0 } }
      : { opType: 'Identity', inputs: ['token_type_row0'], outputs: ['types'] },
    { opType: 'Add', inputs: ['word', 'types'], outputs: ['e'] },
    { opType: 'Cast', inputs: ['attention_mask'], outputs: ['mask_f'], attrs: { to: onnxFloat } },
    { opType: 'Unsqueeze', inputs: ['mask_f', 'axis_last'], outputs: ['m'] },
    { opType: 'Mul', inputs: ['e', 'm'], outputs: ['em'] },
    { opType: 'ReduceSum', inputs: ['em', 'axis_seq'], outputs: ['e_sum'], attrs: { keepdims: 1 } },
    { opType: 'ReduceSum', inputs: ['m', 'axis_seq'], outputs: ['m_sum'], attrs: { keepdims: 1 } },
    { opType: 'Div', inputs: ['e_sum', 'm_sum'], outputs: ['ctx'] },
    { opType: 'Add', inputs: ['e', 'ctx'], outputs: ['x'] },
    { opType: 'MatMul', inputs: ['x', 'dense.weight'], outputs: ['xw'] },
    { opType: 'Add', inputs: ['xw', 'dense.bias'], outputs: ['y'] },
    { opType: 'Tanh', inputs: ['y'], outputs: ['t'] },
    { opType: 'Mul', inputs: ['t', 'm'], outputs: ['last_hidden_state'] },
  ];
  if (variant === 'pooled') {
    list.push(
      { opType: 'ReduceSum', inputs: ['last_hidden_state', 'axis_seq'], outputs: ['h_sum'], attrs: { keepdims: 0 } },
      { opType: 'ReduceSum', inputs: ['mask_f', 'axis_seq'], outputs: ['count'], attrs: { keepdims: 1 } },
      { opType: 'Div', inputs: ['h_sum', 'count'], outputs: ['sentence_embedding'] },
    );
  }
  return list;
}

/** The ONNX model bytes of a variant. */
export function embedderOnnx(wt: EmbedderWeights, variant: EmbedderVariant): Uint8Array {
  const ids = (name: string): ValueSpec => ({ name, elemType: onnxInt64, dims: ['batch', 'sequence'] });
  const inputs = [ids('input_ids'), ids('attention_mask')];
  if (variant === 'bge') inputs.push(ids('token_type_ids'));
  const outputs: ValueSpec[] = [{ name: 'last_hidden_state', elemType: onnxFloat, dims: ['batch', 'sequence', wt.hidden] }];
  const pooled: ValueSpec = { name: 'sentence_embedding', elemType: onnxFloat, dims: ['batch', wt.hidden] };
  const graph = {
    name: `tiny_embedder_${variant}`,
    nodes: nodes(variant),
    initializers: initializers(wt, variant),
    inputs: [...inputs],
    outputs: variant === 'pooled' ? [...outputs, pooled] : [...outputs],
  };
  return onnxModel({ graph, opsets: [{ domain: '', version: 17 }], producer: 'memory3-web tools/embedder' }).toBytes();
}

export interface ReferenceOutput {
  lastHiddenState: Float64Array; // (batch, seq, hidden)
  sentenceEmbedding: Float64Array; // (batch, hidden), masked mean of lastHiddenState
}

/** The graph in float64 on the CPU. `ids`, `mask`, `types`: (batch, seq) row-major. */
export function referenceForward(
  wt: EmbedderWeights,
  batch: number,
  seq: number,
  ids: ArrayLike<number>,
  mask: ArrayLike<number>,
  types?: ArrayLike<number>,
): ReferenceOutput {
  const H = wt.hidden;
  const last = new Float64Array(batch * seq * H);
  const pooled = new Float64Array(batch * H);
  for (let bi = 0; bi < batch; bi++) {
    const e = new Float64Array(seq * H);
    const ctx = new Float64Array(H);
    let count = 0;
    for (let s = 0; s < seq; s++) {
      const r = bi * seq + s;
      const t = types ? types[r] : 0;
      for (let j = 0; j < H; j++) e[s * H + j] = wt.word[ids[r] * H + j] + wt.type[t * H + j];
      count += mask[r];
      for (let j = 0; j < H; j++) ctx[j] += e[s * H + j] * mask[r];
    }
    for (let j = 0; j < H; j++) ctx[j] /= count;
    for (let s = 0; s < seq; s++) {
      const m = mask[bi * seq + s];
      for (let o = 0; o < H; o++) {
        let acc = wt.b[o];
        for (let j = 0; j < H; j++) acc += (e[s * H + j] + ctx[j]) * wt.w[j * H + o];
        const h = Math.tanh(acc) * m;
        last[(bi * seq + s) * H + o] = h;
        pooled[bi * H + o] += h / count;
      }
    }
  }
  return { lastHiddenState: last, sentenceEmbedding: pooled };
}
