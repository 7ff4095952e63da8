/**
 * `npm run bench:memory`: explicit memory's costs, measured once (no assertions on speed).
 *  1. bytes per reference of the Memory³-2.4B memory shape under every codec (recordBytes), and
 *     every codec's reconstruction error on a real bank's keys/values (written by the bench model);
 *  2. writer throughput in Chromium; 3. retrieval latency at 10k/100k references in Node;
 *  4. no memory vs explicit memory vs RAG: time to first token and decode tok/s, same session.
 */
import { loadavg } from 'node:os';
import { benchModelSeed, cacheDir, ensureBenchModel } from '../lib/model';
import { fmt, gitFacts, machineFacts, round } from '../lib/report';
import { filesRoute, startBenchServer } from '../lib/server';
import { runMemoryPage } from '../memory-browser';
import { measureRetrieval } from '../memory-retrieval';
import { bytesPerReference, memory3Shape, paperBf16Bytes, paperVqBytes } from './memory-codecs';
import type { MemoryPageOptions, MemoryPageResult, RunFigures } from './memory-page';

export interface MemoryBenchOptions {
  quick: boolean;
  log: (line: string) => void;
}

interface Workload {
  page: MemoryPageOptions;
  retrievalSizes: number[];
  retrievalQueries: number;
}

function workload(quick: boolean, modelUrl: string): Workload {
  const page: MemoryPageOptions = quick
    ? {
        modelUrl,
        contextLength: 512,
        references: 6,
        referenceTokens: 24,
        firstElement: 20,
        promptTokens: 32,
        maxTokens: 4,
        checkPairs: 1,
        checkTokens: 4,
        memoriesPerRetrieval: 5,
        retrievalInterval: 64,
        dedupThreshold: null,
        swaps: { interval: 8, lead: 4, count: 4 },
      }
    : {
        modelUrl,
        contextLength: 1024,
        references: 8,
        referenceTokens: 128,
        firstElement: 20,
        promptTokens: 128,
        maxTokens: 32,
        checkPairs: 2,
        checkTokens: 16,
        memoriesPerRetrieval: 5,
        retrievalInterval: 64,
        dedupThreshold: null,
        swaps: { interval: 20, lead: 16, count: 4 },
      };
  return { page, retrievalSizes: quick ? [10_000] : [10_000, 100_000], retrievalQueries: quick ? 5 : 15 };
}

function runFigures(r: RunFigures) {
  const u = r.usage;
  return {
    promptTokens: r.promptTokens,
    promptTokensReported: u.promptTokens,
    completionTokens: u.completionTokens,
    timeToFirstTokenMs: round(u.timeToFirstTokenMs, 1),
    prefillTokensPerSecond: round(u.prefillTokensPerSecond, 3),
    decodeTokensPerSecond: round(u.decodeTokensPerSecond, 4),
    wallClock: {
      firstTokenMs: round(r.wall.firstTokenMs, 1),
      totalMs: round(r.wall.totalMs, 1),
      medianDecodeStepMs: round(r.wall.medianDecodeStepMs, 1),
      decodeTokensPerSecond: round(r.wall.decodeTokensPerSecond, 4),
      stepsMs: r.wall.stepsMs,
    },
    retrievals: r.retrievals.map((e) => ({
      ...e,
      ms: round(e.ms, 1),
      references: e.references.map((x) => ({ ...x, score: round(x.score, 3) })),
    })),
  };
}

const pct = (a: number, b: number) => round((a / b - 1) * 100, 2);

