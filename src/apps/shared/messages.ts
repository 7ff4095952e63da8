/** Human messages for the engine's named errors: what happened and what the person can do. */
const advice: Record<string, string> = {
  WebGPUUnavailableError:
    'This browser has no WebGPU. Use a recent Chrome or Edge (113+), Safari 26+, or Firefox 141+ on Windows. On Linux, start Chrome with --enable-unsafe-webgpu (and check chrome://gpu).',
  AdapterLimitError:
    'Your GPU allows smaller buffers than this model needs (see the details below). Try a smaller model, or another browser or GPU.',
  DeviceLostError:
    'The GPU stopped responding (a driver reset, or it ran out of memory). Reload the engine to continue; your banks and conversations are kept.',
  ContextOverflowError: "The conversation is longer than the model's context. Shorten the message or start a new conversation.",
  UnsupportedModelError:
    'This model type is not supported yet: memory3-web runs Llama, Qwen2, Qwen3, Mistral, SmolLM3, Gemma 2, Gemma 3 and Phi-3 checkpoints.',
  ModelConfigError: "The model's config.json or index file is malformed.",
  MissingTensorError: 'The model files are incomplete: a weight tensor is missing.',
  TruncatedFileError:
    'A model file is cut short (an interrupted download?). Load it again: finished parts are kept and the download resumes.',
  ModelFetchError:
    'A model file could not be fetched. Check the address (a Hugging Face folder ends in /resolve/main/) and your connection.',
  UnsupportedDtypeError: 'The weights use a number format this engine does not read (F32, F16 and BF16 are supported).',
  StorageQuotaError: "The browser's storage for this site is full. Delete a knowledge bank or a cached model, or allow persistent storage.",
  QuotaExceededError:
    "The browser's storage for this site is full. Delete a knowledge bank or a cached model, or allow persistent storage.",
  BankMismatchError:
    'This knowledge bank was encoded by another model (or another memory policy). Load that model, or re-encode the documents into a new bank for this one.',
  BankFormatError: 'This file is not a readable knowledge bank (damaged, or from an incompatible version).',
  BankExistsError: 'A bank with this name already exists. Pick another name, or choose to replace it.',
  BankNotFoundError: 'That knowledge bank does not exist (deleted in another tab?).',
  EncodingAbortedError: 'Encoding was cancelled. What was already encoded is kept: adding the same documents again resumes.',
  GenerationAbortedError: 'Stopped.',
};

export function describeError(err: unknown): string {
  const e = err as Error;
  const tip = advice[e?.name ?? ''];
  return tip ? `${tip}\n\nDetails: ${e.message}` : `Something went wrong: ${e?.message ?? String(err)}`;
}

export function isDeviceLost(err: unknown): boolean {
  return (err as Error)?.name === 'DeviceLostError';
}
