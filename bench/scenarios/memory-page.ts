/**
 * Page side of the memory bench, one Chromium session, one engine:
 *  1. the writer: encode element-fact documents (one ≤ referenceTokens reference each) into a bank
 *     stored as f32, after a one-document warm-up bank (pipeline compilation), timed;
 *  2. the bank's real keys and values read back from IndexedDB → codec figures;
 *  3. generation without memory, with explicit memory (the bank), and with RAG (the 5 references the
 *     memory run retrieved for its last prompt chunk, as plain text before the prompt), greedy past
 *     end-of-sequence, after short warm-ups of both paths;
 *  4. decode with memory swaps (memory-swaps.ts): without and with memory, long enough for several
 *     decode-time swaps, each swap's retrieval latency and slack.
 */
import { createEngine, type GenerationUsage, type Memory3Engine, type RetrievalEvent } from '../../src/index';
import { medianGap } from '../lib/stats';
import { overlapRatio, paperDedupThreshold } from '../../src/memory/retrieval/dedup';
import { elementSentences, promptText } from '../memory-text';
import type { MemoryPolicy } from '../../src/memory/types';
import { bankCodecFigures, readBankVectors, type BankCodecFigures } from './memory-codecs';
import { adapterFacts, type AdapterFacts } from './speed-page';
import { swapRuns, type SwapOptions, type SwapRunFigures } from './memory-swaps';

type Log = (line: string) => void;

export interface MemoryPageOptions {
  modelUrl: string;
  contextLength: number;
  /** Documents in the bank (one reference each). */
  references: number;
  /** Token budget of each document's text (≤ the policy's 128-token reference length). */
  referenceTokens: number;
  /** Element index of the first document. */
  firstElement: number;
  promptTokens: number;
  maxTokens: number;
  /** Interleaved decode check: pairs of (no memory, memory) runs of `checkTokens` tokens after a short prompt that retrieves memories. */
  checkPairs: number;
  checkTokens: number;
  memoriesPerRetrieval: number;
  retrievalInterval: number;
  /** The near-duplicate filter at generation (null: off; see dedupOverlap in the result). */
  dedupThreshold: number | null;
  /** The decode-swap runs (their own interval and lead). */
  swaps: SwapOptions;
}

export interface RunFigures {
  usage: GenerationUsage;
  promptTokens: number;
  tokens: number[];
  /** Page clock: call → first token; median gap between tokens; (n − 1) / (last − first). */
  wall: { firstTokenMs: number; totalMs: number; medianDecodeStepMs: number; decodeTokensPerSecond: number; stepsMs: number[] };
  retrievals: RetrievalFigures[];
}

export type RetrievalFigures = Pick<RetrievalEvent, 'phase' | 'chunk' | 'span' | 'reused' | 'ms'> & {
  references: { id: number; source: string; score: number }[];
};

export interface WriterFigures {
  documents: number;
  references: number;
  tokens: number;
  ms: number;
  referencesPerSecond: number;
  tokensPerSecond: number;
  engineReferencesPerSecond: number; // addDocuments' own figure
  warmupMs: number;
}

export interface MemoryPageResult {
  adapter: AdapterFacts;
  info: Memory3Engine['info'];
  loadMs: number;
  policy: MemoryPolicy; // the bank's, before the generation overrides (memoriesPerRetrieval, retrievalInterval, dedupThreshold)
  bankStats: unknown;
  writer: WriterFigures;
  codecs: BankCodecFigures;
  ragReferences: { id: number; source: string; tokens: number }[];
  /** overlapRatio (the paper's near-duplicate measure) of the first prompt chunk with each document: min, median, max. */
  dedupOverlap: { min: number; median: number; max: number; paperThreshold: number };
  runs: { none: RunFigures; memory: RunFigures; rag: RunFigures };
  decodeCheck: { pair: number; noneMedianStepMs: number; memoryMedianStepMs: number; memories: number }[];
  swaps: SwapRunFigures;
}

const bank = 'bench-memory';
const shortPrompt = 'Which chemical element has this symbol and atomic number?';
const bos = 322; // the bench tokenizer's <s>

/** One document per element: its fact sentences, as many as fit in `budget` tokens (at least one). */
async function documents(engine: Memory3Engine, o: MemoryPageOptions): Promise<{ source: string; text: string }[]> {
  const docs = [];
  for (let d = 0; d < o.references; d++) {
    const sentences = elementSentences(o.firstElement + d);
    let text = sentences[0];
    for (const s of sentences.slice(1)) {
      const next = `${text} ${s}`;
      if ((await engine.tokenize(next, { addSpecialTokens: false })).length > o.referenceTokens) break;
      text = next;
    }
    docs.push({ source: `element-${o.firstElement + d}.txt`, text });
  }
  return docs;
}

