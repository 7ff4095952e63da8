/**
 * Sentence embeddings from an ONNX encoder (BGE / BGE-M3 layout) through onnxruntime-web's wasm
 * backend, in Node and in the browser.
 *
 * Inputs: input_ids, attention_mask (int64, (batch, seq)) and token_type_ids (zeros) when the graph
 * declares it. Output: `last_hidden_state` (batch, seq, hidden) pooled by CLS (row 0, what BGE uses)
 * or masked mean; or `sentence_embedding` (batch, hidden) as is. Rows are L2-normalized.
 *
 * onnxruntime-web is imported lazily (`onnxruntime-web/wasm`, the wasm-only build). Where its .wasm
 * comes from: `ort.wasmPaths` when given (a URL prefix or `{ wasm: url }`, e.g. a self-hosted copy);
 * else in Node the package finds it in node_modules itself; else in the browser it is imported as a
 * Vite asset (`onnxruntime-web/ort-wasm-simd-threaded.wasm?url`: served by the dev server, emitted by
 * `vite build`), because Vite's dependency pre-bundling breaks the package's own import.meta.url
 * lookup. A bundler other than Vite must pass `ort.wasmPaths`. Single-threaded by default
 * (numThreads 1), so no SharedArrayBuffer / cross-origin isolation is needed.
 *
 * The tokenizer is passed in (the engine builds it with src/tokenizer from the embedder's own
 * tokenizer.json): memory/ does not import tokenizer/ (layering).
 */
import type { InferenceSession, Tensor } from 'onnxruntime-web';
import { ModelFetchError, RetrievalError } from '../../util/errors';
import { isWebPageResponse, webPageError } from '../../util/web-page';
import type { TextEmbedder } from './types';

export type Pooling = 'cls' | 'mean';

/** What the embedder needs from a tokenizer (src/tokenizer/tokenizer.ts `Tokenizer` fits). */
export interface EmbedderTokenizer {
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
  tokenToId(token: string): number | null;
}

export interface OrtEnvOptions {
  /** ort.env.wasm.wasmPaths: a URL prefix or `{ wasm, mjs }` file URLs; default: the package's own. */
  wasmPaths?: string | { wasm?: string | URL; mjs?: string | URL };
  /** ort.env.wasm.numThreads (default 1: no SharedArrayBuffer needed). */
  numThreads?: number;
}

export interface OnnxEmbedderOptions {
  /** The .onnx model: bytes, or a URL to fetch. */
  model: Uint8Array | ArrayBuffer | string | URL;
  tokenizer: EmbedderTokenizer;
  /** Pooling of last_hidden_state (default 'cls', as BGE). Ignored for sentence_embedding. */
  pooling?: Pooling;
  /** Which output to read (default: last_hidden_state when the graph has it, else sentence_embedding). */
  output?: 'last_hidden_state' | 'sentence_embedding';
  /** Tokens per text including specials; longer texts are cut, keeping the specials (default 512). */
  maxLength?: number;
  /** Texts per session run (default 16). */
  batchSize?: number;
  /** Padding id (default: `<pad>` or `[PAD]` from the tokenizer, else 0). Padding is masked out. */
  padTokenId?: number;
  ort?: OrtEnvOptions;
}

type Ort = typeof import('onnxruntime-web');

