/**
 * A bank's retriever: lexical (BM25 via minisearch, always kept), and optionally dense embeddings
 * from an ONNX sentence-embedding model (BGE-style) with a cosine index over the bank's stored
 * vectors, alone ('embedding') or fused with the lexical ranking ('hybrid', reciprocal rank fusion).
 * The lexical index is saved in the bank's meta; the dense index is rebuilt from the stored vectors.
 */
import type { Tokenizer } from '../tokenizer/tokenizer';
import { InvalidOptionsError, ModelFetchError, RetrievalError } from '../util/errors';
import { isWebPageResponse, looksLikeWebPage, webPageError } from '../util/web-page';
import {
  CosineIndex,
  createIndexWorker,
  fuseHits,
  LexicalRetriever,
  OnnxEmbedder,
  type IndexWorker,
  type Pooling,
  type SearchHit,
  type TextEmbedder,
} from './retrieval';
import type { BankStore } from './store/bank-store';

import type { RetrieverSpec } from './api-types';

export type { RetrieverSpec } from './api-types';

interface StoredState {
  kind: RetrieverSpec['kind'];
  index: Uint8Array;
  embedder?: { model: string; pooling: Pooling; weight: number };
}

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
        const r = await fetch(new URL(file, base)).catch((err) => {
          throw new ModelFetchError(`fetching ${base}${file} failed: ${(err as Error).message}`);
        });
        if (!r.ok)
          throw new ModelFetchError(`fetching ${base}${file} failed: HTTP ${r.status}`, { url: `${base}${file}`, status: r.status });
        if (isWebPageResponse(r, file)) throw webPageError(`${base}${file}`, file, r.status);
        return r;
      };
      const text = await (await get('tokenizer.json')).text();
      if (looksLikeWebPage(text)) throw webPageError(`${base}tokenizer.json`, 'tokenizer.json');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (err) {
        throw new RetrievalError(`embedding model ${base}: tokenizer.json is not valid JSON (${(err as Error).message})`, {
          url: `${base}tokenizer.json`,
        });
      }
      const tokenizer = makeTokenizer(json);
      const model = new Uint8Array(await (await get('model.onnx')).arrayBuffer());
      return OnnxEmbedder.create({ model, tokenizer, pooling });
    })();
    embedders.set(key, e);
    e.catch(() => embedders.delete(key));
  }
  return e;
}

/** Above this many vectors the cosine index runs in its own worker, so a search never blocks decoding. */
export const offThreadVectors = 20_000;

/** The dense side: an embedder and a cosine index, in this thread or in an index worker. */
class Dense {
  private readonly ids = new Set<number>();
  private constructor(
    readonly embedder: TextEmbedder,
    private readonly local: CosineIndex | null,
    private readonly worker: IndexWorker | null,
  ) {}

  static async create(embedder: TextEmbedder, all: { ids: number[]; vectors: Float32Array[] }, offThreadAt: number): Promise<Dense> {
    const dim = embedder.dim,
      packed = new Float32Array(all.ids.length * dim);
    all.vectors.forEach((v, i) => packed.set(v, i * dim));
    let d: Dense;
    if (all.ids.length >= offThreadAt && typeof Worker !== 'undefined') {
      const worker = createIndexWorker();
      await worker.init({ dim });
      if (all.ids.length) await worker.add(all.ids, packed);
      d = new Dense(embedder, null, worker);
    } else {
      d = new Dense(embedder, CosineIndex.fromVectors(all.ids, packed, { dim }), null);
    }
    for (const id of all.ids) d.ids.add(id);
    return d;
  }

  get offThread(): boolean {
    return this.worker !== null;
  }

  async add(ids: number[], vectors: Float32Array[]): Promise<void> {
    const packed = new Float32Array(ids.length * this.embedder.dim);
    vectors.forEach((v, i) => packed.set(v, i * this.embedder.dim));
    if (this.worker) await this.worker.add(ids, packed);
    else this.local!.add(ids, packed);
    for (const id of ids) this.ids.add(id);
  }

  async search(query: string, k: number): Promise<SearchHit[]> {
    const q = await this.embedder.embed([query]);
    return this.worker ? this.worker.search(q, k) : this.local!.search(q, k);
  }

  close(): void {
    this.worker?.terminate();
  }
}

/**
 * The saved lexical index made to cover exactly the stored references. It is saved apart from the
 * write batches (every few batches and at the end of a run), so after a crash it may lack the last
 * batches' references, or still hold those of a document since deleted: the missing ones are
 * indexed again, and an index holding ids the bank no longer has is rebuilt from the references.
 */
