/**
 * Plain float64 forward pass of an HF Llama-family model (llama, llama3 RoPE scaling, qwen2 biases,
 * mistral head_dim), read from config.json + safetensors or GGUF. Readable over fast: a second
 * oracle. This file loads the weights; the layer loop (transformer.ts) is the per-op references
 * composed, with explicit memory and the writer's captures as options of the same loop.
 */
import { readGgufModel } from './gguf-files';
import { readConfig, readModelTensors } from './modelFiles';
import { referenceModelOf, type ReferenceModel } from './transformer';

export * from './transformer';

export function loadReferenceModel(dir: string): ReferenceModel {
  return referenceModelOf(readConfig(dir), readModelTensors(dir), dir, false);
}

/** The reference model of a GGUF file (its exact, dequantized weights). */
export async function loadReferenceGguf(path: string): Promise<ReferenceModel> {
  const { config, tensors, ropeFactors } = await readGgufModel(path);
  const m = referenceModelOf(config, tensors, path, true);
  if (ropeFactors) m.invFreq = m.invFreq.map((f, i) => f / ropeFactors[i]); // llama.cpp divides each frequency
  return m;
}
