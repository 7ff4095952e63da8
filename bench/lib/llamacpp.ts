/**
 * llama.cpp (node-llama-cpp, prebuilt CPU build, all cores) as the bench's performance peer: a
 * prompt, then greedy decoding past end-of-generation tokens, timed the way our engine's usage
 * figures are: time to first token = prompt evaluation + first sample; decode = (n - 1) steps over
 * the time from the first token to the last.
 */
import { cpus } from 'node:os';
import { getLlama, LlamaLogLevel, TokenBias, type LlamaContextSequence, type Token } from 'node-llama-cpp';
import { medianGap } from './stats';

export interface LlamaCppRunFigures {
  promptTokens: number;
  completionTokens: number;
  timeToFirstTokenMs: number;
  prefillTokensPerSecond: number; // prompt tokens / time to first token
  decodeTokensPerSecond: number; // (completion - 1) / (last token - first token)
  medianDecodeStepMs: number; // median gap between consecutive tokens (robust to CPU contention)
  tokens: number[];
}

export interface LlamaCppBenchOptions {
  gguf: string; // absolute path
  promptTokens: number[];
  maxTokens: number;
  contextLength: number;
  warmupTokens: number; // generated tokens of the warm-up run (same prompt)
  threads?: number; // default: every core
  /** Greedy over ids [0, usable) of the model's `vocab` only (ours never samples past the tokenizer's ids). */
  restrictVocab?: { usable: number; vocab: number };
  log?: (line: string) => void;
}

export interface LlamaCppBenchResult {
  threads: number;
  loadMs: number;
  settings: Record<string, unknown>;
  warmup: LlamaCppRunFigures;
  measured: LlamaCppRunFigures;
}

async function timedRun(
  seq: LlamaContextSequence,
  prompt: number[],
  maxTokens: number,
  tokenBias?: TokenBias,
): Promise<LlamaCppRunFigures> {
  await seq.clearHistory();
  const t0 = performance.now();
  const tokens: number[] = [],
    at: number[] = [];
  const gen = seq.evaluate(prompt as Token[], { temperature: 0, yieldEogToken: true, tokenBias });
  for (;;) {
    const next = await gen.next();
    if (next.done) break;
    at.push(performance.now());
    tokens.push(next.value);
    if (tokens.length >= maxTokens) break;
  }
  await gen.return();
  const tFirst = at[0] ?? t0,
    tEnd = at[at.length - 1] ?? t0;
  const ttft = tFirst - t0;
  return {
    promptTokens: prompt.length,
    completionTokens: tokens.length,
    timeToFirstTokenMs: ttft,
    prefillTokensPerSecond: prompt.length / (ttft / 1000),
    decodeTokensPerSecond: tokens.length > 1 ? (tokens.length - 1) / ((tEnd - tFirst) / 1000) : 0,
    medianDecodeStepMs: medianGap(at),
    tokens,
  };
}

/** Loads the GGUF, runs one warm-up and one measured generation, disposes everything. */
export async function runLlamaCppBench(o: LlamaCppBenchOptions): Promise<LlamaCppBenchResult> {
  const threads = o.threads ?? cpus().length;
  const log = o.log ?? (() => {});
  const t0 = performance.now();
  const llama = await getLlama({ gpu: false, build: 'never', maxThreads: threads, logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: o.gguf, gpuLayers: 0 });
  const batchSize = Math.max(o.promptTokens.length, 32);
  const context = await model.createContext({ contextSize: o.contextLength, batchSize, sequences: 1, threads });
  const loadMs = performance.now() - t0;
  log(`llama.cpp: loaded in ${(loadMs / 1000).toFixed(1)} s (${threads} threads, CPU)`);
  try {
    const seq = context.getSequence();
    const r = o.restrictVocab;
    const bias = r
      ? TokenBias.for(model).set(
          Array.from({ length: r.vocab - r.usable }, (_, i) => (r.usable + i) as Token),
          'never',
        )
      : undefined;
    log(`llama.cpp: warm-up (${o.promptTokens.length} prompt + ${o.warmupTokens} generated tokens)`);
    const warmup = await timedRun(seq, o.promptTokens, o.warmupTokens, bias);
    log(`llama.cpp: measured run (${o.promptTokens.length} prompt + ${o.maxTokens} generated tokens)`);
    const measured = await timedRun(seq, o.promptTokens, o.maxTokens, bias);
    const settings = {
      build: 'node-llama-cpp prebuilt CPU',
      gpu: false,
      contextSize: o.contextLength,
      batchSize,
      kvCacheType: 'default (F16)',
      flashAttention: 'default',
      mmap: 'default',
      sampling: r ? `greedy (temperature 0) over ids [0, ${r.usable}) (token bias 'never' on the rest)` : 'greedy (temperature 0)',
      weights: 'GGUF F32 (same values as model.safetensors)',
    };
    return { threads, loadMs, settings, warmup, measured };
  } finally {
    await context.dispose();
    await model.dispose();
    await llama.dispose();
  }
}
