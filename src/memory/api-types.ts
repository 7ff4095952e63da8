/**
 * The memory API's public shapes (createBank options, documents, progress and results). Kept apart
 * from manager.ts so that the library's shipped .d.ts files reach no GPU or model internals: a
 * consumer type-checks them without @webgpu/types.
 */
import type { MemoryPolicy } from './types';

/** How a bank is searched: BM25 over its text, or an ONNX sentence-embedding model alone or fused with BM25. */
export type RetrieverSpec =
  | { kind: 'lexical' }
  | {
      kind: 'embedding' | 'hybrid' /** Folder URL holding model.onnx and tokenizer.json. */;
      model: string;
      pooling?: 'cls' | 'mean' /** Hybrid: the embedding side's weight (0.5). */;
      weight?: number;
    };

export interface CreateBankOptions {
  /** Overrides of the model's memory policy (config.json `memory3`, else the paper's defaults). */
  policy?: Partial<MemoryPolicy>;
  /** How the bank is searched: 'lexical' (default, BM25), or 'embedding' / 'hybrid' with an ONNX sentence-embedding model folder (model.onnx + tokenizer.json). */
  retriever?: RetrieverSpec;
  overwrite?: boolean;
}

export interface MemoryDocument {
  source: string;
  text: string;
}

/** The policy knobs a generation may override (the others are fixed by the bank: it was encoded with them). */
export type InferenceKnob =
  | 'memoriesPerRetrieval'
  | 'retrievalInterval'
  | 'retrievalLead'
  | 'positionScheme'
  | 'dedupThreshold'
  | 'minRelativeScore';

/** Explicit memory for one request: the bank to read, and inference knobs of its policy. */
export interface MemoryRequest {
  bank: string;
  policy?: Partial<Pick<MemoryPolicy, InferenceKnob>>;
}

export interface AddDocumentsProgress {
  phase: 'split' | 'encode' | 'done';
  documents: number;
  documentsDone: number;
  references: number;
  referencesDone: number;
  /** References skipped because an earlier, interrupted run already stored them. */
  referencesResumed: number;
}

export interface AddDocumentsResult {
  references: number;
  resumed: number;
  documents: number;
  ms: number;
  referencesPerSecond: number;
}
