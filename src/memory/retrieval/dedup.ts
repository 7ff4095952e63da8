/**
 * Near-duplicate filter: a chunk must never retrieve a near-copy of itself (the paper filters
 * references whose overlap with the query text is above 2/3).
 *
 * overlapRatio = |Q ∩ R| / |R|, with Q and R the token multisets of the query and the reference
 * (each token counted as often as it occurs in both): the share of the reference that the query
 * text already holds. A reference copied from the chunk scores near 1 and is dropped; a reference
 * that merely contains a short query (a question and the entry that answers it) scores low and is
 * kept — dividing by the shorter side dropped exactly those answers. A reference is dropped when
 * its ratio is strictly above the threshold; null turns the filter off.
 */
import { RetrievalError } from '../../util/errors';
import type { Retriever, SearchHit, SearchOptions } from './types';

export type TokenSeq = ArrayLike<number | string>;

export function overlapRatio(queryTokens: TokenSeq, refTokens: TokenSeq): number {
  const denom = refTokens.length;
  if (denom === 0) return 0;
  const counts = new Map<number | string, number>();
  for (let i = 0; i < queryTokens.length; i++) counts.set(queryTokens[i], (counts.get(queryTokens[i]) ?? 0) + 1);
  let shared = 0;
  for (let i = 0; i < refTokens.length; i++) {
    const c = counts.get(refTokens[i]);
    if (c) {
      shared++;
      counts.set(refTokens[i], c - 1);
    }
  }
  return shared / denom;
}

export const paperDedupThreshold = 2 / 3;

export interface NearDuplicateFilterOptions {
  /** Drop when overlapRatio > threshold (paper: 2/3); null = keep everything. */
  threshold: number | null;
  /** Tokens of a query text (the engine passes its tokenizer's ids). */
  tokenize: (text: string) => TokenSeq;
  /** Tokens of a stored reference, or undefined when unknown (an unknown reference is kept). */
  tokensOf: (id: number) => TokenSeq | undefined | Promise<TokenSeq | undefined>;
}

export class NearDuplicateFilter {
  constructor(readonly options: NearDuplicateFilterOptions) {
    const t = options.threshold;
    if (t !== null && !(t >= 0 && t <= 1)) throw new RetrievalError(`NearDuplicateFilter: threshold must be in [0, 1] or null, got ${t}`);
  }

  /** Hits whose reference is not a near-copy of the query, in their order. */
  async filter(query: string | TokenSeq, hits: readonly SearchHit[]): Promise<SearchHit[]> {
    const t = this.options.threshold;
    if (t === null) return [...hits];
    const q = typeof query === 'string' ? this.options.tokenize(query) : query;
    const kept: SearchHit[] = [];
    for (const hit of hits) {
      const ref = await this.options.tokensOf(hit.id);
      if (ref === undefined || overlapRatio(q, ref) <= t) kept.push(hit);
    }
    return kept;
  }
}

/** A Retriever that over-fetches from `inner` and drops near-duplicates of the query until k remain. */
export class DedupRetriever implements Retriever {
  readonly kind: string;

  constructor(
    readonly inner: Retriever,
    readonly dedup: NearDuplicateFilter,
    readonly overfetch = 2,
  ) {
    this.kind = `${inner.kind}+dedup`;
  }

  async search(query: string, k: number, opts: SearchOptions = {}): Promise<SearchHit[]> {
    if (k === 0) return [];
    const exclude = new Set(opts.exclude ?? []);
    const kept: SearchHit[] = [];
    for (let want = k * this.overfetch; ; want *= 2) {
      const hits = await this.inner.search(query, want, { exclude });
      for (const h of await this.dedup.filter(query, hits)) if (kept.length < k) kept.push(h);
      if (kept.length >= k || hits.length < want) return kept;
      for (const h of hits) exclude.add(h.id); // those are kept or dropped already
    }
  }
}
