/**
 * A bank's retriever: lexical (BM25 via minisearch, always kept), and optionally dense embeddings
 * from an ONNX sentence-embedding model (BGE-style) with a cosine index over the bank's stored
 * vectors, alone ('embedding') or fused with the lexical ranking ('hybrid', reciprocal rank fusion).
 * The lexical index is saved in the bank's meta; the dense index is rebuilt from the stored vectors.
 */
import type { Tokenizer } from '../tokenizer/tokenizer';
import { InvalidOptionsError, ModelFetchError } from '../util/errors';
import {
  CosineIndex, EmbeddingRetriever, HybridRetriever, LexicalRetriever, OnnxEmbedder, type Pooling, type Retriever, type SearchHit,
} from './retrieval';
import type { BankStore } from './store/bank-store';

export type RetrieverSpec =
  | { kind: 'lexical' }
  | { kind: 'embedding' | 'hybrid'; /** Folder URL holding model.onnx and tokenizer.json. */ model: string; pooling?: Pooling; /** Hybrid: the embedding side's weight (0.5). */ weight?: number };

interface StoredState { kind: RetrieverSpec['kind']; index: Uint8Array; embedder?: { model: string; pooling: Pooling; weight: number } }

export type TokenizerFactory = (tokenizerJson: unknown) => Tokenizer;

/** ONNX embedders by URL: one session per model per worker. */
const embedders = new Map<string, Promise<OnnxEmbedder>>();

async function loadEmbedder(url: string, pooling: Pooling, makeTokenizer: TokenizerFactory): Promise<OnnxEmbedder> {
  const key = `${url}|${pooling}`;
  let e = embedders.get(key);
  if (!e) {
    e = (async () => {
      const base = url.endsWith('/') ? url : `${url}/`;
      const get = async (file: string) => {
        const r = await fetch(new URL(file, base)).catch((err) => { throw new ModelFetchError(`fetching ${base}${file} failed: ${(err as Error).message}`); });
        if (!r.ok) throw new ModelFetchError(`fetching ${base}${file} failed: HTTP ${r.status}`, { url: `${base}${file}`, status: r.status });
        return r;
      };
      const tokenizer = makeTokenizer(await (await get('tokenizer.json')).json());
      const model = new Uint8Array(await (await get('model.onnx')).arrayBuffer());
      return OnnxEmbedder.create({ model, tokenizer, pooling });
    })();
    embedders.set(key, e);
    e.catch(() => embedders.delete(key));
  }
  return e;
}

export class BankRetriever {
  private constructor(
    readonly spec: RetrieverSpec, private readonly lexical: LexicalRetriever,
    private readonly dense: EmbeddingRetriever | null, private readonly searcher: Retriever,
  ) {}

  /** The initial meta state of a new bank (validated; the embedder is loaded once to check it works). */
  static async initialState(spec: RetrieverSpec = { kind: 'lexical' }, makeTokenizer: TokenizerFactory): Promise<StoredState> {
    const lexical = new LexicalRetriever().serialize();
    if (spec.kind === 'lexical') return { kind: 'lexical', index: lexical };
    if (spec.kind !== 'embedding' && spec.kind !== 'hybrid') throw new InvalidOptionsError(`retriever.kind must be lexical, embedding or hybrid, got ${JSON.stringify((spec as { kind: unknown }).kind)}`);
    if (typeof spec.model !== 'string') throw new InvalidOptionsError('retriever.model must be the URL of a folder with model.onnx and tokenizer.json');
    const pooling = spec.pooling ?? 'cls';
    await loadEmbedder(spec.model, pooling, makeTokenizer);
    return { kind: spec.kind, index: lexical, embedder: { model: spec.model, pooling, weight: spec.weight ?? 0.5 } };
  }

  static async open(store: BankStore, makeTokenizer: TokenizerFactory): Promise<BankRetriever> {
    const state = store.meta.retrieverState as StoredState;
    const lexical = LexicalRetriever.deserialize(state.index);
    if (state.kind === 'lexical' || !state.embedder) return new BankRetriever({ kind: 'lexical' }, lexical, null, lexical);
    const embedder = await loadEmbedder(state.embedder.model, state.embedder.pooling, makeTokenizer);
    const all = await store.allVectors();
    const index = await CosineIndex.fromBank({ allVectors: async () => all.ids.map((id, i) => ({ id, vector: all.vectors[i] })) }, { dim: embedder.dim });
    const dense = new EmbeddingRetriever(embedder, {}, index);
    const spec: RetrieverSpec = { kind: state.kind, model: state.embedder.model, pooling: state.embedder.pooling, weight: state.embedder.weight };
    const searcher = state.kind === 'embedding' ? dense : new HybridRetriever(lexical, dense, { weight: state.embedder.weight });
    return new BankRetriever(spec, lexical, dense, searcher);
  }

  get kind(): string { return this.spec.kind; }

  /** Embeddings to store with a batch of references (null for a lexical bank). */
  async embed(texts: string[]): Promise<Float32Array[] | null> {
    if (!this.dense) return null;
    const flat = await this.dense.embedder.embed(texts), dim = this.dense.embedder.dim;
    return texts.map((_, i) => flat.slice(i * dim, (i + 1) * dim));
  }

  /** Adds stored references (and their stored vectors) to the in-memory indexes. */
  async add(ids: number[], texts: string[], vectors: Float32Array[] | null): Promise<void> {
    await this.lexical.add(ids.map((id, i) => ({ id, text: texts[i] })));
    if (this.dense && vectors) ids.forEach((id, i) => this.dense!.index.add([id], vectors[i]));
  }

  has(id: number): boolean { return this.lexical.has(id); }

  search(query: string, k: number): Promise<SearchHit[]> { return this.searcher.search(query, k); }

  /** What the bank's meta keeps (the dense index is rebuilt from the vectors store). */
  state(): StoredState {
    const s: StoredState = { kind: this.spec.kind, index: this.lexical.serialize() };
    if (this.spec.kind !== 'lexical') s.embedder = { model: this.spec.model, pooling: this.spec.pooling ?? 'cls', weight: this.spec.weight ?? 0.5 };
    return s;
  }
}