/** Decode overhead and TTFT comparison, with the measured facts that bear on a missed target. */
function comparison(p: MemoryPageResult, interval: number) {
  const { none, memory, rag } = p.runs;
  const decodeOverheadPercent = pct(none.usage.decodeTokensPerSecond, memory.usage.decodeTokensPerSecond);
  const medianStepOverheadPercent = pct(memory.wall.medianDecodeStepMs, none.wall.medianDecodeStepMs);
  const promptRetrievals = memory.retrievals.filter((e) => e.phase === 'prompt');
  const ttft = { none: none.usage.timeToFirstTokenMs, memory: memory.usage.timeToFirstTokenMs, rag: rag.usage.timeToFirstTokenMs };
  const check = p.decodeCheck.map((c) => ({
    ...c,
    noneMedianStepMs: round(c.noneMedianStepMs, 1),
    memoryMedianStepMs: round(c.memoryMedianStepMs, 1),
    overheadPercent: pct(c.memoryMedianStepMs, c.noneMedianStepMs),
  }));
  const notes: string[] = [];
  if (decodeOverheadPercent >= 5) {
    notes.push(
      `Decode target missed in the main runs: ${decodeOverheadPercent}% by tokens/s, ${medianStepOverheadPercent}% by median step; ` +
        `the interleaved check measured ${check.map((c) => `${c.overheadPercent}%`).join(', ')} by median step. The only GPU work memory adds to a decode step is ` +
        `attention over ${p.policy.tokensPerHead * p.runs.memory.retrievals[0]?.references.length} more keys per KV head in ${p.policy.memoryLayers.length} layers (same kernel, same dispatches); ` +
        'where the check disagrees with the main runs, the difference is CPU contention on the shared 2-core machine (SwiftShader runs the GPU work on the CPU; see machine.loadAverage* and the per-step times).',
    );
  }
  if (ttft.memory >= ttft.rag) {
    notes.push(
      `TTFT target missed: memory ${round(ttft.memory)} ms vs RAG ${round(ttft.rag)} ms; the memory run prefilled ` +
        `${memory.usage.promptTokens} tokens (prefix included) in ${promptRetrievals.length + 1} steps, RAG ${rag.usage.promptTokens} tokens in one.`,
    );
  }
  return {
    decodeOverheadPercent,
    medianStepOverheadPercent,
    decodeOverheadTargetPercent: 5,
    // The paper: 733 tok/s with memory vs 1131 without ("35% slower" = 1 − 733/1131; 54% by this bench's formula).
    paperDecodeSlowdownPercent: round((1 - 733 / 1131) * 100, 1),
    paperDecodeOverheadPercent: pct(1131, 733),
    decodeTargetMet: decodeOverheadPercent < 5,
    timeToFirstTokenMs: { none: round(ttft.none, 1), memory: round(ttft.memory, 1), rag: round(ttft.rag, 1) },
    memoryTtftOverNone: round(ttft.memory / ttft.none, 3),
    ragTtftOverNone: round(ttft.rag / ttft.none, 3),
    memoryBeatsRagOnTtft: ttft.memory < ttft.rag,
    interleavedDecodeCheck: check,
    promptChunks: promptRetrievals.length,
    // From the retrieval's start to its memories being written; a prefetched chunk's retrieval overlaps the previous chunk's prefill.
    promptRetrievalMs: promptRetrievals.map((e) => round(e.ms, 1)),
    decodeRetrievals: memory.retrievals.filter((e) => e.phase === 'decode' && !e.reused).length,
    retrievalInterval: interval,
    writerTokensPerSecondOverPrefill: round(p.writer.tokensPerSecond / none.usage.prefillTokensPerSecond, 3),
    notes,
  };
}

/** Per-token GPU time the issue sizes the lead for: a swap's retrieval must fit in lead × this. */
const gpuStepMs = 5;

/** Decode with memory swaps: overhead against the same decode without memory, and each swap's slack. */
function swapFigures(p: MemoryPageResult, o: Workload['page']['swaps']) {
  const s = p.swaps;
  const perSwap = s.swaps.map((w) => ({
    chunk: w.chunk,
    references: w.references,
    latencyMs: round(w.latencyMs, 1),
    leadMs: round(w.leadMs, 1),
    slackMs: round(w.slackMs, 1),
    waitMs: round(w.waitMs, 1),
    stepMs: round(w.stepMs, 1),
    slackAtGpuStepMs: round(o.lead * gpuStepMs - w.latencyMs, 1),
  }));
  return {
    interval: o.interval,
    lead: o.lead,
    generatedTokens: s.generatedTokens,
    swaps: perSwap.length,
    decodeTokensPerSecond: { none: round(s.none.usage.decodeTokensPerSecond, 4), memory: round(s.memory.usage.decodeTokensPerSecond, 4) },
    decodeOverheadPercent: pct(s.none.usage.decodeTokensPerSecond, s.memory.usage.decodeTokensPerSecond),
    medianStepMs: { none: round(s.none.medianStepMs, 1), memory: round(s.memory.medianStepMs, 1) },
    medianStepOverheadPercent: pct(s.memory.medianStepMs, s.none.medianStepMs),
    swapsThatWaited: perSwap.filter((w) => w.waitMs > 0).length,
    minSlackMs: Math.min(...perSwap.map((w) => w.slackMs)),
    gpuStepMs,
    minSlackAtGpuStepMs: Math.min(...perSwap.map((w) => w.slackAtGpuStepMs)),
    perSwap,
    note:
      `The same short prompt decoded without and then with memory in one session, ${s.generatedTokens} tokens each, memories swapped every ${o.interval} tokens ` +
      `(shortened from the policy's 64 to fit SwiftShader's ~1 s steps), each swap's retrieval started ${o.lead} tokens before it. latencyMs: the retrieval ` +
      '(query embedding, search, IndexedDB fetch, record decode; packing into the back slot set follows it, and any wait for it shows in waitMs); leadMs: its start to the step that needed it; slackMs = leadMs − latencyMs; ' +
      `waitMs: how long that step waited; slackAtGpuStepMs = lead × ${gpuStepMs} ms − latencyMs, the slack on a GPU at ${gpuStepMs} ms a token.`,
  };
}

