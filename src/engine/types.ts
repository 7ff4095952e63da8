/** Options, progress and results shared by the engine, the worker protocol and the public API. */
import type { SamplingOptions } from '../sampling/options';
import type { ChatMessage } from '../tokenizer/chat-template';
import type { RetrievalEvent } from '../memory/provider';
import type { MemoryRequest } from '../memory/api-types';
import type { MemoryPolicy } from '../memory/types';

export type { ChatMessage, MemoryPolicy, RetrievalEvent, SamplingOptions };

export interface LoadOptions {
  /** Positions the KV cache holds (prompt + output). Default 2048; at most max_position_embeddings and a sliding window. */
  contextLength?: number;
  /**
   * What float (F32/F16/BF16) weight matrices become on the GPU: 'f32', packed 'f16', or quantized
   * while streaming to 'q8_0' / 'q4_0' (rows that are not whole 32-value blocks stay f16). 'auto'
   * (default): the widest of f32 (all-F32 checkpoints only), f16, q8_0, q4_0 whose matrices fit a
   * quarter of `navigator.deviceMemory` (2 GiB where unknown). Quantized GGUF tensors keep their type.
   */
  weightDtype?: 'auto' | 'f32' | 'f16' | 'q8_0' | 'q4_0';
  /**
   * 'llama.cpp': round every matmul's input as llama.cpp's CPU backend does (8-bit Q8_0/Q8_K blocks for
   * quantized weights, f16/bf16 for f16/bf16 weights) so logits match llama.cpp's on the same weights to
   * accumulation order — a verification mode (the oracle uses it), one extra dispatch per matmul.
   * Default 'none': f32 inputs, closer to the exact product.
   */
  activationRounding?: 'none' | 'llama.cpp';
  /** Largest number of prompt tokens run through the model in one step (default 128). */
  prefillChunk?: number;
  /**
   * Cap on the bytes of any one weight buffer (default: the device's maxStorageBufferBindingSize).
   * Larger tensors are split in row parts; set it to emulate a device with small bindings.
   */
  maxBindingBytes?: number;
  /**
   * Store each layer's q/k/v and gate/up matrices as one (model/fusion.ts) so decode projects them
   * in one dispatch each (default true); false keeps them apart (tests of the unfused path).
   */
  fuseProjections?: boolean;
  /**
   * The context KV cache's element type: 'f32' (default) or 'f16', half the memory (a 4096-token
   * Llama-3.2-1B context: 128 MiB instead of 256), keys and values rounded to f16. Packed two per
   * u32, so it needs no shader-f16. Explicit memory's slots stay f32.
   */
  kvCacheDtype?: 'f32' | 'f16';
}

export type LoadPhase = 'config' | 'weights' | 'compile' | 'ready';

export interface LoadProgress {
  phase: LoadPhase;
  /** Bytes (weights) or pipelines (compile) done so far, and the total. */
  loaded: number;
  total: number;
  /** The file being read, while phase is 'weights'. */
  file?: string;
  message: string;
}

export interface ModelInfo {
  family: string;
  architecture: string;
  numLayers: number;
  hiddenSize: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  vocabSize: number;
  contextLength: number;
  /** The weight format holding the most bytes ('f32', 'f16', 'q8_0', 'q4_0', 'q4_k', 'q6_k'). */
  weightDtype: 'f32' | 'f16' | 'q8_0' | 'q4_0' | 'q4_k' | 'q6_k';
  /** GPU bytes of weights per format (norms and biases are f32). */
  weightFormats: Partial<Record<'f32' | 'f16' | 'q8_0' | 'q4_0' | 'q4_k' | 'q6_k', number>>;
  /** The weight file format the model was loaded from. */
  format: 'safetensors' | 'gguf';
  /** Bytes held on the GPU: weights, KV cache, activations. */
  gpuBytes: { weights: number; kvCache: number; activations: number };
  /** GPU buffers holding the weights (tensors above the binding limit are split across several). */
  weightBuffers: number;
  adapter: { vendor: string; architecture: string; description: string; shaderF16: boolean };
  hasChatTemplate: boolean;
}

export interface GenerateRequest extends SamplingOptions {
  /** Plain text prompt (BOS added per the tokenizer); or `messages` through the chat template; or raw `tokens`. */
  prompt?: string;
  messages?: ChatMessage[];
  tokens?: number[];
  /** Most tokens to generate (default 256). Generation also stops at the end of the context. */
  maxTokens?: number;
  /** Stop strings: generation ends before the first occurrence, which is not returned. */
  stop?: string[];
  /** Keep generating past end-of-sequence tokens. */
  ignoreEos?: boolean;
  /** Explicit memory: read the bank's memories while generating. Only inference knobs of the policy may be overridden. */
  memory?: MemoryRequest;
}

export type FinishReason = 'stop' | 'length' | 'abort';

export interface GenerationUsage {
  promptTokens: number;
  /** Prompt tokens whose KV came from the cache of an earlier call (not prefilled again). */
  cachedPromptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** Milliseconds from the call to the first generated token. */
  timeToFirstTokenMs: number;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
}

export interface GenerationDelta {
  text: string;
  tokens: number[];
}

export interface GenerationResult {
  text: string;
  tokens: number[];
  finishReason: FinishReason;
  usage: GenerationUsage;
  /** With explicit memory: what each chunk retrieved (the memory inspector's data). */
  retrievals?: RetrievalEvent[];
}

export type EngineState = 'loading' | 'ready' | 'busy' | 'lost' | 'disposed';