const inNode = !!(globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node;

async function loadOrt(env: OrtEnvOptions = {}): Promise<Ort> {
  const ort = (await import('onnxruntime-web/wasm')) as unknown as Ort;
  ort.env.wasm.numThreads = env.numThreads ?? 1;
  if (env.wasmPaths !== undefined) {
    ort.env.wasm.wasmPaths = env.wasmPaths as never;
  } else if (!inNode && ort.env.wasm.wasmPaths === undefined) {
    // Vite's dependency pre-bundling moves the package's JS, so its own `new URL(wasm, import.meta.url)`
    // points at a file that is not there; ask Vite for the binary's URL instead (dev server and build).
    const { default: wasm } = await import('onnxruntime-web/ort-wasm-simd-threaded.wasm?url');
    ort.env.wasm.wasmPaths = { wasm };
  }
  return ort;
}

async function modelBytes(model: OnnxEmbedderOptions['model']): Promise<Uint8Array> {
  if (model instanceof Uint8Array) return model;
  if (model instanceof ArrayBuffer) return new Uint8Array(model);
  const url = String(model);
  let response: Response;
  try {
    response = await fetch(url);
  } catch (err) {
    throw new ModelFetchError(`embedding model: fetch ${url} failed: ${(err as Error).message}`, { url });
  }
  if (!response.ok)
    throw new ModelFetchError(`embedding model: fetch ${url} returned HTTP ${response.status}`, { url, status: response.status });
  if (isWebPageResponse(response, url)) throw webPageError(url, 'the embedding model', response.status);
  return new Uint8Array(await response.arrayBuffer());
}

/** Splits the tokenizer's special-token template into the ids before and after the text. */
function specialsAround(tokenizer: EmbedderTokenizer): { prefix: number[]; suffix: number[] } {
  const probe = 'a';
  const full = tokenizer.encode(probe, { addSpecialTokens: true });
  const plain = tokenizer.encode(probe, { addSpecialTokens: false });
  for (let p = 0; p + plain.length <= full.length; p++) {
    if (plain.every((id, i) => full[p + i] === id)) return { prefix: full.slice(0, p), suffix: full.slice(p + plain.length) };
  }
  throw new RetrievalError('embedder tokenizer: the text tokens are not contiguous inside the special-token template');
}

export class OnnxEmbedder implements TextEmbedder {
  /** Set by the probe run in create(). */
  dim = 0;
  readonly pooling: Pooling;
  readonly output: 'last_hidden_state' | 'sentence_embedding';
  readonly maxLength: number;
  readonly batchSize: number;
  readonly padTokenId: number;
  readonly hasTokenTypes: boolean;
  private readonly prefix: number[];
  private readonly suffix: number[];

  private constructor(
    private readonly ort: Ort,
    private readonly session: InferenceSession,
    private readonly tokenizer: EmbedderTokenizer,
    options: OnnxEmbedderOptions,
  ) {
    const inputs = session.inputNames,
      outputs = session.outputNames;
    for (const name of ['input_ids', 'attention_mask']) {
      if (!inputs.includes(name)) throw new RetrievalError(`embedding model: graph has no input '${name}'`, { inputs: [...inputs] });
    }
    this.hasTokenTypes = inputs.includes('token_type_ids');
    this.output = options.output ?? (outputs.includes('last_hidden_state') ? 'last_hidden_state' : 'sentence_embedding');
    if (!outputs.includes(this.output))
      throw new RetrievalError(`embedding model: graph has no output '${this.output}'`, { outputs: [...outputs] });
    this.pooling = options.pooling ?? 'cls';
    if (this.pooling !== 'cls' && this.pooling !== 'mean') throw new RetrievalError(`embedding model: unknown pooling '${this.pooling}'`);
    ({ prefix: this.prefix, suffix: this.suffix } = specialsAround(tokenizer));
    this.maxLength = options.maxLength ?? 512;
    if (!Number.isInteger(this.maxLength) || this.maxLength <= this.prefix.length + this.suffix.length) {
      throw new RetrievalError(`embedding model: maxLength ${this.maxLength} leaves no room for text`);
    }
    this.batchSize = Math.max(1, Math.floor(options.batchSize ?? 16));
    this.padTokenId = options.padTokenId ?? tokenizer.tokenToId('<pad>') ?? tokenizer.tokenToId('[PAD]') ?? 0;
  }

  static async create(options: OnnxEmbedderOptions): Promise<OnnxEmbedder> {
    const ort = await loadOrt(options.ort);
    const bytes = await modelBytes(options.model);
    let session: InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
    } catch (err) {
      throw new RetrievalError(`embedding model: onnxruntime could not load it: ${(err as Error).message}`, {
        byteLength: bytes.byteLength,
      });
    }
    const embedder = new OnnxEmbedder(ort, session, options.tokenizer, options);
    const probe = await embedder.runBatch([embedder.tokenize('dimension probe')]);
    embedder.dim = probe.dim;
    return embedder;
  }

  /** Token ids of one text: template prefix + text tokens cut to fit maxLength + template suffix. */
  tokenize(text: string): number[] {
    const room = this.maxLength - this.prefix.length - this.suffix.length;
    return [...this.prefix, ...this.tokenizer.encode(text, { addSpecialTokens: false }).slice(0, room), ...this.suffix];
  }

  async embed(texts: readonly string[]): Promise<Float32Array> {
    const out = new Float32Array(texts.length * this.dim);
    for (let start = 0; start < texts.length; start += this.batchSize) {
      const batch = texts.slice(start, start + this.batchSize).map((t) => this.tokenize(t));
      const { rows } = await this.runBatch(batch);
      out.set(rows, start * this.dim);
    }
    return out;
  }

  /** Runs one padded batch; returns L2-normalized pooled rows (batch, dim). */
  private async runBatch(batch: number[][]): Promise<{ rows: Float32Array; dim: number }> {
    const b = batch.length,
      seq = Math.max(...batch.map((t) => t.length));
    const ids = new BigInt64Array(b * seq).fill(BigInt(this.padTokenId));
    const mask = new BigInt64Array(b * seq);
    batch.forEach((tokens, i) =>
      tokens.forEach((id, s) => {
        ids[i * seq + s] = BigInt(id);
        mask[i * seq + s] = 1n;
      }),
    );
    const T = this.ort.Tensor;
    const feeds: Record<string, Tensor> = { input_ids: new T('int64', ids, [b, seq]), attention_mask: new T('int64', mask, [b, seq]) };
    if (this.hasTokenTypes) feeds.token_type_ids = new T('int64', new BigInt64Array(b * seq), [b, seq]);
    let result: Tensor;
    try {
      result = (await this.session.run(feeds, [this.output]))[this.output];
    } catch (err) {
      throw new RetrievalError(`embedding model: run failed: ${(err as Error).message}`, { batch: b, seq });
    }
    return poolRows(result.data as Float32Array, result.dims, mask, this.output === 'last_hidden_state' ? this.pooling : null);
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Pools an output to (batch, hidden) and L2-normalizes each row. `pooling` null: the output is
 * already (batch, hidden). Sums in float64.
 */
export function poolRows(
  data: Float32Array,
  dims: readonly number[],
  mask: BigInt64Array,
  pooling: Pooling | null,
): { rows: Float32Array; dim: number } {
  const b = dims[0];
  const seq = pooling === null ? 1 : dims[1];
  const H = dims[dims.length - 1];
  if (dims.length !== (pooling === null ? 2 : 3) || data.length !== b * seq * H) {
    throw new RetrievalError(`embedding model: unexpected output shape [${dims.join(', ')}]`, { dims: [...dims] });
  }
  const rows = new Float32Array(b * H);
  const acc = new Float64Array(H);
  for (let i = 0; i < b; i++) {
    acc.fill(0);
    if (pooling === 'mean') {
      let count = 0;
      for (let s = 0; s < seq; s++) {
        if (mask[i * seq + s] === 0n) continue;
        count++;
        for (let j = 0; j < H; j++) acc[j] += data[(i * seq + s) * H + j];
      }
      for (let j = 0; j < H; j++) acc[j] /= Math.max(count, 1);
    } else {
      for (let j = 0; j < H; j++) acc[j] = data[i * seq * H + j]; // CLS = row 0, or the pooled row
    }
    let ss = 0;
    for (let j = 0; j < H; j++) ss += acc[j] * acc[j];
    const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
    for (let j = 0; j < H; j++) rows[i * H + j] = acc[j] * inv;
  }
  return { rows, dim: H };
}
