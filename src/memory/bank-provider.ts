/**
 * The MemoryProvider generation reads from: a bank in IndexedDB, its retriever, its codec and a
 * small cache of recently decoded memories. A retrieval searches, drops near-copies of the query
 * (the paper's 2/3 overlap rule), fetches and checks the records (a corrupted one is reported and
 * skipped, the next candidate takes its place) and decodes them, once per interval.
 */
import type { Tokenizer } from '../tokenizer/tokenizer';
import { decodeRecord, type RecordCodec } from './codec';
import type { MemoryProvider, Retrieval } from './provider';
import { toRetrievedReference } from './provider';
import { MemoryCache, overlapRatio, type SearchHit } from './retrieval';
import type { BankStore } from './store/bank-store';
import type { MemoryPolicy, MemoryRecordData } from './types';

/** Candidates fetched per retrieval, as a multiple of memoriesPerRetrieval (room for dedup and corrupt records). */
const overfetch = 3;

export class BankProvider implements MemoryProvider {
  readonly tag: string;
  readonly cache = new MemoryCache<MemoryRecordData>({ maxRecords: 64 });

  constructor(
    readonly store: BankStore, readonly policy: MemoryPolicy, private readonly codec: RecordCodec,
    private readonly retriever: { search(query: string, k: number): Promise<SearchHit[]>; close?(): void }, private readonly tokenizer: Tokenizer,
  ) {
    this.tag = `bank:${store.meta.name}:${store.meta.createdAt}:${JSON.stringify([policy.positionScheme, policy.memoriesPerRetrieval, policy.retrievalInterval])}`;
  }

  async retrieve(query: string, signal?: AbortSignal): Promise<Retrieval> {
    const want = this.policy.memoriesPerRetrieval;
    if (want === 0 || query.trim() === '') return { memories: [], corrupt: [] };
    const hits = await this.retriever.search(query, want * overfetch);
    signal?.throwIfAborted();
    const refs = await this.store.getReferences(hits.map((h) => h.id));
    const queryTokens = this.policy.dedupThreshold === null ? [] : this.tokenizer.encode(query, { addSpecialTokens: false });
    const kept = hits.filter((h) => {
      const r = refs.get(h.id);
      if (!r) return false;
      if (this.policy.dedupThreshold === null) return true;
      return overlapRatio(queryTokens, this.tokenizer.encode(r.text, { addSpecialTokens: false })) <= this.policy.dedupThreshold;
    });
    const memories: Retrieval['memories'] = [], corrupt: number[] = [];
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
        data = { keys: t.keys, values: t.values, positions: row.positions };
        this.cache.set(h.id, data);
      }
      memories.push({ reference: toRetrievedReference(refs.get(h.id)!, h.score), data });
    }
    return { memories, corrupt };
  }

  close(): void { this.retriever.close?.(); this.store.close(); }
}
