export { createEngine, type CreateEngineOptions, type GenerationStream, type Memory3Engine } from './engine';
export type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, CompletionUsage } from './openai';
export type {
  ChatMessage, EngineState, FinishReason, GenerateRequest, GenerationDelta, GenerationResult, GenerationUsage,
  LoadOptions, LoadPhase, LoadProgress, ModelInfo, SamplingOptions,
} from '../engine/types';
export type { ModelSpec } from '../worker/protocol';
export * from '../util/errors';
