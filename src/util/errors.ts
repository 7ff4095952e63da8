/**
 * Named error classes. Every failure the engine reports is one of these, so callers can branch on
 * `instanceof` (or on `name`, which survives the worker boundary; see src/worker/protocol.ts).
 * Messages say what was being done, on what, what was expected and what was found.
 */

/** Base class of every engine error. `code` is stable and machine-readable. */
export class Memory3Error extends Error {
  readonly code: string = 'MEMORY3_ERROR';
  /** Extra structured facts (tensor name, expected/actual shape, …); plain JSON only. */
  details?: Record<string, unknown>;
  constructor(message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    if (details) this.details = details;
  }
}

/** config.json names an architecture or feature the engine does not run. */
export class UnsupportedModelError extends Memory3Error {
  override readonly code = 'UNSUPPORTED_MODEL';
}
/** config.json, tokenizer.json or another descriptor is malformed or inconsistent. */
export class ModelConfigError extends Memory3Error {
  override readonly code = 'MODEL_CONFIG';
}
/** A tensor the architecture needs is absent from the weight files. */
export class MissingTensorError extends Memory3Error {
  override readonly code = 'MISSING_TENSOR';
}
/** A tensor's shape differs from what config.json implies. */
export class ShapeMismatchError extends Memory3Error {
  override readonly code = 'SHAPE_MISMATCH';
}
/** A tensor uses a dtype the loader does not handle (safetensors: F32, F16, BF16; GGUF: also Q8_0, Q4_0, Q4_K, Q6_K). */
export class UnsupportedDtypeError extends Memory3Error {
  override readonly code = 'UNSUPPORTED_DTYPE';
}
/** A weight file is not in its format: wrong magic, unsupported version, malformed header (GGUF). */
export class ModelFormatError extends Memory3Error {
  override readonly code = 'MODEL_FORMAT';
}
/** A weight file ends before the bytes its header promises, or its header is unreadable. */
export class TruncatedFileError extends Memory3Error {
  override readonly code = 'TRUNCATED_FILE';
}
/** A file could not be fetched or read (HTTP status, missing file in a picked folder, …). */
export class ModelFetchError extends Memory3Error {
  override readonly code = 'MODEL_FETCH';
}
/** The tokenizer or chat template could not be loaded or applied. */
export class TokenizerError extends Memory3Error {
  override readonly code = 'TOKENIZER';
}
/** The prompt plus requested output would exceed the KV cache allocated for the context. */
export class ContextOverflowError extends Memory3Error {
  override readonly code = 'CONTEXT_OVERFLOW';
}
/** Generation was cancelled through an AbortSignal. The engine stays usable. */
export class GenerationAbortedError extends Memory3Error {
  override readonly code: string = 'ABORTED';
}
/** Encoding documents into a memory bank was cancelled; what was stored stays, and re-adding resumes. */
export class EncodingAbortedError extends GenerationAbortedError {
  override readonly code = 'ENCODING_ABORTED';
}
/** Options passed to the API are out of range or contradictory. */
export class InvalidOptionsError extends Memory3Error {
  override readonly code = 'INVALID_OPTIONS';
}
/** The browser exposes no WebGPU, or no adapter could be obtained. */
export class WebGPUUnavailableError extends Memory3Error {
  override readonly code = 'WEBGPU_UNAVAILABLE';
}
/** The adapter's limits are too small for this model (buffer binding size, workgroup storage, …). */
export class AdapterLimitError extends Memory3Error {
  override readonly code = 'ADAPTER_LIMIT';
}
/** The GPU device was lost; the engine must be reloaded. */
export class DeviceLostError extends Memory3Error {
  override readonly code = 'DEVICE_LOST';
}
/** A GPU validation or out-of-memory error surfaced from an error scope or uncapturederror. */
export class GPUExecutionError extends Memory3Error {
  override readonly code = 'GPU_ERROR';
}
/** The engine's Web Worker could not be started (its script failed to load or threw at start). */
export class WorkerStartError extends Memory3Error {
  override readonly code = 'WORKER_START';
}
/** The engine was used after dispose() or before a model was loaded. */
export class EngineStateError extends Memory3Error {
  override readonly code = 'ENGINE_STATE';
}
/** A memory codec got bad input: unknown codec, wrong payload length, NaN, missing or mismatched PQ codebook. */
export class MemoryCodecError extends Memory3Error {
  override readonly code = 'MEMORY_CODEC';
}

/** A bank of that name already exists (pass `overwrite` to replace it). */
export class BankExistsError extends Memory3Error {
  override readonly code = 'BANK_EXISTS';
}
/** No memory bank of that name is stored, or it was deleted while open. */
export class BankNotFoundError extends Memory3Error {
  override readonly code = 'BANK_NOT_FOUND';
}
/** A bank was written by another model or memory policy than the one opening it. */
export class BankMismatchError extends Memory3Error {
  override readonly code = 'BANK_MISMATCH';
}
/** A bank file or stored bank is malformed: bad magic/version, checksum mismatch, inconsistent counts. */
export class BankFormatError extends Memory3Error {
  override readonly code = 'BANK_FORMAT';
}
/** The browser refused to store more data (IndexedDB QuotaExceededError); the write was rolled back. */
export class StorageQuotaError extends Memory3Error {
  override readonly code = 'STORAGE_QUOTA';
}
/** A bank's connection was closed (deleted or upgraded by another tab, or close() was called). */
export class BankClosedError extends Memory3Error {
  override readonly code = 'BANK_CLOSED';
}
/** A retriever or vector index got bad input or state: dimension mismatch, bad index bytes, unusable embedding model. */
export class RetrievalError extends Memory3Error {
  override readonly code = 'RETRIEVAL';
}

/** Every class above by name: the worker protocol rebuilds thrown errors from this table. */
export const errorClasses = {
  Memory3Error,
  UnsupportedModelError,
  ModelConfigError,
  MissingTensorError,
  ShapeMismatchError,
  UnsupportedDtypeError,
  ModelFormatError,
  TruncatedFileError,
  ModelFetchError,
  TokenizerError,
  ContextOverflowError,
  GenerationAbortedError,
  EncodingAbortedError,
  InvalidOptionsError,
  WebGPUUnavailableError,
  AdapterLimitError,
  DeviceLostError,
  GPUExecutionError,
  EngineStateError,
  WorkerStartError,
  MemoryCodecError,
  BankExistsError,
  BankNotFoundError,
  BankMismatchError,
  BankFormatError,
  StorageQuotaError,
  BankClosedError,
  RetrievalError,
} as const;

export type ErrorName = keyof typeof errorClasses;
