/**
 * Shared shapes of explicit memory (Memory³): references, sparse memory records, codecs.
 * See shared/docs/explicit-memory.md. Tensor shapes are written (memLayers, memHeads, k, headDim)
 * where memLayers/memHeads index the policy's memoryLayers/memoryHeads lists, in that order.
 */

export type CodecName = 'f32' | 'f16' | 'int8' | 'int4' | 'pq';

/** How keys and values are compressed (KIVI-style: they may differ). */
export interface CodecSpec {
  keys: CodecName;
  values: CodecName;
  /** Product quantizer shape (when keys or values use 'pq'): subvectors per vector, 256 centroids each. */
  pqSubvectors?: number;
}

export type PositionScheme = 'parallel' | 'contiguous';

/** Every knob of the memory policy; defaults are the paper's (see defaultPolicy in policy.ts). */
export interface MemoryPolicy {
  /** Layers whose attention reads memories (default: the first half). */
  memoryLayers: number[];
  /** KV heads that carry memories in those layers (default: all). */
  memoryHeads: number[];
  /** Tokens kept per (layer, KV head) of each reference (8). */
  tokensPerHead: number;
  /** Largest reference, in tokens (128). */
  referenceLength: number;
  /** References retrieved per interval (5). */
  memoriesPerRetrieval: number;
  /** Tokens between retrievals (64). */
  retrievalInterval: number;
  /**
   * [choice] While decoding, a swap's retrieval starts this many tokens before the swap, so it runs
   * during those steps instead of stalling the one after: the query is the retrievalInterval tokens
   * ending retrievalLead tokens before the swap (the first swap's window reaches back into the
   * prompt). 0 = the paper's query, the interval just generated (retrieval then overlaps one step).
   * Clamped to retrievalInterval − 1. Default 16: 80 ms of lead at 5 ms a token.
   */
  retrievalLead: number;
  /** Text put before every reference when encoding it, and before the context at inference. */
  referencePrefix: string;
  /** 'parallel': all memories share positions [b, b+referenceLength) and the context starts at
   *  b+referenceLength (the paper). 'contiguous': memories are re-rotated to consecutive positions
   *  after the prefix and the context follows them (TurboRAG/CacheBlend, for models not trained with memory). */
  positionScheme: PositionScheme;
  codec: CodecSpec;
  /**
   * Skip references whose token overlap with the query text is above this; null = off (the default).
   * The paper uses 2/3 in evaluation only, so that a text is never scored with its own copy in
   * memory; while generating, the query is the text just produced, and the filter would take away
   * the very reference the model is reading from.
   */
  dedupThreshold: number | null;
  /**
   * Splice only clearly relevant references: keep a retrieved reference only when its score is at
   * least this share of the best one's (retriever scores, best first); null = keep all
   * memoriesPerRetrieval (the paper). A short question usually matches one reference far better
   * than the rest, and a small model reads one right reference better than five look-alikes.
   */
  minRelativeScore: number | null;
}

/** A knowledge chunk: ≤ referenceLength tokens cut on token boundaries from a source document. */
export interface Reference {
  id: number;
  /** The caller's document id. */
  source: string;
  text: string;
  /** Character offsets of `text` in the source document. */
  start: number;
  end: number;
  tokenCount: number;
  /**
   * Its token ids (`text` encoded without special tokens, tokenCount of them), stored at write time
   * so that the near-duplicate filter never re-tokenizes a candidate; absent in banks written before.
   */
  tokens?: number[];
}

/** One reference's sparse memory, decoded to f32. */
export interface MemoryRecordData {
  keys: Float32Array; // (memLayers, memHeads, tokensPerHead, headDim), RoPE applied at their positions
  values: Float32Array; // (memLayers, memHeads, tokensPerHead, headDim)
  /** Position (within [prefix + reference]) of each kept token, for re-rotation: (memLayers, memHeads, tokensPerHead). */
  positions: Uint16Array;
  /**
   * Kept tokens per (layer, head): min(reference tokens, tokensPerHead). A reference shorter than
   * tokensPerHead fills only its first `slots` slots; the rest are unused and never spliced
   * (undefined: all tokensPerHead are used).
   */
  slots?: number;
}

/** The geometry every record of a bank shares. */
export interface MemoryShape {
  memLayers: number;
  memHeads: number;
  tokensPerHead: number;
  headDim: number;
}

export const vectorsPerRecord = (s: MemoryShape) => s.memLayers * s.memHeads * s.tokensPerHead;
