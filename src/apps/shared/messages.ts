/** Human messages for the engine's named errors: what happened and what the person can do. */
const advice: Record<string, string> = {
  WebGPUUnavailableError: 'This browser has no WebGPU. Use a recent Chrome or Edge (113+), Safari 26+, or Firefox 141+ on Windows. On Linux, start Chrome with --enable-unsafe-webgpu.',
  AdapterLimitError: 'Your GPU allows smaller buffers than this model needs. Try a smaller model or another browser/GPU.',
  DeviceLostError: 'The GPU stopped responding (driver reset or out of memory). Load the model again to continue.',
  ContextOverflowError: 'The conversation is longer than the model\'s context. Shorten the message or start a new conversation.',
  UnsupportedModelError: 'This model type is not supported yet: memory3-web runs Llama, Qwen2 and Mistral checkpoints.',
  MissingTensorError: 'The model files are incomplete: a weight tensor is missing.',
  TruncatedFileError: 'A model file is cut short (an interrupted download?). Fetch it again.',
  ModelFetchError: 'A model file could not be fetched. Check the address and your connection.',
  UnsupportedDtypeError: 'The weights use a number format this engine does not read (F32, F16 and BF16 are supported).',
  QuotaExceededError: 'The browser\'s storage for this site is full. Free some space or delete a knowledge bank.',
};

export function describeError(err: unknown): string {
  const e = err as Error;
  const tip = advice[e?.name ?? ''];
  return tip ? `${tip}\n\nDetails: ${e.message}` : `Something went wrong: ${e?.message ?? String(err)}`;
}
