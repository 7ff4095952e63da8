/**
 * Page side of the speed bench: load the model through the public API, run one warm-up generation
 * (shader compilation, first-touch allocations), reset the context, then the measured generation.
 * Figures are the engine's own usage figures, with page-side wall clock beside them as a check.
 */
import { createEngine, type GenerationUsage, type LoadProgress, type ModelInfo, type StepStats } from '../../src/index';
import { medianGap } from '../lib/stats';
import type { BenchLog } from '../lib/log';

export interface SpeedPageOptions {
  modelUrl: string; // folder URL on the bench server
  promptTokens: number[];
  maxTokens: number;
  warmupTokens: number;
  contextLength: number;
}

export interface PageRunFigures {
  usage: GenerationUsage;
  finishReason: string;
  tokens: number[];
  /**
   * Page clock: call → first delta, call → result, (n - 1) / (last delta − first delta), and the
   * median gap between deltas (robust to other processes stealing the CPU for a while).
   */
  wall: { firstTokenMs: number; totalMs: number; decodeTokensPerSecond: number; medianDecodeStepMs: number };
}

export interface AdapterFacts {
  vendor: string;
  architecture: string;
  description: string;
  isFallbackAdapter: boolean | null; // GPUAdapterInfo.isFallbackAdapter where the browser reports it
  software: boolean; // a CPU implementation (fallback adapter, or SwiftShader/llvmpipe/WARP by name)
}

export interface SpeedPageResult {
  info: ModelInfo;
  adapter: AdapterFacts;
  loadMs: number;
  warmup: PageRunFigures;
  measured: PageRunFigures;
  /** The engine's per-step counters over the measured generation alone (reset right before it). */
  steps: StepStats;
  /** The prompt ids as text (our tokenizer), for a peer that takes only text. */
  promptText: string;
}

export async function adapterFacts(info: ModelInfo['adapter']): Promise<AdapterFacts> {
  const adapter = await navigator.gpu?.requestAdapter();
  const fallback = (adapter?.info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter;
  const byName = /swiftshader|llvmpipe|lavapipe|softpipe|warp|basic render|software|cpu/i.test(
    `${info.vendor} ${info.architecture} ${info.description}`,
  );
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    description: info.description,
    isFallbackAdapter: fallback ?? null,
    software: fallback === true || byName,
  };
}

function progressLogger(log: BenchLog): (p: LoadProgress) => void {
  let last = '';
  return (p) => {
    const pct = p.total > 0 ? Math.floor((p.loaded / p.total) * 4) * 25 : 0;
    const key = `${p.phase} ${pct}`;
    if (key !== last && p.phase !== 'ready') {
      last = key;
      log(`ours: load ${p.phase} ${pct}%`);
    }
  };
}

async function timedGeneration(
  engine: Awaited<ReturnType<typeof createEngine>>,
  o: SpeedPageOptions,
  maxTokens: number,
): Promise<PageRunFigures> {
  await engine.resetContext();
  const t0 = performance.now();
  const at: number[] = [];
  const stream = engine.generate({ tokens: o.promptTokens, maxTokens, temperature: 0, ignoreEos: true });
  for await (const delta of stream) {
    if (delta.tokens.length > 0) at.push(performance.now());
  }
  const r = await stream.result;
  const totalMs = performance.now() - t0;
  const first = at[0] ?? t0,
    last = at[at.length - 1] ?? t0;
  return {
    usage: r.usage,
    finishReason: r.finishReason,
    tokens: r.tokens,
    wall: {
      firstTokenMs: first - t0,
      totalMs,
      medianDecodeStepMs: medianGap(at),
      decodeTokensPerSecond: at.length > 1 ? (at.length - 1) / ((last - first) / 1000) : 0,
    },
  };
}

export async function speedScenario(o: SpeedPageOptions, log: BenchLog): Promise<SpeedPageResult> {
  const t0 = performance.now();
  const engine = await createEngine({ model: o.modelUrl, contextLength: o.contextLength, onProgress: progressLogger(log) });
  const loadMs = performance.now() - t0;
  try {
    log(`ours: loaded in ${(loadMs / 1000).toFixed(1)} s on ${engine.info.adapter.vendor} ${engine.info.adapter.architecture}`);
    log(`ours: warm-up (${o.promptTokens.length} prompt + ${o.warmupTokens} generated tokens)`);
    const warmup = await timedGeneration(engine, o, o.warmupTokens);
    log(`ours: measured run (${o.promptTokens.length} prompt + ${o.maxTokens} generated tokens)`);
    await engine.stepStats({ reset: true });
    const measured = await timedGeneration(engine, o, o.maxTokens);
    const steps = await engine.stepStats();
    const promptText = await engine.detokenize(o.promptTokens);
    return { info: engine.info, adapter: await adapterFacts(engine.info.adapter), loadMs, warmup, measured, steps, promptText };
  } finally {
    await engine.dispose();
  }
}
