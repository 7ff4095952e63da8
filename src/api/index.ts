export { createEngine, type CreateEngineOptions, type GenerationStream, type Memory3Engine, type MemoryApi } from './engine';
export type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, CompletionUsage } from './openai';
export type {
  ChatMessage,
  EngineState,
  FinishReason,
  GenerateRequest,
  GenerationDelta,
  GenerationResult,
  GenerationUsage,
  LoadOptions,
  LoadPhase,
  LoadProgress,
  MemoryPolicy,
  ModelInfo,
  RetrievalEvent,
  SamplingOptions,
} from '../engine/types';
export type { AddDocumentsProgress, AddDocumentsResult, CreateBankOptions, MemoryDocument } from '../memory/api-types';
export type { BankStats, BankSummary } from '../memory/store/banks';
export type { ModelSpec } from '../worker/protocol';
export type { StepStats, StepTotals } from '../gpu/step-totals';
export { ggufSplitFiles } from '../model/gguf';
export * from '../util/errors';