async function encodeBank(engine: Memory3Engine, docs: { source: string; text: string }[], log: Log): Promise<WriterFigures> {
  const f32 = { codec: { keys: 'f32' as const, values: 'f32' as const } };
  let t0 = performance.now();
  await engine.memory.createBank('bench-warmup', { policy: f32, overwrite: true });
  await engine.memory.addDocuments('bench-warmup', [{ source: 'warmup.txt', text: docs[0].text.slice(0, 40) }]);
  await engine.memory.delete('bench-warmup');
  const warmupMs = performance.now() - t0;
  log(`writer: warm-up bank (1 short reference) in ${(warmupMs / 1000).toFixed(1)} s`);
  // Hybrid search (BM25 + the test fixture's tiny ONNX embedder, fused): a random model's decoded text shares no
  // word with the bank, so lexical search alone would give decode-time swaps no memories to swap in.
  const retriever = { kind: 'hybrid' as const, model: `${location.origin}/test/fixtures/embedder/` };
  await engine.memory.createBank(bank, { policy: f32, overwrite: true, retriever });
  t0 = performance.now();
  const r = await engine.memory.addDocuments(bank, docs, {
    onProgress: (p) => {
      if (p.phase === 'encode' && p.referencesDone > 0) log(`writer: ${p.referencesDone}/${p.references} references`);
    },
  });
  const ms = performance.now() - t0;
  let tokens = 0;
  for (const d of docs) tokens += (await engine.tokenize(d.text, { addSpecialTokens: false })).length;
  return {
    documents: docs.length,
    references: r.references,
    tokens,
    ms,
    referencesPerSecond: r.references / (ms / 1000),
    tokensPerSecond: tokens / (ms / 1000),
    engineReferencesPerSecond: r.referencesPerSecond,
    warmupMs,
  };
}

type GenExtra = {
  memory?: { bank: string; policy: { memoriesPerRetrieval: number; retrievalInterval: number; dedupThreshold: number | null } };
};

async function timed(engine: Memory3Engine, tokens: number[], maxTokens: number, extra: GenExtra): Promise<RunFigures> {
  await engine.resetContext();
  const t0 = performance.now();
  const at: number[] = [];
  const stream = engine.generate({ tokens, maxTokens, temperature: 0, ignoreEos: true, ...extra });
  for await (const delta of stream) if (delta.tokens.length > 0) at.push(performance.now());
  const r = await stream.result;
  const totalMs = performance.now() - t0,
    first = at[0] ?? t0,
    last = at[at.length - 1] ?? t0;
  return {
    usage: r.usage,
    promptTokens: tokens.length,
    tokens: r.tokens,
    wall: {
      firstTokenMs: first - t0,
      totalMs,
      medianDecodeStepMs: medianGap(at),
      decodeTokensPerSecond: at.length > 1 ? (at.length - 1) / ((last - first) / 1000) : 0,
      stepsMs: at.slice(1).map((t, i) => Math.round(t - at[i])),
    },
    retrievals: (r.retrievals ?? []).map((e) => ({
      phase: e.phase,
      chunk: e.chunk,
      span: e.span,
      reused: e.reused,
      ms: e.ms,
      references: e.references.map((x) => ({ id: x.id, source: x.source, score: x.score })),
    })),
  };
}

function logRun(log: Log, name: string, f: RunFigures): void {
  log(
    `generate ${name}: ${f.promptTokens} prompt tokens, ttft ${(f.usage.timeToFirstTokenMs / 1000).toFixed(1)} s, ` +
      `decode ${f.usage.decodeTokensPerSecond.toFixed(3)} tok/s (median step ${f.wall.medianDecodeStepMs.toFixed(0)} ms)`,
  );
}

