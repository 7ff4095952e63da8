/**
 * Retrieval in Chromium: the ONNX embedder through onnxruntime-web's wasm build under Vite (against
 * the float64 CPU graph), and the CosineIndex in its own Worker via comlink (same hits as in-page),
 * with query latency at 10k and 100k references (console only).
 */
import { commands } from 'vitest/browser';
import { describe, expect, it } from 'vitest';
import { makeEmbedderWeights, referenceForward, embedderHidden } from '../../tools/embedder/model';
import { CosineIndex } from '../../src/memory/retrieval/cosine-index';
import { EmbeddingRetriever } from '../../src/memory/retrieval/embedding';
import { createIndexWorker } from '../../src/memory/retrieval/index-worker-client';
import { OnnxEmbedder } from '../../src/memory/retrieval/onnx-embedder';
import { Tokenizer } from '../../src/tokenizer/tokenizer';
import { Prng } from '../../src/util/prng';
import { expectClose } from '../helpers/expect-close';

const dir = 'test/fixtures/embedder';
async function fixtureBytes(name: string): Promise<Uint8Array> {
  const b64 = await commands.readFileBase64(`${dir}/${name}`);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

function randomRows(n: number, dim: number, seed: number): Float32Array {
  const rng = new Prng(seed);
  const out = new Float32Array(n * dim);
  for (let i = 0; i < out.length; i++) out[i] = rng.nextFloat() * 2 - 1;
  return out;
}

describe('OnnxEmbedder in Chromium', () => {
  it('CLS embeddings equal the float64 CPU graph; retrieval finds each text', async () => {
    const tokJson = JSON.parse(new TextDecoder().decode(await fixtureBytes('tokenizer.json')));
    const tokenizer = Tokenizer.fromJSON(tokJson, null);
    const embedder = await OnnxEmbedder.create({ model: await fixtureBytes('model.onnx'), tokenizer, batchSize: 2 });
    const weights = makeEmbedderWeights(tokenizer.vocabSize, embedderHidden);
    const texts = ['Paris is the capital of France.', 'Jupiter is the largest planet.', 'The dog sleeps in the sun.'];
    const got = await embedder.embed(texts);
    texts.forEach((text, i) => {
      const ids = embedder.tokenize(text);
      const ref = referenceForward(
        weights,
        1,
        ids.length,
        ids,
        ids.map(() => 1),
        ids.map(() => 0),
      ).lastHiddenState.slice(0, embedderHidden);
      const norm = Math.hypot(...ref);
      expectClose(
        got.subarray(i * embedderHidden, (i + 1) * embedderHidden),
        ref.map((v) => v / norm),
        { atol: 1e-5, rtol: 1e-4, label: `row ${i}` },
      );
    });
    const retriever = new EmbeddingRetriever(embedder);
    await retriever.add(texts.map((text, id) => ({ id, text })));
    for (let i = 0; i < texts.length; i++) expect((await retriever.search(texts[i], 1))[0].id).toBe(i);
    await embedder.dispose();
  });
});

describe('CosineIndex worker', () => {
  it('answers like the in-page index; latency at 10k and 100k, dim 384', async () => {
    const dim = 384;
    for (const n of [10_000, 100_000]) {
      const rows = randomRows(n, dim, n);
      const ids = Array.from({ length: n }, (_, i) => i * 2 + 1);
      const queries = randomRows(5, dim, 7);
      for (const kind of ['flat', 'int8'] as const) {
        const local = CosineIndex.fromVectors(ids, rows, { dim, kind });
        const worker = createIndexWorker();
        try {
          await worker.init({ dim, kind });
          expect(await worker.add(ids, rows.slice())).toBe(n);
          const exclude = new Set([ids[0], ids[5]]);
          const workerMs: number[] = [],
            pageMs: number[] = [];
          for (let qi = 0; qi < 5; qi++) {
            const q = queries.subarray(qi * dim, (qi + 1) * dim);
            const t = performance.now();
            const want = local.search(q, 5, exclude);
            pageMs.push(performance.now() - t);
            const { hits, ms } = await worker.timedSearch(q.slice(), 5, exclude);
            workerMs.push(ms);
            expect(hits).toEqual(want);
          }
          const median = (v: number[]) => [...v].sort((a, b) => a - b)[2].toFixed(1);
          console.log(
            `[chromium] CosineIndex ${kind} n=${n} dim=${dim}: query median ${median(pageMs)} ms in page, ${median(workerMs)} ms in worker`,
          );
          if (n === 10_000) {
            const restored = createIndexWorker();
            expect(await restored.load(await worker.serialize())).toBe(n);
            expect(await restored.search(queries.subarray(0, dim), 5)).toEqual(local.search(queries.subarray(0, dim), 5));
            restored.terminate();
          }
        } finally {
          worker.terminate();
        }
      }
    }
  }, 240_000);
});
