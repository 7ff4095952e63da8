/**
 * The whole wire format between the page and the engine worker: the API the worker exposes with
 * comlink, the model specification that crosses the boundary, and the error transfer handler that
 * rebuilds the engine's named error classes (with their details) on the other side.
 */
import { transferHandlers } from 'comlink';
import type {
  EngineState,
  GenerateRequest,
  GenerationDelta,
  GenerationResult,
  LoadOptions,
  LoadProgress,
  ModelInfo,
} from '../engine/types';
import type { BufferTally } from '../gpu/buffer-tally';
import type { StepStats } from '../gpu/step-totals';

/** What `debugStats` reports (@internal: soak tests). */
export interface DebugStats extends BufferTally {
  tokenizerWords: number;
}
import type { RetrievalEvent } from '../memory/provider';
import type { AddDocumentsProgress, AddDocumentsResult, CreateBankOptions, MemoryDocument } from '../memory/api-types';
import type { BankStats, BankSummary } from '../memory/store/banks';
import { errorClasses, type ErrorName } from '../util/errors';

/** Where the model comes from: a folder URL (Hugging Face `resolve/main/` layout or a static path) or picked files. */
export type ModelSpec = string | { url: string } | { files: File[] };

export interface WorkerLoadRequest extends LoadOptions {
  model: ModelSpec;
}

/** What the worker exposes. Callbacks arrive as comlink proxies. */
export interface WorkerApi {
  load(
    req: WorkerLoadRequest,
    onProgress: (p: LoadProgress) => void,
    onState: (s: EngineState, detail?: string) => void,
  ): Promise<ModelInfo>;
  generate(
    id: number,
    req: GenerateRequest,
    onDelta: (d: GenerationDelta) => void,
    onRetrieval?: (e: RetrievalEvent) => void,
  ): Promise<GenerationResult>;
  createBank(name: string, opts: CreateBankOptions): Promise<BankStats>;
  addDocuments(
    id: number,
    bank: string,
    docs: MemoryDocument[],
    onProgress: (p: AddDocumentsProgress) => void,
  ): Promise<AddDocumentsResult>;
  listBanks(): Promise<BankSummary[]>;
  deleteBank(name: string): Promise<void>;
  bankStats(name: string): Promise<BankStats>;
  /** The bank as one streamed file (transferred to the caller). */
  exportBank(name: string): Promise<ReadableStream<Uint8Array>>;
  importBank(data: Blob | ReadableStream<Uint8Array>, opts: { name?: string; overwrite?: boolean }): Promise<BankStats>;

  abort(id: number): void;
  evaluate(id: number, tokens: number[]): Promise<Float32Array>;
  tokenize(text: string, addSpecialTokens: boolean): Promise<number[]>;
  detokenize(tokens: number[]): Promise<string>;
  applyChatTemplate(messages: { role: string; content: string }[]): Promise<string>;
  resetContext(): Promise<void>;
  cachedTokenCount(): Promise<number>;
  simulateDeviceLoss(): Promise<void>;
  /**
   * GPU buffers the engine holds now and the words in its tokenizer's BPE cache (soak tests);
   * `clearWordCache` empties that cache after counting it, so a heap read next leaves it out.
   */
  debugStats(opts?: { clearWordCache?: boolean }): Promise<DebugStats>;
  /** Per-step counters since the last reset and the per-layer dispatch split (@internal: the bench); `reset` starts them over. */
  stepStats(opts?: { reset?: boolean }): Promise<StepStats>;
  dispose(): Promise<void>;
}

interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  details?: Record<string, unknown>;
}

/** Replaces comlink's 'throw' handler so named engine errors keep their class, details and stack. */
export function installErrorTransfer(): void {
  const base = transferHandlers.get('throw');
  if (!base || (base as { memory3?: boolean }).memory3) return;
  const handler = {
    memory3: true,
    canHandle: base.canHandle,
    serialize({ value }: { value: unknown }): [unknown, Transferable[]] {
      if (value instanceof Error) {
        const e: SerializedError = { name: value.name, message: value.message, stack: value.stack };
        const details = (value as { details?: Record<string, unknown> }).details;
        if (details) e.details = details;
        return [{ isError: true, value: e }, []];
      }
      return [{ isError: false, value }, []];
    },
    deserialize(s: { isError: boolean; value: unknown }): never {
      if (!s.isError) throw s.value;
      const e = s.value as SerializedError;
      const Cls = (errorClasses as Record<string, (typeof errorClasses)[ErrorName]>)[e.name];
      const err: Error = Cls ? new Cls(e.message, e.details) : Object.assign(new Error(e.message), { name: e.name });
      if (e.stack) err.stack = e.stack;
      throw err;
    },
  };
  transferHandlers.set('throw', handler as unknown as typeof base);
}
