/**
 * Node-only llama.cpp oracle (node-llama-cpp, CPU build): evaluates a prompt, then decodes greedily,
 * and reports each step's greedy token and top-K probabilities of the full softmax (temperature 1)
 * computed in float64 from llama.cpp's raw logits. F32 KV cache, flash attention off, one thread.
 */
import { resolve } from 'node:path';
import { getLlama, LlamaLogLevel, type ControlledEvaluateInputItem, type Llama, type LlamaModel, type Token } from 'node-llama-cpp';

export interface TokenProb {
  token: number;
  p: number;
}

export interface LlamaCppStep {
  token: number; // greedy (argmax) next token at this step
  top: TokenProb[]; // top-K of softmax(logits), highest first
  probSum: number; // sum of llama.cpp's own next-token probabilities over the whole vocabulary
  maxProbDelta: number; // max |llama.cpp probability - float64 softmax of its logits| over the vocabulary
}

export interface LlamaCppForcedOptions {
  gguf: string; // path to a .gguf; relative paths resolve against process.cwd() (the repo root)
  promptTokens: number[];
  steps: number; // number of next-token distributions to report (the first right after the prompt)
  topK: number;
  forceTokens?: number[]; // feed these instead of the greedy tokens (teacher forcing); length >= steps - 1
}

export interface LlamaCppForcedResult {
  steps: LlamaCppStep[]; // `steps` entries
  fed: number[]; // every token evaluated: the prompt, then the greedy (or forced) tokens of steps 0..steps-2
  vocabSize: number;
}

let llamaPromise: Promise<Llama> | null = null;
const models = new Map<string, Promise<LlamaModel>>();

function loadLlama(): Promise<Llama> {
  llamaPromise ??= getLlama({ gpu: false, build: 'never', maxThreads: 1, logLevel: LlamaLogLevel.error });
  return llamaPromise;
}

async function loadModel(path: string): Promise<LlamaModel> {
  const llama = await loadLlama();
  let model = models.get(path);
  if (!model) {
    model = llama.loadModel({ modelPath: path, gpuLayers: 0, useMmap: false, defaultContextFlashAttention: false });
    models.set(path, model);
    model.catch(() => models.delete(path));
  }
  return model;
}

/** float64 softmax over raw logits: argmax and top-K entries. */
export function summarizeLogits(logits: Float64Array, topK: number): { token: number; top: TokenProb[] } {
  let max = -Infinity;
  let argmax = 0;
  logits.forEach((v, i) => {
    if (v > max) {
      max = v;
      argmax = i;
    }
  });
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  const order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a] || a - b);
  const top = order.slice(0, topK).map((token) => ({ token, p: Math.exp(logits[token] - max) / sum }));
  return { token: argmax, top };
}

function vocabArray(map: Map<number, number> | undefined, vocabSize: number, what: string): Float64Array {
  if (!map || map.size !== vocabSize) {
    throw new Error(`llamaCppForced: expected ${vocabSize} ${what}, got ${map?.size ?? 'none'}`);
  }
  const out = new Float64Array(vocabSize);
  for (const [token, logit] of map) out[token] = logit;
  return out;
}

/** Compares llama.cpp's own probabilities with a float64 softmax of its logits. */
function checkProbabilities(logits: Float64Array, probs: Float64Array): { probSum: number; maxProbDelta: number } {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  let z = 0;
  for (const v of logits) z += Math.exp(v - max);
  let probSum = 0;
  let maxProbDelta = 0;
  probs.forEach((p, i) => {
    probSum += p;
    maxProbDelta = Math.max(maxProbDelta, Math.abs(p - Math.exp(logits[i] - max) / z));
  });
  return { probSum, maxProbDelta };
}

/** Prompt, then `steps` next-token distributions with greedy (or forced) continuation, in llama.cpp. */
export async function llamaCppForced(options: LlamaCppForcedOptions): Promise<LlamaCppForcedResult> {
  const { promptTokens, steps, topK, forceTokens } = options;
  if (promptTokens.length === 0 || steps < 1) throw new Error('llamaCppForced: need a prompt and steps >= 1');
  if (forceTokens && forceTokens.length < steps - 1) throw new Error(`llamaCppForced: forceTokens needs ${steps - 1} tokens`);
  const model = await loadModel(resolve(process.cwd(), options.gguf));
  const nVocab = Number(model.fileInfo.metadata.tokenizer?.ggml?.tokens?.length ?? 0);
  const context = await model.createContext({
    contextSize: Math.max(64, promptTokens.length + steps + 8),
    batchSize: Math.max(32, promptTokens.length),
    sequences: 1,
    threads: 1,
    flashAttention: false,
    experimentalKvCacheKeyType: 'F32',
    experimentalKvCacheValueType: 'F32',
  });
  try {
    const sequence = context.getSequence();
    const fed = [...promptTokens];
    const result: LlamaCppStep[] = [];
    const last = (token: number): ControlledEvaluateInputItem => [token as Token, { generateNext: { logits: true, probabilities: true } }];
    let input: ControlledEvaluateInputItem[] = [...(promptTokens.slice(0, -1) as Token[]), last(promptTokens[promptTokens.length - 1])];
    for (let step = 0; step < steps; step++) {
      const outputs = await sequence.controlledEvaluate(input);
      const next = outputs[outputs.length - 1]?.next;
      const logits = vocabArray(next?.logits, nVocab, 'logits');
      const probs = vocabArray(next?.probabilities, nVocab, 'probabilities');
      const summary = { ...summarizeLogits(logits, topK), ...checkProbabilities(logits, probs) };
      result.push(summary);
      if (step === steps - 1) break;
      const token = forceTokens ? forceTokens[step] : summary.token;
      fed.push(token);
      input = [last(token)];
    }
    return { steps: result, fed, vocabSize: nVocab };
  } finally {
    await context.dispose();
  }
}
