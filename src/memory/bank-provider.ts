/**
 * The MemoryProvider generation reads from: a bank in IndexedDB, its retriever, its codec and a
 * small cache of recently decoded memories. A retrieval searches, drops near-copies of the query
 * (policy.dedupThreshold, off by default), keeps the references scoring at least
 * policy.minRelativeScore × the best one, fetches and checks the records (a corrupted one is
 * reported and skipped, the next candidate takes its place) and decodes them, once per interval.
 * The filter compares token ids: the query's are encoded once per retrieval, a candidate's are
 * stored with it (Reference.tokens); a bank written before that has them encoded once per
 * reference and kept for the provider's life.
 */
import type { Tokenizer } from '../tokenizer/tokenizer';
import { decodeRecord, type RecordCodec } from './codec';
import type { MemoryProvider, Retrieval } from './provider';
import { toRetrievedReference } from './provider';
import { MemoryCache, overlapRatio, type SearchHit } from './retrieval';
import type { BankStore } from './store/bank-store';
import type { MemoryPolicy, MemoryRecordData, Reference } from './types';

/** Candidates fetched per retrieval, as a multiple of memoriesPerRetrieval (room for dedup and corrupt records). */
const overfetch = 3;

export class BankProvider implements MemoryProvider {
  readonly tag: string;
  readonly cache = new MemoryCache<MemoryRecordData>({ maxRecords: 64 });
  /** Token ids of references stored without them (older banks), encoded on first use: id → ids. */
  private readonly encoded = new Map<number, readonly number[]>();

  constructor(
    readonly store: BankStore,
    readonly policy: MemoryPolicy,
    private readonly codec: RecordCodec,
    private readonly retriever: { search(query: string, k: number): Promise<SearchHit[]>; close?(): void },
    private readonly tokenizer: Tokenizer,
  ) {
    this.tag = providerTag(store, policy);
  }

  async retrieve(query: string, signal?: AbortSignal): Promise<Retrieval> {
    const want = this.policy.memoriesPerRetrieval;
    if (want === 0 || query.trim() === '') return { memories: [], corrupt: [] };
    const hits = await this.retriever.search(query, want * overfetch);
    signal?.throwIfAborted();
    const refs = await this.store.getReferences(hits.map((h) => h.id));
    const queryTokens = this.policy.dedupThreshold === null ? [] : this.tokenizer.encode(query, { addSpecialTokens: false });
    const kept = relevant(
      hits.filter((h) => {
        const r = refs.get(h.id);
        if (!r) return false;
        if (this.policy.dedupThreshold === null) return true;
        return overlapRatio(queryTokens, this.tokensOf(r)) <= this.policy.dedupThreshold;
      }),
      this.policy.minRelativeScore,
    );
    const memories: Retrieval['memories'] = [],
      corrupt: number[] = [];
    const missing = kept.filter((h) => !this.cache.get(h.id)).map((h) => h.id);
    const fetched = missing.length ? await this.store.getRecords(missing) : { records: new Map(), corrupt: [] as number[] };
    corrupt.push(...fetched.corrupt);
    for (const h of kept) {
      if (memories.length === want) break;
      let data = this.cache.get(h.id);
      if (!data) {
        const row = fetched.records.get(h.id);
        if (!row) continue;
        const t = decodeRecord(this.codec, row.payload);
        const slots = Math.min(refs.get(h.id)!.tokenCount, this.policy.tokensPerHead);
        data = { keys: t.keys, values: t.values, positions: row.positions, slots };
        this.cache.set(h.id, data);
      }
      memories.push({ reference: toRetrievedReference(refs.get(h.id)!, h.score), data });
    }
    return { memories, corrupt };
  }

  /** A reference's token ids: stored at write time, else encoded once. */
  private tokensOf(r: Reference): readonly number[] {
    if (r.tokens) return r.tokens;
    let ids = this.encoded.get(r.id);
    if (!ids) {
      ids = this.tokenizer.encode(r.text, { addSpecialTokens: false });
      this.encoded.set(r.id, ids);
    }
    return ids;
  }

  close(): void {
    this.retriever.close?.();
    this.store.close();
  }
}

/** Hits (best first) scoring at least `ratio` × the first one's; all of them when ratio is null. */
export function relevant(hits: SearchHit[], ratio: number | null): SearchHit[] {
  if (ratio === null || hits.length === 0) return hits;
  const floor = ratio * hits[0].score;
  return hits.filter((h) => h.score >= floor);
}

/**
 * What KV rows computed with this provider's memories depend on: the bank's content (its revision
 * changes with every write) and the knobs that change what a chunk retrieves or where it sits.
 * Rows cached under another tag are never reused.
 */
function providerTag(store: BankStore, p: MemoryPolicy): string {
  const m = store.meta;
  const revision = [m.createdAt, m.updatedAt, m.nextId, m.counts.references, m.counts.documents];
  return `bank:${m.name}:${JSON.stringify([revision, p.positionScheme, p.memoriesPerRetrieval, p.retrievalInterval, p.retrievalLead, p.dedupThreshold, p.minRelativeScore])}`;
}