function codecFigures(p: MemoryPageResult) {
  const rows = (rs: MemoryPageResult['codecs']['keys']) =>
    rs.map((r) => ({
      codec: r.codec,
      ...(r.pqSubvectors ? { pqSubvectors: r.pqSubvectors } : {}),
      bytesPerVector: r.bytesPerVector,
      relativeError: round(r.relativeError, 6),
      meanVectorError: round(r.meanVectorError, 6),
      maxAbsError: round(r.maxAbsError, 6),
    }));
  const c = p.codecs;
  return {
    measuredOn:
      `${c.references} references of the bench model's bank (${round(c.meanTokensPerReference, 1)} tokens each on average), ` +
      `written by the engine's memory writer on the GPU and stored as f32; ${c.vectorsPerPart} key and ${c.vectorsPerPart} value vectors of dim ${c.shape.headDim}`,
    shape: c.shape,
    note: 'keys/values rows: codecReport (pq with one codebook of 256 centroids for all layers, trained on the same vectors it encodes, as a bank trains on its own first records; with few references this flatters pq). pqHeldOut: trained on half the references, measured on the others (a small training set: pessimistic)',
    keys: rows(c.keys),
    values: rows(c.values),
    pqHeldOut: c.pqHeldOut && {
      ...c.pqHeldOut,
      keysRelativeError: round(c.pqHeldOut.keysRelativeError, 6),
      valuesRelativeError: round(c.pqHeldOut.valuesRelativeError, 6),
    },
  };
}

export async function runMemoryBench(o: MemoryBenchOptions): Promise<{ results: Record<string, unknown>; summary: string }> {
  const { log } = o;
  const startedAt = new Date();
  const machine = machineFacts();
  const model = ensureBenchModel(log);
  const w = workload(o.quick, `${filesRoute}${model.name}/`);
  const bytes = bytesPerReference(memory3Shape);
  log(`bytes/ref (Memory³-2.4B shape): f16 ${bytes.f16}, int8 ${bytes.int8}, int4 ${bytes.int4}, pq ${bytes.pq}; paper VQ ${paperVqBytes}`);
  const retrieval = await measureRetrieval(w.retrievalSizes, w.retrievalQueries, log);
  const loadBeforeBrowser = loadavg()[0];
  const server = await startBenchServer(cacheDir);
  let page: { result: MemoryPageResult; browserVersion: string };
  try {
    log(`page: dev server at ${server.url}, launching Chromium`);
    page = await runMemoryPage<MemoryPageResult>(server.url, w.page, log);
  } finally {
    await server.close();
  }
  const p = page.result,
    cmp = comparison(p, w.page.retrievalInterval),
    swaps = swapFigures(p, w.page.swaps),
    c = model.config;
  const results = {
    scenario: 'memory',
    quick: o.quick,
    date: startedAt.toISOString(),
    git: gitFacts(),
    durationS: round((Date.now() - startedAt.getTime()) / 1000, 1),
    machine: {
      ...machine,
      loadAverage1mBeforeBrowser: round(loadBeforeBrowser, 2),
      loadAverage1mAtEnd: round(loadavg()[0], 2),
      chromium: page.browserVersion,
      adapter: p.adapter,
    },
    model: {
      name: model.name,
      shapeOf: 'HuggingFaceTB/SmolLM2-135M',
      weights: `random (seed ${benchModelSeed}), F32`,
      parameters: model.parameters,
      layers: c.num_hidden_layers,
      hidden: c.hidden_size,
      heads: c.num_attention_heads,
      kvHeads: c.num_key_value_heads,
      headDim: c.head_dim,
      vocab: c.vocab_size,
      tokenizer: "the fixtures' 328-token byte-level BPE",
      engineLoadMs: round(p.loadMs),
      weightDtype: p.info.weightDtype,
    },
    policy: {
      ...p.policy,
      atGeneration: {
        memoriesPerRetrieval: w.page.memoriesPerRetrieval,
        retrievalInterval: w.page.retrievalInterval,
        dedupThreshold: w.page.dedupThreshold,
      },
    },
    workload: { ...w.page, modelUrl: undefined, retrievalSizes: w.retrievalSizes, retrievalQueries: w.retrievalQueries },
    bytesPerReference: {
      shape: {
        ...memory3Shape,
        of: 'Memory³-2.4B: 22 memory layers × 8 KV heads × 8 tokens × head_dim 80, keys + values, positions not counted',
      },
      ...bytes,
      paperBf16: paperBf16Bytes,
      paperVq: paperVqBytes,
      paperVqBytesPerVector: 14,
      benchModel: bytesPerReference(p.codecs.shape),
    },
    codecs: codecFigures(p),
    writer: {
      ...p.writer,
      ms: round(p.writer.ms),
      referencesPerSecond: round(p.writer.referencesPerSecond, 4),
      tokensPerSecond: round(p.writer.tokensPerSecond, 2),
      engineReferencesPerSecond: round(p.writer.engineReferencesPerSecond, 4),
      warmupMs: round(p.writer.warmupMs),
    },
    retrieval,
    generation: {
      none: runFigures(p.runs.none),
      memory: runFigures(p.runs.memory),
      rag: runFigures(p.runs.rag),
      ragReferences: p.ragReferences,
    },
    dedupOverlap: p.dedupOverlap,
    comparison: cmp,
    decodeSwaps: swaps,
    notes: scaledDownNotes(o.quick, w),
  };
  const summary =
    `memory: f16 ${bytes.f16} B/ref, int8 ${bytes.int8}, int4 ${bytes.int4}, pq ${bytes.pq}; ` +
    `decode overhead ${fmt(cmp.decodeOverheadPercent)}%; with ${swaps.swaps} swaps ${fmt(swaps.decodeOverheadPercent)}%, ` +
    `min slack ${fmt(swaps.minSlackMs)} ms (${fmt(swaps.minSlackAtGpuStepMs)} ms at ${gpuStepMs} ms/token), ${swaps.swapsThatWaited} waited; ttft memory ${round(cmp.timeToFirstTokenMs.memory)} ms, rag ${round(cmp.timeToFirstTokenMs.rag)} ms`;
  return { results, summary };
}

