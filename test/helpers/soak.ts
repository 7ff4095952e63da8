/**
 * A long chat session with explicit memory (page side): turns of a growing conversation, a new
 * conversation when the context fills, the memory swapped every few turns (banks, or memoriesPerRetrieval,
 * giving memory slots of different shapes, so swapping reallocates them), retrieval every few decoded
 * tokens (memories swapped while decoding). Samples the engine's live GPU buffers after every turn
 * and its worker's JS heap (after a GC) every few turns. Used by test/browser/soak.test.ts (short)
 * and tools/soak (1,000 turns on the default model).
 */
import type { Memory3Engine } from '../../src/index';

/** What a turn reads: a bank and inference-time policy knobs (memoriesPerRetrieval changes the slots' shape). */
export interface SoakMemory {
  name: string;
  bank: string;
  memoriesPerRetrieval?: number;
}

export interface SoakOptions {
  turns: number;
  memories: SoakMemory[];
  swapEvery: number;
  maxTokens: number;
  questions: string[];
  contextLength: number;
  /** Retrieval interval while decoding (an inference-time policy knob). */
  retrievalInterval: number;
  heapEvery: number;
  heap: () => Promise<number>;
  /**
   * Empty the tokenizer's BPE word cache before each heap read: an LRU of at most 10,000 words that a
   * model generating new names keeps filling for thousands of turns (bounded, not a leak); its size
   * is reported in each sample instead.
   */
  clearWordCache?: boolean;
  onTurn?: (turn: number, sample: SoakSample) => void;
}

export interface SoakSample {
  turn: number;
  memory: string;
  buffers: number;
  bufferBytes: number;
  created: number;
  heap: number | null;
  /** Words in the tokenizer's BPE cache at this turn (before any clearing). */
  tokenizerWords: number;
  promptTokens: number;
}

export interface SoakReport {
  turns: number;
  conversations: number;
  decodeRetrievals: number;
  ms: number;
  samples: SoakSample[];
}

export async function runSoak(engine: Memory3Engine, o: SoakOptions): Promise<SoakReport> {
  const t0 = performance.now();
  const samples: SoakSample[] = [];
  let messages: { role: 'user' | 'assistant'; content: string }[] = [];
  let conversations = 1,
    decodeRetrievals = 0;
  for (let turn = 0; turn < o.turns; turn++) {
    const m = o.memories[Math.floor(turn / o.swapEvery) % o.memories.length];
    messages.push({ role: 'user', content: o.questions[turn % o.questions.length] });
    const r = await engine.generate({
      messages,
      maxTokens: o.maxTokens,
      temperature: 0.8,
      topK: 20,
      seed: turn,
      ignoreEos: true,
      memory: {
        bank: m.bank,
        policy: {
          retrievalInterval: o.retrievalInterval,
          ...(m.memoriesPerRetrieval ? { memoriesPerRetrieval: m.memoriesPerRetrieval } : {}),
        },
      },
    }).result;
    decodeRetrievals += (r.retrievals ?? []).filter((e) => e.phase === 'decode' && !e.reused).length;
    messages.push({ role: 'assistant', content: r.text });
    if (r.usage.totalTokens + 2 * o.maxTokens + 48 > o.contextLength) {
      messages = [];
      conversations++;
    }
    const heapTurn = (turn + 1) % o.heapEvery === 0;
    const stats = await engine.debugStats({ clearWordCache: heapTurn && o.clearWordCache === true });
    const sample: SoakSample = {
      turn,
      memory: m.name,
      buffers: stats.live,
      bufferBytes: stats.liveBytes,
      created: stats.created,
      heap: heapTurn ? await o.heap() : null,
      tokenizerWords: stats.tokenizerWords,
      promptTokens: r.usage.promptTokens,
    };
    samples.push(sample);
    o.onTurn?.(turn, sample);
  }
  return { turns: o.turns, conversations, decodeRetrievals, ms: performance.now() - t0, samples };
}

export interface Flatness {
  warmupTurns: number;
  /** Per memory (whose slots have their own shape): live buffers and bytes after warm-up. */
  gpu: Record<string, { buffers: [number, number]; bytes: [number, number] }>;
  /** Heap after a GC: the first and last samples after warm-up, and the least-squares slope. */
  heap: { first: number; last: number; max: number; bytesPerTurn: number; samples: number };
}

/** GPU buffer and heap figures over the turns after `warmupTurns`. */
export function flatness(samples: SoakSample[], warmupTurns: number): Flatness {
  const after = samples.filter((s) => s.turn >= warmupTurns);
  const heap = after.filter((s) => s.heap !== null) as (SoakSample & { heap: number })[];
  const n = heap.length,
    mx = heap.reduce((a, s) => a + s.turn, 0) / Math.max(1, n),
    my = heap.reduce((a, s) => a + s.heap, 0) / Math.max(1, n);
  const sxy = heap.reduce((a, s) => a + (s.turn - mx) * (s.heap - my), 0),
    sxx = heap.reduce((a, s) => a + (s.turn - mx) ** 2, 0);
  return {
    warmupTurns,
    gpu: Object.fromEntries(
      [...new Set(after.map((s) => s.memory))].map((name) => {
        const of = after.filter((s) => s.memory === name);
        const range = (xs: number[]): [number, number] => [Math.min(...xs), Math.max(...xs)];
        return [name, { buffers: range(of.map((s) => s.buffers)), bytes: range(of.map((s) => s.bufferBytes)) }];
      }),
    ),
    heap: {
      first: heap[0]?.heap ?? 0,
      last: heap[n - 1]?.heap ?? 0,
      max: Math.max(0, ...heap.map((s) => s.heap)),
      bytesPerTurn: sxx > 0 ? sxy / sxx : 0,
      samples: n,
    },
  };
}
