/**
 * `npm run bench`: our engine in Chromium vs llama.cpp on CPU, same weights (the random SmolLM2-135M
 * shaped model), same prompt ids, greedy, past end-of-sequence. Returns the results-file
 * figures and the one-line summary for bench/main.ts to write and print.
 */
import { cpus, loadavg } from 'node:os';
import { withBenchPage } from '../lib/browser';
import { runLlamaCppBench, type LlamaCppBenchResult, type LlamaCppRunFigures } from '../lib/llamacpp';
import { benchModelSeed, cacheDir, ensureBenchModel, type BenchModel } from '../lib/model';
import { benchPrompt, promptSeed } from '../lib/prompt';
import { fmt, gitFacts, machineFacts, round } from '../lib/report';
import { filesRoute, startBenchServer } from '../lib/server';
import type { PageRunFigures, SpeedPageOptions, SpeedPageResult } from './speed-page';

export interface SpeedBenchOptions {
  quick: boolean;
  warmupTokens?: number;
  threads?: number;
  log: (line: string) => void;
}

export interface SpeedBenchOutput {
  results: Record<string, unknown>;
  summary: string; // the one-line summary printed last
}

export function oursFigures(r: PageRunFigures) {
  const u = r.usage;
  return {
    promptTokens: u.promptTokens,
    completionTokens: u.completionTokens,
    cachedPromptTokens: u.cachedPromptTokens,
    timeToFirstTokenMs: round(u.timeToFirstTokenMs, 1),
    prefillTokensPerSecond: round(u.prefillTokensPerSecond, 2),
    decodeTokensPerSecond: round(u.decodeTokensPerSecond, 3),
    finishReason: r.finishReason,
    wallClock: {
      firstTokenMs: round(r.wall.firstTokenMs, 1),
      totalMs: round(r.wall.totalMs, 1),
      decodeTokensPerSecond: round(r.wall.decodeTokensPerSecond, 3),
      medianDecodeStepMs: round(r.wall.medianDecodeStepMs, 1),
    },
  };
}

export function llamaFigures(r: LlamaCppRunFigures) {
  return {
    promptTokens: r.promptTokens,
    completionTokens: r.completionTokens,
    timeToFirstTokenMs: round(r.timeToFirstTokenMs, 1),
    prefillTokensPerSecond: round(r.prefillTokensPerSecond, 2),
    decodeTokensPerSecond: round(r.decodeTokensPerSecond, 3),
    medianDecodeStepMs: round(r.medianDecodeStepMs, 1),
  };
}

/** Our engine on the bench page (dev server over bench/.cache/, Chromium with SwiftShader). */
export async function runOurs(o: SpeedPageOptions, log: (l: string) => void): Promise<SpeedPageResult & { browserVersion: string }> {
  const server = await startBenchServer(cacheDir);
  try {
    log(`ours: dev server at ${server.url}, launching Chromium`);
    return await withBenchPage(server.url, log, async (page) => ({
      ...(await page.run<SpeedPageResult>('speed', o)),
      browserVersion: page.browserVersion,
    }));
  } finally {
    await server.close();
  }
}

interface SpeedRun {
  startedAt: Date;
  machine: Record<string, unknown>;
  loadAfterOurs: number;
  model: BenchModel;
  workload: Record<string, unknown>;
  ours: SpeedPageResult & { browserVersion: string };
  peer: LlamaCppBenchResult;
}

