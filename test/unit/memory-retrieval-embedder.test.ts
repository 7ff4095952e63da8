/**
 * OnnxEmbedder on the committed tiny encoder: fixture is reproducible, ONNX outputs equal the float64
 * CPU computation of the same graph, pooling modes, truncation, token_type_ids handling; embedding
 * and hybrid retrievers (ranking, exclude, serialization); fusion ordering.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { embedderFixtureDir, makeEmbedderFixture } from '../../tools/embedder/make';
import { referenceForward, type EmbedderWeights } from '../../tools/embedder/model';
import { EmbeddingRetriever } from '../../src/memory/retrieval/embedding';
import { HybridRetriever, fuseHits } from '../../src/memory/retrieval/hybrid';
import { LexicalRetriever } from '../../src/memory/retrieval/lexical';
import { OnnxEmbedder, type Pooling } from '../../src/memory/retrieval/onnx-embedder';
import { Tokenizer } from '../../src/tokenizer/tokenizer';
import { expectClose } from '../helpers/expect-close';

const fixture = makeEmbedderFixture();
const weights: EmbedderWeights = fixture.weights;
const tokenizer = Tokenizer.fromJSON(JSON.parse(readFileSync(join(embedderFixtureDir, 'tokenizer.json'), 'utf8')), null);
const modelFile = (name: string) => new Uint8Array(readFileSync(join(embedderFixtureDir, name)));

/** CPU embedding of texts: tokens as the embedder builds them, reference forward, pooled, L2-normalized (float64). */
function referenceEmbeddings(embedder: OnnxEmbedder, texts: string[], pooling: Pooling | 'sentence'): Float64Array[] {
  return texts.map((text) => {
    const ids = embedder.tokenize(text);
    const out = referenceForward(
      weights,
      1,
      ids.length,
      ids,
      ids.map(() => 1),
      ids.map(() => 0),
    );
    const H = weights.hidden;
    const row = pooling === 'cls' ? out.lastHiddenState.slice(0, H) : out.sentenceEmbedding.slice(); // mean = sentence_embedding
    const norm = Math.sqrt(row.reduce((s, v) => s + v * v, 0));
    return row.map((v) => v / norm);
  });
}

const texts = [
  'Paris is the capital of France.',
  'Jupiter is the largest planet.',
  'The quick brown fox jumps over the lazy dog; then the dog sleeps in the sun.',
  'Tokens',
  'There are 12 months in a year, 7 days in a week, and 24 hours in a day.',
];

describe('embedder fixture', () => {
  it('is reproduced byte for byte by tools/embedder/make.ts', () => {
    for (const [name, bytes] of Object.entries(fixture.files)) {
      expect(Buffer.from(modelFile(name)).equals(Buffer.from(bytes)), name).toBe(true);
    }
  });

  it('ONNX last_hidden_state equals the float64 CPU graph, padded batch with token types', async () => {
    const ort = await import('onnxruntime-web/wasm');
    ort.env.wasm.numThreads = 1;
    const session = await ort.InferenceSession.create(modelFile('model.onnx'));
    const rows = [tokenizer.encode(texts[0]), tokenizer.encode(texts[2]), tokenizer.encode(texts[3])];
    const b = rows.length,
      seq = Math.max(...rows.map((r) => r.length));
    const ids = new Array(b * seq).fill(328),
      mask = new Array(b * seq).fill(0),
      types = new Array(b * seq).fill(0);
    rows.forEach((r, i) =>
      r.forEach((id, s) => {
        ids[i * seq + s] = id;
        mask[i * seq + s] = 1;
        types[i * seq + s] = s % 2;
      }),
    );
    const t = (v: number[]) => new ort.Tensor('int64', BigInt64Array.from(v.map(BigInt)), [b, seq]);
    const out = await session.run({ input_ids: t(ids), attention_mask: t(mask), token_type_ids: t(types) });
    const got = out.last_hidden_state;
    expect(got.dims).toEqual([b, seq, weights.hidden]);
    const ref = referenceForward(weights, b, seq, ids, mask, types);
    expectClose(got.data as Float32Array, ref.lastHiddenState, { atol: 1e-5, rtol: 1e-4, nmse: 1e-10, label: 'last_hidden_state' });
    await session.release();
  });
});

