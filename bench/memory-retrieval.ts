/**
 * Retrieval latency in Node (V8, one thread): the bank's lexical retriever (LexicalRetriever, BM25
 * on minisearch) over synthetic reference texts, and the cosine index (CosineIndex, dim 384, flat
 * and int8) over seeded Gaussian vectors, at each bank size. Query time is the median over several
 * queries, after one untimed warm-up query; k = 15 (5 memories × the bank provider's overfetch of 3).
 */
import { CosineIndex, englishStopWords, LexicalRetriever } from '../src/memory/retrieval';
import { Prng } from '../tools/fixtures/prng';
import { syntheticCorpus } from './memory-text';
import { round } from './lib/report';

export interface LatencyFigures {
  references: number;
  buildMs: number;
  queries: number;
  k: number;
  medianQueryMs: number;
  minQueryMs: number;
  maxQueryMs: number;
}

export interface RetrievalLatency {
  runtime: string;
  lexical: LatencyFigures[];
  cosineFlat: LatencyFigures[];
  cosineInt8: LatencyFigures[];
  embeddingDim: number;
  corpus: string;
}

const k = 15;
export const embeddingDim = 384;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b),
    m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function timeQueries(n: number, run: (i: number) => Promise<unknown> | unknown): Promise<number[]> {
  await run(n); // warm-up: query n (not among the timed ones)
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await run(i);
    times.push(performance.now() - t0);
  }
  return times;
}

function figures(references: number, buildMs: number, times: number[]): LatencyFigures {
  return {
    references,
    buildMs: round(buildMs),
    queries: times.length,
    k,
    medianQueryMs: round(median(times), 3),
    minQueryMs: round(Math.min(...times), 3),
    maxQueryMs: round(Math.max(...times), 3),
  };
}

async function lexicalLatency(size: number, queries: number): Promise<LatencyFigures> {
  const corpus = syntheticCorpus(size, queries + 1, 7000 + size, englishStopWords.length);
  const t0 = performance.now();
  const retriever = new LexicalRetriever({ stopWords: corpus.stopWords });
  const batch = 1000;
  for (let i = 0; i < size; i += batch) {
    await retriever.add(corpus.texts.slice(i, i + batch).map((text, j) => ({ id: i + j, text })));
  }
  const buildMs = performance.now() - t0;
  const times = await timeQueries(queries, (i) => retriever.search(corpus.queries[i], k));
  return figures(size, buildMs, times);
}

function cosineLatency(size: number, queries: number, kind: 'flat' | 'int8'): Promise<LatencyFigures> {
  const rng = new Prng(9000 + size);
  const vectors = rng.normalArray(size * embeddingDim, 1);
  const ids = Array.from({ length: size }, (_, i) => i);
  const qs = Array.from({ length: queries + 1 }, () => rng.normalArray(embeddingDim, 1));
  const t0 = performance.now();
  const index = CosineIndex.fromVectors(ids, vectors, { dim: embeddingDim, kind });
  const buildMs = performance.now() - t0;
  return timeQueries(queries, (i) => index.search(qs[i], k)).then((times) => figures(size, buildMs, times));
}

/** Every figure at every size, sizes in increasing order; `log` hears one line per measurement. */
export async function measureRetrieval(sizes: number[], queries: number, log: (l: string) => void): Promise<RetrievalLatency> {
  const out: RetrievalLatency = {
    runtime: `Node ${process.version} (V8, single thread)`,
    lexical: [],
    cosineFlat: [],
    cosineInt8: [],
    embeddingDim,
    corpus: `synthetic: 90 Zipf-distributed words per reference over a 50k-word vocabulary (≈ a 128-token reference), 45-word queries (≈ a 64-token chunk); seeded. The ${englishStopWords.length} most frequent synthetic words are the lexical retriever's stop words, as the default English list is for English text`,
  };
  for (const size of sizes) {
    const lex = await lexicalLatency(size, queries);
    out.lexical.push(lex);
    log(`retrieval: lexical ${size} refs: index built in ${lex.buildMs} ms, median query ${lex.medianQueryMs} ms`);
    for (const kind of ['flat', 'int8'] as const) {
      const cos = await cosineLatency(size, queries, kind);
      (kind === 'flat' ? out.cosineFlat : out.cosineInt8).push(cos);
      log(`retrieval: cosine ${kind} ${size} × ${embeddingDim}: median query ${cos.medianQueryMs} ms`);
    }
  }
  return out;
}