async function reconcile(lexical: LexicalRetriever, store: BankStore): Promise<LexicalRetriever> {
  const ids = await store.referenceIds();
  const missing = ids.filter((id) => !lexical.has(id));
  const stale = lexical.size - (ids.length - missing.length);
  if (missing.length === 0 && stale === 0) return lexical;
  const index = stale > 0 ? lexical.emptyCopy() : lexical;
  const add = stale > 0 ? ids : missing;
  for (let i = 0; i < add.length; i += 512) {
    const refs = [...(await store.getReferences(add.slice(i, i + 512))).values()];
    await index.add(refs.map((r) => ({ id: r.id, text: r.text })));
  }
  return index;
}

export class BankRetriever {
  private constructor(
    readonly spec: RetrieverSpec,
    private readonly lexical: LexicalRetriever,
    private readonly dense: Dense | null,
  ) {}

  /** The initial meta state of a new bank (validated; the embedder is loaded once to check it works). */
  static async initialState(spec: RetrieverSpec = { kind: 'lexical' }, makeTokenizer: TokenizerFactory): Promise<StoredState> {
    const lexical = new LexicalRetriever().serialize();
    if (spec.kind === 'lexical') return { kind: 'lexical', index: lexical };
    if (spec.kind !== 'embedding' && spec.kind !== 'hybrid')
      throw new InvalidOptionsError(
        `retriever.kind must be lexical, embedding or hybrid, got ${JSON.stringify((spec as { kind: unknown }).kind)}`,
      );
    if (typeof spec.model !== 'string')
      throw new InvalidOptionsError('retriever.model must be the URL of a folder with model.onnx and tokenizer.json');
    const pooling = spec.pooling ?? 'cls';
    await loadEmbedder(spec.model, pooling, makeTokenizer);
    return { kind: spec.kind, index: lexical, embedder: { model: spec.model, pooling, weight: spec.weight ?? 0.5 } };
  }

  static async open(store: BankStore, makeTokenizer: TokenizerFactory, offThreadAt = offThreadVectors): Promise<BankRetriever> {
    const state = store.meta.retrieverState as StoredState;
    const lexical = await reconcile(LexicalRetriever.deserialize(state.index), store);
    if (state.kind === 'lexical' || !state.embedder) return new BankRetriever({ kind: 'lexical' }, lexical, null);
    const embedder = await loadEmbedder(state.embedder.model, state.embedder.pooling, makeTokenizer);
    const dense = await Dense.create(embedder, await store.allVectors(), offThreadAt);
    const spec: RetrieverSpec = {
      kind: state.kind,
      model: state.embedder.model,
      pooling: state.embedder.pooling,
      weight: state.embedder.weight,
    };
    return new BankRetriever(spec, lexical, dense);
  }

  /** True when the cosine index runs in its own worker (large banks). */
  get offThread(): boolean {
    return this.dense?.offThread ?? false;
  }

  get kind(): string {
    return this.spec.kind;
  }

  /** Embeddings to store with a batch of references (null for a lexical bank). */
  async embed(texts: string[]): Promise<Float32Array[] | null> {
    if (!this.dense) return null;
    const flat = await this.dense.embedder.embed(texts),
      dim = this.dense.embedder.dim;
    return texts.map((_, i) => flat.slice(i * dim, (i + 1) * dim));
  }

  /** Adds stored references (and their stored vectors) to the in-memory indexes. */
  async add(ids: number[], texts: string[], vectors: Float32Array[] | null): Promise<void> {
    await this.lexical.add(ids.map((id, i) => ({ id, text: texts[i] })));
    if (this.dense && vectors) await this.dense.add(ids, vectors);
  }

  has(id: number): boolean {
    return this.lexical.has(id);
  }

  /** Drops references from the in-memory indexes (the lexical one; dense vectors go with the bank's rows). */
  remove(ids: number[]): void {
    this.lexical.remove(ids);
  }

  async search(query: string, k: number): Promise<SearchHit[]> {
    if (!this.dense || this.spec.kind === 'lexical') return this.lexical.search(query, k);
    if (this.spec.kind === 'embedding') return this.dense.search(query, k);
    const n = Math.max(4 * k, 20); // hybrid: reciprocal rank fusion of both rankings
    const [dense, sparse] = await Promise.all([this.dense.search(query, n), this.lexical.search(query, n)]);
    return fuseHits(dense, sparse, k, { weight: this.spec.weight ?? 0.5 });
  }

  close(): void {
    this.dense?.close();
  }

  /** What the bank's meta keeps (the dense index is rebuilt from the vectors store). */
  state(): StoredState {
    const s: StoredState = { kind: this.spec.kind, index: this.lexical.serialize() };
    if (this.spec.kind !== 'lexical')
      s.embedder = { model: this.spec.model, pooling: this.spec.pooling ?? 'cls', weight: this.spec.weight ?? 0.5 };
    return s;
  }
}
