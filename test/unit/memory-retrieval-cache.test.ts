/** MemoryCache (LRU by records and bytes, counters) and the near-duplicate filter at its threshold. */
import { describe, expect, it } from 'vitest';
import { MemoryCache } from '../../src/memory/retrieval/cache';
import { DedupRetriever, NearDuplicateFilter, overlapRatio, paperDedupThreshold } from '../../src/memory/retrieval/dedup';
import type { Retriever, SearchHit } from '../../src/memory/retrieval/types';
import type { MemoryRecordData } from '../../src/memory/types';
import { RetrievalError } from '../../src/util/errors';

const record = (floats: number): MemoryRecordData => ({
  keys: new Float32Array(floats),
  values: new Float32Array(floats),
  positions: new Uint16Array(2),
});

describe('MemoryCache', () => {
  it('evicts the least recently used record past maxRecords and counts hits/misses', () => {
    const cache = new MemoryCache({ maxRecords: 3 });
    for (const id of [1, 2, 3]) cache.set(id, record(4));
    expect(cache.get(1)).toBeDefined(); // 1 becomes most recent: order 2, 3, 1
    cache.set(4, record(4)); // evicts 2
    expect(cache.has(2)).toBe(false);
    expect(cache.keys()).toEqual([3, 1, 4]);
    expect(cache.get(2)).toBeUndefined();
    expect(cache.stats()).toEqual({ hits: 1, misses: 1, evictions: 1, records: 3, bytes: 3 * (16 + 16 + 4) });
  });

  it('bounds bytes with the record size, replaces in place, skips oversize values', () => {
    const cache = new MemoryCache({ maxBytes: 100 }); // one record of 4 floats = 36 bytes
    cache.set(1, record(4));
    cache.set(2, record(4));
    expect(cache.bytes).toBe(72);
    cache.set(3, record(4)); // 108 > 100: evicts 1
    expect(cache.keys()).toEqual([2, 3]);
    cache.set(2, record(2)); // replace: 20 bytes, becomes most recent
    expect(cache.keys()).toEqual([3, 2]);
    expect(cache.bytes).toBe(56);
    cache.set(9, record(100)); // 804 bytes never fits
    expect(cache.has(9)).toBe(false);
    expect(cache.keys()).toEqual([3, 2]);
    expect(cache.delete(3)).toBe(true);
    expect(cache.bytes).toBe(20);
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.bytes).toBe(0);
  });

  it('takes a custom sizeOf and rejects bad bounds', () => {
    const cache = new MemoryCache<string>({ maxBytes: 5, sizeOf: (s) => s.length });
    cache.set(1, 'abc');
    cache.set(2, 'de');
    cache.set(3, 'f');
    expect(cache.keys()).toEqual([2, 3]);
    expect(() => new MemoryCache({ maxRecords: -1 })).toThrow(RetrievalError);
  });
});

describe('near-duplicate filter', () => {
  it('overlapRatio counts shared tokens as a multiset over the reference', () => {
    expect(overlapRatio([1, 2, 3], [1, 2, 3])).toBe(1);
    expect(overlapRatio([1, 1, 2], [1, 3, 4, 5, 6])).toBe(1 / 5); // one shared 1, not two
    expect(overlapRatio([1, 2], [9, 8, 7, 2, 1, 6])).toBe(2 / 6); // a short query inside the reference: kept
    expect(overlapRatio([9, 8, 7, 2, 1, 6], [1, 2])).toBe(1); // a reference copied from the query: dropped
    expect(overlapRatio(['a', 'b', 'c'], ['c', 'd', 'e', 'f'])).toBe(1 / 4);
    expect(overlapRatio([], [1])).toBe(0);
  });

  const query = [1, 2, 3, 4, 5, 6];
  const refs = new Map<number, number[]>([
    [10, [1, 2, 3, 4, 90, 91]], // 4/6 = 2/3: kept (not above)
    [11, [1, 2, 3, 4, 5, 92]], // 5/6: dropped
    [12, [1, 80, 81, 82, 83, 84]], // 1/6: kept
    [13, [1, 2, 3, 4, 5, 6, 7, 8]], // contains the query: dropped
  ]);
  const hits: SearchHit[] = [10, 11, 12, 13, 14].map((id, i) => ({ id, score: 1 - i / 10 }));
  const make = (threshold: number | null) =>
    new NearDuplicateFilter({
      threshold,
      tokenize: () => query,
      tokensOf: (id) => refs.get(id),
    });

  it('drops references strictly above 2/3, keeps the boundary, keeps unknown ids', async () => {
    expect(overlapRatio(query, refs.get(10)!)).toBe(paperDedupThreshold);
    expect((await make(paperDedupThreshold).filter('q', hits)).map((h) => h.id)).toEqual([10, 12, 14]);
    expect((await make(0.6).filter('q', hits)).map((h) => h.id)).toEqual([12, 14]);
    expect((await make(null).filter('q', hits)).map((h) => h.id)).toEqual([10, 11, 12, 13, 14]);
    expect(() => make(1.5)).toThrow(RetrievalError);
  });

  it('DedupRetriever over-fetches until k survivors remain', async () => {
    const calls: number[] = [];
    const inner: Retriever = {
      kind: 'fake',
      search: async (_q, k, opts) => {
        calls.push(k);
        return hits.filter((h) => !opts?.exclude?.has(h.id)).slice(0, k);
      },
    };
    const r = new DedupRetriever(inner, make(paperDedupThreshold), 1);
    expect(r.kind).toBe('fake+dedup');
    expect((await r.search('q', 3)).map((h) => h.id)).toEqual([10, 12, 14]);
    expect(calls.length).toBeGreaterThan(1);
    expect((await r.search('q', 2, { exclude: new Set([10]) })).map((h) => h.id)).toEqual([12, 14]);
  });
});