async function generations(engine: Memory3Engine, o: MemoryPageOptions, docText: Map<string, string>, log: Log) {
  const asked = Array.from({ length: Math.min(6, o.references) }, (_, i) => o.firstElement + ((i * 5 + 3) % o.references));
  const prompt = [bos, ...(await engine.tokenize(promptText(asked), { addSpecialTokens: false })).slice(0, o.promptTokens - 1)];
  const policy = { memoriesPerRetrieval: o.memoriesPerRetrieval, retrievalInterval: o.retrievalInterval, dedupThreshold: o.dedupThreshold };
  const memory: GenExtra = { memory: { bank, policy } };
  // Short prompt for warm-ups and the decode check, in the words of every bank document, so that it retrieves a full set of memories.
  const short = [bos, ...(await engine.tokenize(shortPrompt, { addSpecialTokens: false }))];
  log(`generate: warm-ups (${short.length} prompt + 2 generated tokens, without and with memory)`);
  await timed(engine, short, 2, {});
  await timed(engine, short, 2, memory);
  log(`generate: no memory (${prompt.length} prompt + ${o.maxTokens} generated tokens)`);
  const none = await timed(engine, prompt, o.maxTokens, {});
  logRun(log, 'no memory', none);
  const withMemory = await timed(engine, prompt, o.maxTokens, memory);
  logRun(log, 'with memory', withMemory);
  const refs = [...withMemory.retrievals].reverse().find((e) => e.phase === 'prompt')?.references ?? [];
  if (refs.length === 0) throw new Error('bench: the memory run retrieved no references for its prompt (RAG needs them)');
  const texts = refs.map((r) => docText.get(r.source) ?? '');
  const ragText = await engine.tokenize(`${texts.join('\n\n')}\n\n`, { addSpecialTokens: false });
  const rag = await timed(engine, [bos, ...ragText, ...prompt.slice(1)], o.maxTokens, {});
  logRun(log, 'RAG', rag);
  const ragReferences = await Promise.all(
    refs.map(async (r, i) => ({
      id: r.id,
      source: r.source,
      tokens: (await engine.tokenize(texts[i], { addSpecialTokens: false })).length,
    })),
  );
  const decodeCheck = [];
  for (let pair = 0; pair < o.checkPairs; pair++) {
    const a = await timed(engine, short, o.checkTokens, {});
    const b = await timed(engine, short, o.checkTokens, memory);
    const memories = b.retrievals.find((e) => e.phase === 'prompt')?.references.length ?? 0;
    decodeCheck.push({ pair, noneMedianStepMs: a.wall.medianDecodeStepMs, memoryMedianStepMs: b.wall.medianDecodeStepMs, memories });
    log(
      `decode check ${pair + 1}/${o.checkPairs}: median step ${a.wall.medianDecodeStepMs.toFixed(0)} ms without, ${b.wall.medianDecodeStepMs.toFixed(0)} ms with ${memories} memories`,
    );
  }
  const swaps = await swapRuns(
    engine,
    short,
    bank,
    { memoriesPerRetrieval: o.memoriesPerRetrieval, dedupThreshold: o.dedupThreshold },
    o.swaps,
    log,
  );
  return {
    runs: { none, memory: withMemory, rag },
    decodeCheck,
    swaps,
    ragReferences,
    dedupOverlap: await dedupOverlap(engine, prompt.slice(1, 1 + o.retrievalInterval), [...docText.values()]),
  };
}

async function dedupOverlap(engine: Memory3Engine, chunk: number[], texts: string[]): Promise<MemoryPageResult['dedupOverlap']> {
  const r = (await Promise.all(texts.map((t) => engine.tokenize(t, { addSpecialTokens: false }))))
    .map((ids) => overlapRatio(chunk, ids))
    .sort((a, b) => a - b);
  return { min: r[0], median: r[r.length >> 1], max: r[r.length - 1], paperThreshold: paperDedupThreshold };
}

export async function memoryScenario(o: MemoryPageOptions, log: Log): Promise<MemoryPageResult> {
  const t0 = performance.now();
  const engine = await createEngine({ model: o.modelUrl, contextLength: o.contextLength });
  const loadMs = performance.now() - t0;
  try {
    log(`engine: loaded in ${(loadMs / 1000).toFixed(1)} s on ${engine.info.adapter.vendor} ${engine.info.adapter.architecture}`);
    const docs = await documents(engine, o);
    const writer = await encodeBank(engine, docs, log);
    log(
      `writer: ${writer.references} references (${writer.tokens} tokens) in ${(writer.ms / 1000).toFixed(1)} s = ${writer.referencesPerSecond.toFixed(3)} refs/s`,
    );
    const stats = await engine.memory.stats(bank);
    const vectors = await readBankVectors(
      bank,
      docs.map((d) => d.source),
    );
    const codecs = bankCodecFigures(vectors);
    log(`codecs: measured on ${codecs.vectorsPerPart} key and value vectors of dim ${codecs.shape.headDim}`);
    const gen = await generations(engine, o, new Map(docs.map((d) => [d.source, d.text])), log);
    await engine.memory.delete(bank);
    return {
      adapter: await adapterFacts(engine.info.adapter),
      info: engine.info,
      loadMs,
      policy: vectors.policy,
      bankStats: stats,
      writer,
      codecs,
      ...gen,
    };
  } finally {
    await engine.dispose();
  }
}