/** The results-file object of one run. */
function speedResults(r: SpeedRun, quick: boolean): Record<string, unknown> {
  const { ours, peer, model } = r;
  const c = model.config,
    om = ours.measured.usage,
    pm = peer.measured;
  return {
    scenario: 'speed',
    quick,
    date: r.startedAt.toISOString(),
    git: gitFacts(),
    durationS: round((Date.now() - r.startedAt.getTime()) / 1000, 1),
    machine: {
      ...r.machine,
      loadAverage1mAfterOurs: round(r.loadAfterOurs, 2),
      loadAverage1mAtEnd: round(loadavg()[0], 2),
      chromium: ours.browserVersion,
      adapter: ours.adapter,
    },
    model: {
      name: model.name,
      shapeOf: 'HuggingFaceTB/SmolLM2-135M',
      weights: `random (seed ${benchModelSeed}), F32 safetensors and F32 GGUF, same values`,
      parameters: model.parameters,
      architecture: c.architectures[0],
      layers: c.num_hidden_layers,
      hidden: c.hidden_size,
      intermediate: c.intermediate_size,
      heads: c.num_attention_heads,
      kvHeads: c.num_key_value_heads,
      headDim: c.head_dim,
      vocab: c.vocab_size,
      tiedEmbeddings: c.tie_word_embeddings,
      ropeTheta: c.rope_theta,
    },
    workload: r.workload,
    ours: {
      loadMs: round(ours.loadMs),
      weightDtype: ours.info.weightDtype,
      gpuBytes: ours.info.gpuBytes,
      warmup: oursFigures(ours.warmup),
      measured: oursFigures(ours.measured),
    },
    llamaCpp: {
      threads: peer.threads,
      loadMs: round(peer.loadMs),
      settings: peer.settings,
      warmup: llamaFigures(peer.warmup),
      measured: llamaFigures(pm),
    },
    ratiosOursOverLlamaCpp: {
      prefillTokensPerSecond: round(om.prefillTokensPerSecond / pm.prefillTokensPerSecond, 4),
      decodeTokensPerSecond: round(om.decodeTokensPerSecond / pm.decodeTokensPerSecond, 4),
      timeToFirstTokenMs: round(om.timeToFirstTokenMs / pm.timeToFirstTokenMs, 4),
      medianDecodeStepMs: round(ours.measured.wall.medianDecodeStepMs / pm.medianDecodeStepMs, 4),
    },
  };
}

export async function runSpeedBench(o: SpeedBenchOptions): Promise<SpeedBenchOutput> {
  const { log } = o;
  const startedAt = new Date();
  const machine = machineFacts();
  const promptLength = o.quick ? 16 : 128,
    maxTokens = o.quick ? 16 : 128;
  const warmupTokens = Math.min(o.warmupTokens ?? 16, maxTokens);
  const contextLength = 512;
  const model = ensureBenchModel(log);
  log(`model: ${model.name} (${(model.parameters / 1e6).toFixed(1)}M params) ${model.written ? 'written' : 'cached'} in bench/.cache/`);
  const prompt = benchPrompt(promptLength);
  const workload = {
    promptTokens: promptLength,
    promptSeed,
    generatedTokens: maxTokens,
    warmupGeneratedTokens: warmupTokens,
    contextLength,
    sampling: 'greedy, past end-of-sequence',
  };
  const ours = await runOurs(
    { modelUrl: `${filesRoute}${model.name}/`, promptTokens: prompt, maxTokens, warmupTokens, contextLength },
    log,
  );
  const loadAfterOurs = loadavg()[0];
  const om = ours.measured.usage;
  log(
    `ours: ttft ${fmt(om.timeToFirstTokenMs)} ms, prefill ${fmt(om.prefillTokensPerSecond)} tok/s, decode ${fmt(om.decodeTokensPerSecond)} tok/s`,
  );
  const peer = await runLlamaCppBench({
    gguf: model.gguf,
    promptTokens: prompt,
    maxTokens,
    contextLength,
    warmupTokens,
    threads: o.threads ?? cpus().length,
    log,
  });
  const pm = peer.measured;
  log(
    `llama.cpp: ttft ${fmt(pm.timeToFirstTokenMs)} ms, prefill ${fmt(pm.prefillTokensPerSecond)} tok/s, decode ${fmt(pm.decodeTokensPerSecond)} tok/s`,
  );
  const results = speedResults({ startedAt, machine, loadAfterOurs, model, workload, ours, peer }, o.quick);
  const summary =
    `bench: ttft ${fmt(om.timeToFirstTokenMs)} ms, prefill ${fmt(om.prefillTokensPerSecond)} tok/s, ` +
    `decode ${fmt(om.decodeTokensPerSecond)} tok/s; llama.cpp prefill ${fmt(pm.prefillTokensPerSecond)} tok/s, ` +
    `decode ${fmt(pm.decodeTokensPerSecond)} tok/s`;
  return { results, summary };
}
