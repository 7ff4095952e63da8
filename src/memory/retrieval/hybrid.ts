/**
 * Hybrid retrieval: lexical (BM25) and embedding results fused into one ranking.
 *
 * Default fusion is reciprocal rank fusion (RRF, Cormack et al. 2009):
 *   score(d) = w / (c + rank_emb(d)) + (1 − w) / (c + rank_lex(d)),  ranks 1-based, c = 60,
 * a list that misses d adds 0. RRF ignores score scales, so a BM25 score and a cosine never need
 * calibrating; it is the usual default. 'score' fusion instead adds normalized scores:
 *   score(d) = w · max(0, cos(d)) + (1 − w) · bm25(d) / bm25_best,
 * which keeps how far apart the hits are (useful when one side is near-flat). w = `weight` is the
 * embedding side's share (default 0.5). Each side is asked for `candidates` hits (default max(4k, 20)).
 */
import { RetrievalError } from '../../util/errors';
import { EmbeddingRetriever, type EmbeddingRetrieverOptions } from './embedding';
import { LexicalRetriever } from './lexical';
import { compareHits, type IndexedRetriever, type RetrievalDocument, type SearchHit, type SearchOptions, type TextEmbedder } from './types';

export type Fusion = 'rrf' | 'score';

export interface HybridOptions {
  fusion?: Fusion;
  /** Share of the embedding side in [0, 1] (default 0.5). */
  weight?: number;
  /** RRF constant c (default 60). */
  rrfK?: number;
  /** Hits requested from each side (default max(4k, 20)). */
  candidates?: number;
}

const magic = 0x5948334d; // "M3HY"

/** Fuses two ranked lists (best first) as described above. Exported for tests and other callers. */
export function fuseHits(
  embedding: readonly SearchHit[],
  lexical: readonly SearchHit[],
  k: number,
  options: HybridOptions = {},
): SearchHit[] {
  const w = options.weight ?? 0.5;
  const c = options.rrfK ?? 60;
  if (!(w >= 0 && w <= 1)) throw new RetrievalError(`HybridRetriever: weight must be in [0, 1], got ${w}`);
  const scores = new Map<number, number>();
  const addList = (list: readonly SearchHit[], share: number, dense: boolean) =>
    list.forEach((h, i) => {
      const part = options.fusion === 'score' ? share * (dense ? Math.max(0, h.score) : h.score) : share / (c + i + 1);
      scores.set(h.id, (scores.get(h.id) ?? 0) + part);
    });
  addList(embedding, w, true);
  addList(lexical, 1 - w, false);
  return Array.from(scores, ([id, score]) => ({ id, score }))
    .sort(compareHits)
    .slice(0, k);
}

export class HybridRetriever implements IndexedRetriever {
  readonly kind = 'hybrid';

  constructor(
    readonly lexical: LexicalRetriever,
    readonly embedding: EmbeddingRetriever,
    readonly options: HybridOptions = {},
  ) {
    const fusion = options.fusion ?? 'rrf';
    if (fusion !== 'rrf' && fusion !== 'score') throw new RetrievalError(`HybridRetriever: unknown fusion '${fusion}'`);
    fuseHits([], [], 0, options); // validates weight
  }

  get size(): number {
    return this.embedding.size;
  }

  has(id: number): boolean {
    return this.embedding.has(id) && this.lexical.has(id);
  }

  async add(docs: readonly RetrievalDocument[]): Promise<void> {
    await this.lexical.add(docs);
    await this.embedding.add(docs);
  }

  remove(ids: Iterable<number>): number {
    const list = [...ids];
    this.lexical.remove(list);
    return this.embedding.remove(list);
  }

  async search(query: string, k: number, opts: SearchOptions = {}): Promise<SearchHit[]> {
    const n = this.options.candidates ?? Math.max(4 * k, 20);
    const [dense, sparse] = await Promise.all([this.embedding.search(query, n, opts), this.lexical.search(query, n, opts)]);
    return fuseHits(dense, sparse, k, this.options);
  }

  /** "M3HY", lexical byte length (u32), lexical bytes, padding to 8, CosineIndex bytes. */
  serialize(): Uint8Array {
    const lex = this.lexical.serialize(),
      emb = this.embedding.serialize();
    const embOffset = Math.ceil((8 + lex.length) / 8) * 8;
    const out = new Uint8Array(embOffset + emb.length);
    const view = new DataView(out.buffer);
    view.setUint32(0, magic, true);
    view.setUint32(4, lex.length, true);
    out.set(lex, 8);
    out.set(emb, embOffset);
    return out;
  }

  static deserialize(bytes: Uint8Array, embedder: TextEmbedder, options: HybridOptions & EmbeddingRetrieverOptions = {}): HybridRetriever {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.byteLength < 8 || view.getUint32(0, true) !== magic) throw new RetrievalError('HybridRetriever.deserialize: bad magic');
    const lexLength = view.getUint32(4, true);
    const embOffset = Math.ceil((8 + lexLength) / 8) * 8;
    if (embOffset > bytes.byteLength) throw new RetrievalError('HybridRetriever.deserialize: truncated', { byteLength: bytes.byteLength });
    const lexical = LexicalRetriever.deserialize(bytes.subarray(8, 8 + lexLength));
    const embedding = EmbeddingRetriever.deserialize(bytes.slice(embOffset), embedder, options);
    return new HybridRetriever(lexical, embedding, options);
  }
}
