/**
 * wllama (llama.cpp compiled to WebAssembly, CPU backend) on the bench page, as a browser peer of
 * the speed bench: the bench model's F32 GGUF (the file llama.cpp native reads), the same prompt
 * ids, greedy past end-of-sequence, a warm-up then the measured generation.
 *
 * wllama 3 exposes llama-server's completion API, not single steps, and (3.8.1) fails on a prompt
 * given as token ids: the prompt goes in as the text of our ids (the page detokenizes them with our
 * tokenizer), `n_probs: 1` makes every streamed chunk carry its token's id, and each chunk is timed
 * as it arrives (one per generated token). Prompt caching is off, so the measured run prefills the
 * whole prompt again.
 */
import { LogLevel, Wllama } from '@wllama/wllama/esm/index.js';
import wllamaPackage from '@wllama/wllama/package.json';
import wasmUrl from '@wllama/wllama/esm/wasm/wllama.wasm?url';
import type { BenchLog } from '../lib/log';
import { medianGap } from '../lib/stats';
import type { PeerRunFigures, PeerSpeedOptions, PeerSpeedResult } from './types';

interface StreamedChunk {
  choices?: { logprobs?: { content?: { id: number }[] } | null }[];
  timings?: { cache_n: number; prompt_n: number; prompt_ms: number; predicted_n: number; predicted_ms: number };
}

async function timedRun(
  w: Wllama,
  o: PeerSpeedOptions,
  maxTokens: number,
): Promise<PeerRunFigures & { timings?: StreamedChunk['timings'] }> {
  const at: number[] = [],
    tokens: number[] = [];
  let timings: StreamedChunk['timings'];
  const request = {
    prompt: o.promptText,
    max_tokens: maxTokens,
    temperature: 0,
    ignore_eos: true,
    n_probs: 1,
    cache_prompt: false,
    stream: true,
    onData: (chunk: StreamedChunk) => {
      const now = performance.now();
      for (const p of chunk.choices?.[0]?.logprobs?.content ?? []) {
        at.push(now);
        tokens.push(p.id);
      }
      if (chunk.timings) timings = chunk.timings;
    },
  };
  const t0 = performance.now();
  await w.createCompletion(request as unknown as Parameters<Wllama['createCompletion']>[0] & { stream: true; onData: () => void });
  const first = at[0] ?? t0,
    last = at[at.length - 1] ?? t0;
  const ttft = first - t0;
  // The prompt llama.cpp tokenized from the text: its own count, as its timings report it.
  const promptTokens = timings ? timings.prompt_n + timings.cache_n : o.promptTokens.length;
  return {
    promptTokens,
    completionTokens: tokens.length,
    timeToFirstTokenMs: ttft,
    prefillTokensPerSecond: promptTokens / (ttft / 1000),
    decodeTokensPerSecond: tokens.length > 1 ? (tokens.length - 1) / ((last - first) / 1000) : 0,
    medianDecodeStepMs: medianGap(at),
    tokens,
    timings,
  };
}

/** Loads the GGUF into wllama (CPU, every thread the page can have), runs warm-up and measured generations. */
export async function runWllamaSpeed(o: PeerSpeedOptions, log: BenchLog): Promise<PeerSpeedResult> {
  if (o.promptText === undefined) throw new Error('wllama-speed: needs promptText (its completion API takes text only)');
  const isolated = globalThis.crossOriginIsolated === true;
  const threads = isolated ? (o.threads ?? navigator.hardwareConcurrency) : 1;
  const logger = { debug: () => {}, log: () => {}, warn: (...a: unknown[]) => log(`wllama: ${a.join(' ')}`), error: console.error };
  const w = new Wllama({ default: wasmUrl }, { logger, suppressNativeLog: true });
  const t0 = performance.now();
  log(`wllama: fetching ${o.modelUrl}`);
  const blob = await (await fetch(o.modelUrl)).blob();
  await w.loadModel([blob], {
    n_ctx: o.contextLength,
    n_batch: Math.max(o.promptTokens.length, 32),
    n_threads: threads,
    n_gpu_layers: 0,
    n_parallel: 1,
    log_level: LogLevel.ERROR,
  });
  const loadMs = performance.now() - t0;
  try {
    const used = w.isMultithread() ? w.getNumThreads() : 1;
    log(`wllama: loaded in ${(loadMs / 1000).toFixed(1)} s (wasm, ${used} thread${used > 1 ? 's' : ''})`);
    log(`wllama: warm-up (${o.promptTokens.length} prompt + ${o.warmupTokens} generated tokens)`);
    const warmup = await timedRun(w, o, o.warmupTokens);
    log(`wllama: measured run (${o.promptTokens.length} prompt + ${o.maxTokens} generated tokens)`);
    const { timings, ...measured } = await timedRun(w, o, o.maxTokens);
    const { timings: _, ...warm } = warmup;
    const notes = [
      `llama.cpp ${Wllama.getLibllamaVersion()} in wasm (CPU, ggml's WebGPU backend off: n_gpu_layers 0)`,
      isolated ? 'page cross-origin isolated: pthreads available' : 'page not cross-origin isolated: single thread',
      'llama-server completion API: greedy (temperature 0), ignore_eos (end-of-generation ids banned), one streamed chunk per token (its id from n_probs 1)',
      "prompt: ours' ids detokenized, re-tokenized by llama.cpp (this API fails on a prompt of ids), so its prompt ids and hence its greedy ids need not be ours",
      `ids past the tokenizer's ${o.usableVocab ?? '?'} not banned: [id, false] logit_bias pairs fail the request and {token, bias} pairs are ignored in this version`,
      `F32 GGUF, KV cache default (F16), n_ctx ${o.contextLength}, prompt cache off`,
    ];
    if (timings)
      notes.push(
        `llama.cpp's own timings (measured run): prompt ${timings.prompt_n} tokens in ${timings.prompt_ms.toFixed(0)} ms (cached ${timings.cache_n}), ` +
          `${timings.predicted_n} predicted in ${timings.predicted_ms.toFixed(0)} ms`,
      );
    return {
      name: 'wllama',
      version: wllamaPackage.version,
      backend: `wasm (${used} thread${used > 1 ? 's' : ''})`,
      loadMs,
      warmup: warm,
      measured,
      notes,
    };
  } finally {
    await w.exit();
  }
}
