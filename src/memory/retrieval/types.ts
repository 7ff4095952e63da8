/**
 * Retrieval interfaces shared by the lexical, embedding and hybrid retrievers. Ids are reference ids
 * (src/memory/types.ts `Reference.id`); scores are "higher is better", ordered by score then id.
 */

export interface SearchHit {
  id: number;
  score: number;
}

export interface SearchOptions {
  /** Ids that must not be returned (e.g. references already in the slots, or the chunk's own source). */
  exclude?: Set<number>;
}

/** What every retriever answers: the top `k` references for a query text. */
export interface Retriever {
  readonly kind: string;
  search(query: string, k: number, opts?: SearchOptions): Promise<SearchHit[]>;
}

/** A reference as the retrievers index it. */
export interface RetrievalDocument {
  id: number;
  text: string;
}

/** A retriever that owns an index a bank can store: add in batches, remove, serialize. */
export interface IndexedRetriever extends Retriever {
  /** Number of indexed documents. */
  readonly size: number;
  has(id: number): boolean;
  /** Adds (or replaces, for ids already present) a batch of documents. */
  add(docs: readonly RetrievalDocument[]): Promise<void>;
  /** Removes ids; unknown ids are ignored. Returns how many were removed. */
  remove(ids: Iterable<number>): number;
  /** The index state as bytes; each class has a static `deserialize` that restores it. */
  serialize(): Uint8Array;
}

/** Anything that turns texts into unit vectors of a fixed dimension. */
export interface TextEmbedder {
  readonly dim: number;
  /** One L2-normalized row per text, (texts.length, dim) row-major. */
  embed(texts: readonly string[]): Promise<Float32Array>;
}

/** Orders hits by score (descending), ties by id (ascending): the one order every retriever uses. */
export function compareHits(a: SearchHit, b: SearchHit): number {
  return b.score - a.score || a.id - b.id;
}
