/**
 * Page side of the onnxruntime-web peer (bench page scenario 'ort-speed'): our ONNX export of the
 * bench model (bench/peers/ort-model.ts) in onnxruntime-web's WebGPU EP, driven as Transformers.js
 * drives a decoder (bench/peers/ort-decoder.ts: KV cache on the GPU between steps, logits
 * downloaded, greedy argmax on the CPU). One warm-up generation, a reset, then the measured one.
 */
import type { BenchLog } from '../lib/log';
import { medianGap } from '../lib/stats';
import { argmaxRow, createOrtDecoder, type OrtDecoder } from './ort-decoder';
import type { PeerRunFigures, PeerSpeedOptions, PeerSpeedResult } from './types';

function checkOptions(o: PeerSpeedOptions): void {
  const bad = (what: string) => {
    throw new Error(`ort-speed: ${what}`);
  };
  if (o.promptTokens.length === 0) bad('promptTokens is empty');
  if (!Number.isInteger(o.maxTokens) || o.maxTokens < 1) bad(`maxTokens must be a positive integer, got ${o.maxTokens}`);
  if (!Number.isInteger(o.warmupTokens) || o.warmupTokens < 1) bad(`warmupTokens must be a positive integer, got ${o.warmupTokens}`);
  const longest = o.promptTokens.length + Math.max(o.maxTokens, o.warmupTokens);
  if (longest > o.contextLength) bad(`prompt + generated tokens (${longest}) exceed contextLength ${o.contextLength}`);
}

/** Prefill, then greedy steps until `maxTokens` ids, timed on the page clock. */
/** Greedy over ids below `usable`, as ours samples only the tokenizer's ids (the bench model's vocab is padded past them). */
async function timedGeneration(d: OrtDecoder, prompt: number[], maxTokens: number, usable: number, log: BenchLog): Promise<PeerRunFigures> {
  d.reset();
  const t0 = performance.now();
  const logits = await d.step(prompt);
  const tokens = [argmaxRow(logits, d.vocab, prompt.length - 1, usable)];
  const at = [performance.now()];
  log(`onnxruntime-web: prefill of ${prompt.length} tokens took ${((at[0] - t0) / 1000).toFixed(1)} s`);
  while (tokens.length < maxTokens) {
    const next = await d.step([tokens[tokens.length - 1]]);
    tokens.push(argmaxRow(next, d.vocab, 0, usable));
    at.push(performance.now());
    if (tokens.length % 4 === 0)
      log(`onnxruntime-web: ${tokens.length}/${maxTokens} tokens, ${((at[at.length - 1] - t0) / 1000).toFixed(1)} s`);
  }
  const ttft = at[0] - t0,
    last = at[at.length - 1];
  return {
    promptTokens: prompt.length,
    completionTokens: tokens.length,
    timeToFirstTokenMs: ttft,
    prefillTokensPerSecond: prompt.length / Math.max(1e-3, ttft / 1000),
    decodeTokensPerSecond: tokens.length > 1 ? (tokens.length - 1) / ((last - at[0]) / 1000) : 0,
    medianDecodeStepMs: medianGap(at),
    tokens,
  };
}

async function adapterName(): Promise<string> {
  const info = (await navigator.gpu?.requestAdapter())?.info;
  return info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') : 'unknown adapter';
}

export async function runOrtSpeed(o: PeerSpeedOptions, log: BenchLog): Promise<PeerSpeedResult> {
  checkOptions(o);
  const t0 = performance.now();
  const decoder = await createOrtDecoder(o.modelUrl);
  const loadMs = performance.now() - t0;
  try {
    log(`onnxruntime-web: loaded ${o.modelUrl} in ${(loadMs / 1000).toFixed(1)} s (WebGPU EP)`);
    log(`onnxruntime-web: warm-up (${o.promptTokens.length} prompt + ${o.warmupTokens} generated tokens)`);
    const usable = o.usableVocab ?? decoder.vocab;
    const warmup = await timedGeneration(decoder, o.promptTokens, o.warmupTokens, usable, log);
    log(`onnxruntime-web: measured run (${o.promptTokens.length} prompt + ${o.maxTokens} generated tokens)`);
    const measured = await timedGeneration(decoder, o.promptTokens, o.maxTokens, usable, log);
    return {
      name: 'onnxruntime-web',
      version: decoder.ort.env.versions.web ?? 'unknown',
      backend: `webgpu (${await adapterName()})`,
      loadMs,
      warmup,
      measured,
      notes: [
        'model: our ONNX export (tools/onnx/export-llama.ts) of the same F32 weights: MatMul F32, com.microsoft GroupQueryAttention (do_rotary, cos/sin caches), SimplifiedLayerNormalization / SkipSimplifiedLayerNormalization',
        "driven as Transformers.js does: one session.run per step, present.* kept on the GPU (preferredOutputLocation 'gpu-buffer') and fed back as past_key_values.*; a new, larger KV tensor per step",
        'logits of every prompt position are computed at prefill (the graph has no last-token slice); they are downloaded and the argmax taken on the CPU',
        'onnxruntime-web/webgpu build (C++ WebGPU EP, asyncify wasm), env.wasm.numThreads 1; the attention_mask → seqlens_k arithmetic runs on the CPU EP',
      ],
    };
  } finally {
    await decoder.dispose();
  }
}