describe('OnnxEmbedder', () => {
  let cls: OnnxEmbedder, mean: OnnxEmbedder, pooled: OnnxEmbedder;
  beforeAll(async () => {
    cls = await OnnxEmbedder.create({ model: modelFile('model.onnx'), tokenizer, batchSize: 2 });
    mean = await OnnxEmbedder.create({ model: modelFile('model.onnx'), tokenizer, pooling: 'mean', batchSize: 3 });
    pooled = await OnnxEmbedder.create({ model: modelFile('model-pooled.onnx').buffer as ArrayBuffer, tokenizer });
  });

  it('reads the graph: token types, output, pad id, dim', () => {
    expect(cls.hasTokenTypes).toBe(true);
    expect(pooled.hasTokenTypes).toBe(false);
    expect(cls.output).toBe('last_hidden_state');
    expect(pooled.output).toBe('last_hidden_state');
    expect(cls.padTokenId).toBe(tokenizer.tokenToId('<pad>'));
    expect(cls.dim).toBe(weights.hidden);
  });

  it.each<[string, () => OnnxEmbedder, Pooling]>([
    ['cls', () => cls, 'cls'],
    ['mean', () => mean, 'mean'],
  ])('%s pooling over padded batches equals the CPU reference, unit rows', async (_name, get, pooling) => {
    const embedder = get();
    const got = await embedder.embed(texts);
    const ref = referenceEmbeddings(embedder, texts, pooling);
    ref.forEach((r, i) => {
      const row = got.subarray(i * embedder.dim, (i + 1) * embedder.dim);
      expectClose(row, r, { atol: 1e-5, rtol: 1e-4, label: `${pooling} row ${i}` });
      expect(Math.hypot(...row)).toBeCloseTo(1, 5);
    });
  });

  it('sentence_embedding output (graph-pooled mean) equals mean pooling of last_hidden_state', async () => {
    const sentence = await OnnxEmbedder.create({ model: modelFile('model-pooled.onnx'), tokenizer, output: 'sentence_embedding' });
    const got = await sentence.embed(texts);
    const viaMean = await mean.embed(texts);
    expectClose(got, viaMean, { atol: 1e-5, rtol: 1e-4, label: 'sentence_embedding vs mean' });
    const cosClsMean = Array.from(await cls.embed([texts[2]])).reduce((s, v, j) => s + v * viaMean[2 * cls.dim + j], 0);
    expect(cosClsMean).toBeLessThan(0.9999); // the two poolings really differ
  });

  it('truncates to maxLength keeping the template specials', async () => {
    const short = await OnnxEmbedder.create({ model: modelFile('model.onnx'), tokenizer, maxLength: 6 });
    const long = texts[2];
    const ids = short.tokenize(long);
    const full = tokenizer.encode(long);
    expect(ids).toHaveLength(6);
    expect(ids).toEqual([...full.slice(0, 5), full[full.length - 1]]);
    const got = await short.embed([long]);
    expectClose(got, referenceEmbeddings(short, [long], 'cls')[0], { atol: 1e-5, rtol: 1e-4 });
  });
});

describe('EmbeddingRetriever and HybridRetriever', () => {
  const docs = texts.map((text, i) => ({ id: 100 + i, text }));

  it('finds each document by its own text, honours exclude, round-trips through bytes', async () => {
    const embedder = await OnnxEmbedder.create({ model: modelFile('model.onnx'), tokenizer });
    const r = new EmbeddingRetriever(embedder, { addBatch: 2 });
    await r.add(docs);
    for (const d of docs) {
      const hits = await r.search(d.text, 2);
      expect(hits[0].id).toBe(d.id);
      expect(hits[0].score).toBeCloseTo(1, 5);
      expect((await r.search(d.text, 2, { exclude: new Set([d.id]) })).map((h) => h.id)).not.toContain(d.id);
    }
    const restored = EmbeddingRetriever.deserialize(r.serialize(), embedder);
    for (const q of ['capital city', 'planet', 'dog']) expect(await restored.search(q, 3)).toEqual(await r.search(q, 3));
  });

  it('fuseHits: RRF and score fusion order by the formula, weight moves the winner', () => {
    const dense = [
      { id: 1, score: 0.9 },
      { id: 2, score: 0.8 },
      { id: 3, score: 0.1 },
    ];
    const sparse = [
      { id: 4, score: 1 },
      { id: 2, score: 0.9 },
      { id: 3, score: 0.2 },
    ];
    const rrf = (ranks: [number | null, number | null], w: number) =>
      (ranks[0] ? w / (60 + ranks[0]) : 0) + (ranks[1] ? (1 - w) / (60 + ranks[1]) : 0);
    const expected = [
      [1, rrf([1, null], 0.5)],
      [2, rrf([2, 2], 0.5)],
      [3, rrf([3, 3], 0.5)],
      [4, rrf([null, 1], 0.5)],
    ]
      .map(([id, score]) => ({ id, score }))
      .sort((a, b) => b.score - a.score || a.id - b.id);
    expect(fuseHits(dense, sparse, 4)).toEqual(expected);
    expect(fuseHits(dense, sparse, 1)[0].id).toBe(2); // in both lists near the top
    expect(fuseHits(dense, sparse, 1, { weight: 1 })[0].id).toBe(1);
    expect(fuseHits(dense, sparse, 1, { weight: 0 })[0].id).toBe(4);
    const byScore = fuseHits(dense, sparse, 4, { fusion: 'score', weight: 0.25 });
    const want = { 1: 0.25 * 0.9, 2: 0.25 * 0.8 + 0.75 * 0.9, 3: 0.25 * 0.1 + 0.75 * 0.2, 4: 0.75 * 1 } as Record<number, number>;
    expect(byScore.map((h) => h.id)).toEqual([2, 4, 1, 3]);
    for (const h of byScore) expect(h.score).toBeCloseTo(want[h.id], 12);
    const negative = fuseHits([{ id: 9, score: -0.5 }], [], 1, { fusion: 'score' });
    expect(negative[0].score).toBe(0); // cosines below 0 count as 0
  });

  it('hybrid retriever finds documents, excludes, and round-trips through bytes', async () => {
    const embedder = await OnnxEmbedder.create({ model: modelFile('model.onnx'), tokenizer });
    const h = new HybridRetriever(new LexicalRetriever(), new EmbeddingRetriever(embedder));
    await h.add(docs);
    expect(h.size).toBe(docs.length);
    expect((await h.search('capital of France', 3))[0].id).toBe(100);
    expect((await h.search('largest planet', 3))[0].id).toBe(101);
    expect((await h.search('largest planet', 3, { exclude: new Set([101]) })).map((x) => x.id)).not.toContain(101);
    const restored = HybridRetriever.deserialize(h.serialize(), embedder);
    for (const q of ['capital', 'dog sleeps', 'months']) expect(await restored.search(q, 4)).toEqual(await h.search(q, 4));
    expect(h.remove([100])).toBe(1);
    expect((await h.search('capital of France', 3)).map((x) => x.id)).not.toContain(100);
  });
});
