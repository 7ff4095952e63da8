/** OpenAI-shaped chat completion types and the mapping from our generation result. */
import type { ChatMessage, FinishReason, GenerateRequest, GenerationUsage } from '../engine/types';
import type { MemoryRequest } from '../memory/api-types';
import type { RetrievalEvent } from '../memory/provider';

export interface ChatCompletionRequest {
  messages: ChatMessage[];
  stream?: boolean;
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  /** Extensions beyond OpenAI's fields (llama.cpp names). */
  top_k?: number;
  min_p?: number;
  repetition_penalty?: number;
  seed?: number;
  stop?: string | string[];
  signal?: AbortSignal;
  /** Extension: read explicit memory from a bank while answering (as `generate({ memory })`). */
  memory?: MemoryRequest;
}

export interface CompletionUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** Engine figures (as WebLLM's usage.extra). */
  extra: {
    cached_prompt_tokens: number;
    time_to_first_token_ms: number;
    prefill_tokens_per_s: number;
    decode_tokens_per_s: number;
  };
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: { index: 0; message: { role: 'assistant'; content: string }; finish_reason: FinishReason; logprobs: null }[];
  usage: CompletionUsage;
  /** Extension, with `memory`: the references each 64-token chunk retrieved (the memory inspector's data). */
  retrievals?: RetrievalEvent[];
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: { index: 0; delta: { role?: 'assistant'; content?: string }; finish_reason: FinishReason | null; logprobs: null }[];
  /** Present on the last chunk only. */
  usage?: CompletionUsage;
  /** Extension, with `memory`, on the last chunk only: what each chunk retrieved. */
  retrievals?: RetrievalEvent[];
}

export function toGenerateRequest(req: ChatCompletionRequest): GenerateRequest {
  return {
    messages: req.messages,
    maxTokens: req.max_tokens,
    temperature: req.temperature,
    topP: req.top_p,
    topK: req.top_k,
    minP: req.min_p,
    repetitionPenalty: req.repetition_penalty,
    seed: req.seed,
    stop: req.stop === undefined ? undefined : Array.isArray(req.stop) ? req.stop : [req.stop],
    ...(req.memory !== undefined ? { memory: req.memory } : {}),
  };
}

export function toUsage(u: GenerationUsage): CompletionUsage {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.totalTokens,
    extra: {
      cached_prompt_tokens: u.cachedPromptTokens,
      time_to_first_token_ms: u.timeToFirstTokenMs,
      prefill_tokens_per_s: u.prefillTokensPerSecond,
      decode_tokens_per_s: u.decodeTokensPerSecond,
    },
  };
}
