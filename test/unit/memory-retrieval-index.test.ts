/** CosineIndex: flat = brute force, int8 + f32 re-rank recall, exclude, add/remove, bytes round trip, latency. */
import { describe, expect, it } from 'vitest';
import { CosineIndex, type CosineIndexKind } from '../../src/memory/retrieval/cosine-index';
import { TopK } from '../../src/memory/retrieval/topk';
import { RetrievalError } from '../../src/util/errors';
import { Prng } from '../../src/util/prng';

function gaussianRows(n: number, dim: number, seed: number): Float32Array {
  const rng = new Prng(seed);
  const out = new Float32Array(n * dim);
  for (let i = 0; i < out.length; i += 2) {
    const u1 = 1 - rng.nextFloat(),
      u2 = rng.nextFloat();
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/** float64 cosine top-k by (score desc, id asc), skipping `exclude`. */
function bruteForce(ids: number[], rows: Float32Array, dim: number, q: Float32Array, k: number, exclude = new Set<number>()) {
  const norm = (v: ArrayLike<number>, o: number) => {
    let s = 0;
    for (let j = 0; j < dim; j++) s += v[o + j] ** 2;
    return Math.sqrt(s);
  };
  const qn = norm(q, 0);
  const scored = ids
    .map((id, r) => {
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += q[j] * rows[r * dim + j];
      return { id, score: dot / (qn * norm(rows, r * dim)) };
    })
    .filter((h) => !exclude.has(h.id));
  return scored.sort((a, b) => b.score - a.score || a.id - b.id).slice(0, k);
}

describe('TopK', () => {
  it('keeps the k best by score then id', () => {
    const rng = new Prng(3);
    const items = Array.from({ length: 200 }, (_, i) => ({ id: i, score: Math.floor(rng.nextFloat() * 20) }));
    const top = new TopK(7);
    items.forEach((it, r) => top.push(it.score, it.id, r));
    const want = [...items].sort((a, b) => b.score - a.score || a.id - b.id).slice(0, 7);
    expect(top.hits()).toEqual(want);
  });
});

describe('CosineIndex', () => {
  const dim = 37,
    n = 500;
  const rows = gaussianRows(n, dim, 11);
  const ids = Array.from({ length: n }, (_, i) => 1000 + 3 * i);
  const queries = gaussianRows(20, dim, 12);

  it('flat search equals float64 brute force (ids, order and scores)', () => {
    const index = CosineIndex.fromVectors(ids, rows, { dim });
    for (let qi = 0; qi < 20; qi++) {
      const q = queries.subarray(qi * dim, (qi + 1) * dim);
      const got = index.search(q, 10);
      const want = bruteForce(ids, rows, dim, q, 10);
      expect(got.map((h) => h.id)).toEqual(want.map((h) => h.id));
      got.forEach((h, i) => expect(Math.abs(h.score - want[i].score)).toBeLessThan(1e-5));
    }
  });

  it('int8 with f32 re-ranking has recall@5 ≥ 0.95 on random data (dim 384)', () => {
    const d = 384,
      m = 5000;
    const data = gaussianRows(m, d, 21);
    const allIds = Array.from({ length: m }, (_, i) => i);
    const flat = CosineIndex.fromVectors(allIds, data, { dim: d, kind: 'flat' });
    const int8 = CosineIndex.fromVectors(allIds, data, { dim: d, kind: 'int8' });
    const qs = gaussianRows(50, d, 22);
    let found = 0;
    for (let qi = 0; qi < 50; qi++) {
      const q = qs.subarray(qi * d, (qi + 1) * d);
      const truth = new Set(flat.search(q, 5).map((h) => h.id));
      const got = int8.search(q, 5);
      found += got.filter((h) => truth.has(h.id)).length;
      for (const h of got) expect(h.score).toBeCloseTo(flat.search(q, m).find((x) => x.id === h.id)!.score, 6);
    }
    const recall = found / 250;
    console.log(`int8 recall@5 (5000 × 384, shortlist 64): ${recall}`);
    expect(recall).toBeGreaterThanOrEqual(0.95);
  });

  it.each<CosineIndexKind>(['flat', 'int8'])('%s: exclude sets, remove, replace', (kind) => {
    const index = CosineIndex.fromVectors(ids, rows, { dim, kind });
    const q = queries.subarray(0, dim);
    const first = index.search(q, 5);
    const exclude = new Set(first.slice(0, 3).map((h) => h.id));
    const got = index.search(q, 5, exclude);
    expect(got.map((h) => h.id)).toEqual(bruteForce(ids, rows, dim, q, 5, exclude).map((h) => h.id));
    expect(got.some((h) => exclude.has(h.id))).toBe(false);
    expect(index.remove([first[0].id, 424242])).toBe(1);
    expect(index.size).toBe(n - 1);
    expect(index.has(first[0].id)).toBe(false);
    expect(index.search(q, 4).map((h) => h.id)).toEqual(first.slice(1, 5).map((h) => h.id));
    // Replacing an id's vector with the query makes it the best hit with cosine 1.
    index.add([ids[7]], q);
    expect(index.size).toBe(n - 1);
    const top = index.search(q, 1)[0];
    expect(top.id).toBe(ids[7]);
    expect(top.score).toBeCloseTo(1, 6);
  });

  it.each<CosineIndexKind>(['flat', 'int8'])('%s: serialize/deserialize gives identical results', (kind) => {
    const index = CosineIndex.fromVectors(ids, rows, { dim, kind });
    index.remove([ids[3], ids[100]]);
    const restored = CosineIndex.deserialize(index.serialize());
    expect(restored.kind).toBe(kind);
    expect(restored.size).toBe(index.size);
    for (let qi = 0; qi < 5; qi++) {
      const q = queries.subarray(qi * dim, (qi + 1) * dim);
      expect(restored.search(q, 8)).toEqual(index.search(q, 8));
    }
    expect(restored.serialize()).toEqual(index.serialize());
  });

  it('builds from a bank allVectors() in either shape', async () => {
    const cols = await CosineIndex.fromBank({ allVectors: async () => ({ ids, vectors: rows }) }, { dim });
    const entries = ids.map((id, r) => ({ id, vector: rows.slice(r * dim, (r + 1) * dim) }));
    const perRow = await CosineIndex.fromBank({ allVectors: () => entries }, { dim });
    const q = queries.subarray(0, dim);
    expect(perRow.search(q, 6)).toEqual(cols.search(q, 6));
    expect(cols.size).toBe(n);
  });

  it('rejects bad input with RetrievalError', () => {
    const index = new CosineIndex({ dim: 4 });
    expect(() => index.add([1], new Float32Array(3))).toThrow(RetrievalError);
    expect(() => index.add([1], Float32Array.of(1, NaN, 0, 0))).toThrow(RetrievalError);
    expect(() => index.search(new Float32Array(5), 1)).toThrow(RetrievalError);
    expect(() => CosineIndex.deserialize(new Uint8Array(20))).toThrow(RetrievalError);
    expect(() => new CosineIndex({ dim: 0 })).toThrow(RetrievalError);
  });

  it('query latency at 10k and 100k references, dim 384 (console only)', () => {
    const d = 384;
    for (const count of [10_000, 100_000]) {
      const data = gaussianRows(count, d, 31);
      const allIds = Array.from({ length: count }, (_, i) => i);
      const q = gaussianRows(1, d, 32);
      for (const kind of ['flat', 'int8'] as const) {
        const t0 = performance.now();
        const index = CosineIndex.fromVectors(allIds, data, { dim: d, kind });
        const build = performance.now() - t0;
        index.search(q, 5);
        const times: number[] = [];
        for (let i = 0; i < 5; i++) {
          const t = performance.now();
          index.search(q, 5);
          times.push(performance.now() - t);
        }
        times.sort((a, b) => a - b);
        console.log(
          `[node] CosineIndex ${kind} n=${count} dim=${d}: build ${build.toFixed(0)} ms, query median ${times[2].toFixed(1)} ms (min ${times[0].toFixed(1)})`,
        );
        expect(index.search(q, 5)).toHaveLength(5);
      }
    }
  }, 120_000);
});
