/**
 * A greedy decoder over an exported Llama graph (tools/onnx/export-llama.ts) in onnxruntime-web's
 * WebGPU EP, driven as Transformers.js drives its decoder models: one session run per step with
 * input_ids, attention_mask (all ones) and past_key_values.L.key/value; the present.L.* outputs stay
 * on the GPU (`preferredOutputLocation: 'gpu-buffer'`) and are fed back as the next step's past (the
 * previous ones disposed); the logits are downloaded (`getData(true)`) for the argmax on the CPU.
 * Page side only.
 */
import type * as OrtNamespace from 'onnxruntime-web';
import { onnxNames } from '../../tools/onnx/export-llama';

type Ort = typeof OrtNamespace;
type Tensor = OrtNamespace.Tensor;

let ortPromise: Promise<Ort> | undefined;

/**
 * onnxruntime-web's WebGPU build (the C++ WebGPU EP in the asyncify wasm), single-threaded. Vite's
 * pre-bundling moves the package's JS, so its own `new URL(wasm, import.meta.url)` would miss the
 * binary: Vite gives the binary's URL instead (as src/memory/retrieval/onnx-embedder.ts does).
 */
export function loadOrtWebgpu(): Promise<Ort> {
  ortPromise ??= (async () => {
    const ort = (await import('onnxruntime-web/webgpu')) as unknown as Ort;
    const { default: wasm } = await import('onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url');
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.wasmPaths = { wasm };
    return ort;
  })();
  return ortPromise;
}

/** What the graph's inputs say about the cache: layers, and each layer's (kvHeads, headDim). */
function cacheShape(session: OrtNamespace.InferenceSession): { layers: number; kvHeads: number; headDim: number; vocab: number } {
  const pasts = session.inputMetadata.filter((m) => m.name.startsWith('past_key_values.') && m.name.endsWith('.key'));
  const first = pasts[0];
  if (!first?.isTensor) throw new Error(`onnxruntime decoder: the graph has no ${onnxNames.pastKey(0)} input`);
  const [, kvHeads, , headDim] = first.shape;
  const logits = session.outputMetadata.find((m) => m.name === onnxNames.logits);
  const vocab = logits?.isTensor ? logits.shape[2] : undefined;
  if (typeof kvHeads !== 'number' || typeof headDim !== 'number' || typeof vocab !== 'number') {
    throw new Error(`onnxruntime decoder: cache dims (${first.shape}) or logits dims are not fixed numbers`);
  }
  return { layers: pasts.length, kvHeads, headDim, vocab };
}

export interface OrtDecoder {
  ort: Ort;
  session: OrtNamespace.InferenceSession;
  vocab: number;
  /** Runs `ids` after the cached ones; returns their logits, (ids.length, vocab) row-major. */
  step(ids: number[]): Promise<Float32Array>;
  /** Where the cache lives after a step ('gpu-buffer' once a step ran). */
  cacheLocation(): string;
  /** Drops the cache (GPU buffers released): the next step starts at position 0. */
  reset(): void;
  dispose(): Promise<void>;
}

export async function createOrtDecoder(model: Uint8Array | string): Promise<OrtDecoder> {
  const ort = await loadOrtWebgpu();
  // Every output stays on the GPU: the caches to be fed back, the logits to be downloaded once.
  const options: OrtNamespace.InferenceSession.SessionOptions = { executionProviders: ['webgpu'], preferredOutputLocation: 'gpu-buffer' };
  const session = await (typeof model === 'string'
    ? ort.InferenceSession.create(model, options)
    : ort.InferenceSession.create(model, options));
  const { layers, kvHeads, headDim, vocab } = cacheShape(session);
  let past: Record<string, Tensor> = {};
  let cached = 0;
  const reset = () => {
    for (const t of Object.values(past)) t.dispose();
    past = {};
    cached = 0;
    for (let l = 0; l < layers; l++) {
      for (const name of [onnxNames.pastKey(l), onnxNames.pastValue(l)]) {
        past[name] = new ort.Tensor('float32', new Float32Array(0), [1, kvHeads, 0, headDim]);
      }
    }
  };
  reset();
  return {
    ort,
    session,
    vocab,
    reset,
    cacheLocation: () => past[onnxNames.pastKey(0)].location,
    async step(ids) {
      const total = cached + ids.length;
      const feeds: Record<string, Tensor> = {
        ...past,
        [onnxNames.inputIds]: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]),
        [onnxNames.attentionMask]: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
      };
      const out = await session.run(feeds);
      for (const t of Object.values(past)) t.dispose();
      past = {};
      for (let l = 0; l < layers; l++) {
        past[onnxNames.pastKey(l)] = out[onnxNames.presentKey(l)];
        past[onnxNames.pastValue(l)] = out[onnxNames.presentValue(l)];
      }
      cached = total;
      return (await out[onnxNames.logits].getData(true)) as Float32Array;
    },
    async dispose() {
      for (const t of Object.values(past)) t.dispose();
      past = {};
      await session.release();
    },
  };
}

/** Index of the largest logit in row `row` of (rows, vocab) logits, among ids [0, usable) (default all). */
export function argmaxRow(logits: Float32Array, vocab: number, row: number, usable = vocab): number {
  let best = 0;
  for (let i = 1; i < Math.min(usable, vocab); i++) if (logits[row * vocab + i] > logits[row * vocab + best]) best = i;
  return best;
}
