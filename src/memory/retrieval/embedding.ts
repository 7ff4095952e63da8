/**
 * Dense retriever: a TextEmbedder (OnnxEmbedder, or any other) plus a CosineIndex of the
 * references' unit embeddings. Scores are cosines in [-1, 1].
 */
import { RetrievalError } from '../../util/errors';
import { CosineIndex, type CosineIndexKind } from './cosine-index';
import type { IndexedRetriever, RetrievalDocument, SearchHit, SearchOptions, TextEmbedder } from './types';

export interface EmbeddingRetrieverOptions {
  /** Index variant (default 'flat'). */
  kind?: CosineIndexKind;
  /** int8 re-rank shortlist (see CosineIndex). */
  shortlist?: number;
  /** Texts embedded per add() step (default 64). */
  addBatch?: number;
}

export class EmbeddingRetriever implements IndexedRetriever {
  readonly kind = 'embedding';
  readonly index: CosineIndex;
  private readonly addBatch: number;

  constructor(
    readonly embedder: TextEmbedder,
    options: EmbeddingRetrieverOptions = {},
    index?: CosineIndex,
  ) {
    if (!(embedder.dim > 0)) throw new RetrievalError(`EmbeddingRetriever: embedder dim must be positive, got ${embedder.dim}`);
    if (index && index.dim !== embedder.dim) {
      throw new RetrievalError(`EmbeddingRetriever: index dim ${index.dim} != embedder dim ${embedder.dim}`, {
        expected: embedder.dim,
        actual: index.dim,
      });
    }
    this.index = index ?? new CosineIndex({ dim: embedder.dim, kind: options.kind, shortlist: options.shortlist });
    this.addBatch = Math.max(1, options.addBatch ?? 64);
  }

  get size(): number {
    return this.index.size;
  }

  has(id: number): boolean {
    return this.index.has(id);
  }

  async add(docs: readonly RetrievalDocument[]): Promise<void> {
    for (let start = 0; start < docs.length; start += this.addBatch) {
      const batch = docs.slice(start, start + this.addBatch);
      const vectors = await this.embedder.embed(batch.map((d) => d.text));
      this.index.add(
        batch.map((d) => d.id),
        vectors,
      );
    }
  }

  remove(ids: Iterable<number>): number {
    return this.index.remove(ids);
  }

  async search(query: string, k: number, opts: SearchOptions = {}): Promise<SearchHit[]> {
    const vector = await this.embedder.embed([query]);
    return this.index.search(vector, k, opts.exclude);
  }

  /** Search with a ready query embedding (dim values). */
  searchVector(query: Float32Array, k: number, opts: SearchOptions = {}): SearchHit[] {
    return this.index.search(query, k, opts.exclude);
  }

  /** The CosineIndex bytes (the embedder is not stored: restore with the same model). */
  serialize(): Uint8Array {
    return this.index.serialize();
  }

  static deserialize(bytes: Uint8Array, embedder: TextEmbedder, options: EmbeddingRetrieverOptions = {}): EmbeddingRetriever {
    return new EmbeddingRetriever(embedder, options, CosineIndex.deserialize(bytes, { shortlist: options.shortlist }));
  }
}
