/**
 * What the engine needs from explicit memory at inference: given the text of a chunk, up to
 * memoriesPerRetrieval decoded memories and the references they came from. The bank-backed
 * provider (bank-provider.ts) retrieves from IndexedDB; tests can supply fixed memories.
 */
import type { MemoryPolicy, MemoryRecordData, Reference } from './types';

export interface RetrievedReference {
  id: number;
  score: number;
  source: string;
  text: string;
  start: number;
  end: number;
}

export interface Retrieval {
  memories: { reference: RetrievedReference; data: MemoryRecordData }[];
  /** Record ids whose stored bytes failed their checksum: reported and skipped. */
  corrupt: number[];
}

export interface MemoryProvider {
  readonly policy: MemoryPolicy;
  /** Identifies the bank and policy: KV rows computed under another tag are not reused. */
  readonly tag: string;
  retrieve(query: string, signal?: AbortSignal): Promise<Retrieval>;
}

/** One retrieval as reported to the application (the memory inspector). */
export interface RetrievalEvent {
  phase: 'prompt' | 'decode';
  /** Chunk number within its phase. */
  chunk: number;
  /** Token span [start, end) of the chunk: prompt tokens (prompt phase) or generated tokens (decode phase). */
  span: [number, number];
  /** The text the retrieval was made with (the chunk itself in the prompt, the previous chunk while decoding). */
  query: string;
  references: RetrievedReference[];
  corrupt: number[];
  /** True when the chunk reuses the previous chunk's memories (the first decoded chunk). */
  reused: boolean;
  /** Milliseconds the retrieval itself took (search, fetch, decode); prefetched ones overlap GPU work. */
  ms: number;
  /** Milliseconds from the retrieval's start to the step that needed its memories; leadMs − ms is the slack. */
  leadMs: number;
  /** Milliseconds that step waited for it (0: its memories were staged already). */
  waitMs: number;
}

export function toRetrievedReference(ref: Reference, score: number): RetrievedReference {
  return { id: ref.id, score, source: ref.source, text: ref.text, start: ref.start, end: ref.end };
}