function scaledDownNotes(quick: boolean, w: Workload): string[] {
  const p = w.page;
  const notes = [
    'WebGPU here is SwiftShader (a CPU implementation): absolute times say nothing about a GPU; compare the three generation runs with each other (same session, same engine, same prompt ids).',
    `Scaled down to fit about 10 minutes on SwiftShader: ${p.maxTokens} generated tokens per run (brief: 64–128), so with the interval at ${p.retrievalInterval} no retrieval falls inside decoding ` +
      "(decoding reads the last prompt chunk's memories; the decode figures measure attention over memory slots, not slot swaps; decodeSwaps measures swaps); " +
      `${p.references} references in the bank (brief: 16–32; the writer takes several seconds per 128-token reference here).`,
    `Bank documents: one per element (deterministic fact sentences, bench/memory-text.ts), each cut to ≤ ${p.referenceTokens} tokens so that it is one reference; stored with the f32 codec so that the codec figures see the writer's exact output (generation decodes any codec to f32 slots).`,
    "The bank is searched hybrid: BM25 fused (reciprocal rank) with the test fixture's tiny ONNX embedder (test/fixtures/embedder, 47 KB), so that decode-time queries, a random model's text that shares no word with the bank, still retrieve references; retrieval latencies include embedding the query.",
    "The near-duplicate filter is off at generation (dedupThreshold null): the bench tokenizer has 328 tokens (mostly bytes), so any two English texts share more than 2/3 of their tokens (see dedupOverlap) and the paper's filter would drop every reference.",
    'RAG = the references the memory run retrieved for its last prompt chunk, as plain text (joined by blank lines) between <s> and the prompt; no memory.',
    'Bytes per reference count the keys + values payload (recordBytes), not the stored positions or the checksum.',
    "The paper's VQ packs an 80-dim vector in 14 bytes; our pq needs the subvector count to divide head_dim, so 80 → 16 subvectors (16 bytes per vector).",
    'Each generation is measured once after short warm-ups (a short prompt + 2 generated tokens, with and without memory); other processes may have shared the CPU (machine.loadAverage*). ' +
      `comparison.interleavedDecodeCheck repeats the decode comparison ${p.checkPairs}× as (no memory, memory) pairs of ${p.checkTokens} tokens after a short prompt whose words every bank document contains (it retrieves memoriesPerRetrieval memories; see memories), to tell memory's cost from drift.`,
  ];
  if (quick)
    notes.unshift(
      '--quick: a smoke run (32-token prompt, 4 generated tokens, 24-token references, 10k references only); its figures are not the benchmark.',
    );
  return notes;
}
