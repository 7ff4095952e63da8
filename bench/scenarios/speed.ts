/**
 * `npm run bench`: our engine in Chromium beside the peers users would pick, in one run, on the same
 * weights (the random SmolLM2-135M-shaped model) and the same prompt ids, greedy past
 * end-of-sequence: onnxruntime-web's WebGPU EP on an ONNX export and wllama (llama.cpp in wasm) on
 * the GGUF, both on the same bench page in the same Chromium, and llama.cpp native on CPU. Ours also
 * reports its per-token figures (dispatches, bytes read back, allocations, encode ms). Returns the
 * results-file object and the side-by-side table for bench/main.ts to write and print.
 */
import { cpus, loadavg } from 'node:os';
import { withBenchPage } from '../lib/browser';
import { runLlamaCppBench, type LlamaCppBenchResult, type LlamaCppRunFigures } from '../lib/llamacpp';
import { benchModelSeed, cacheDir, ensureBenchModel, type BenchModel } from '../lib/model';
import { benchPrompt, promptSeed } from '../lib/prompt';
import { fmt, gitFacts, machineFacts, round, textTable } from '../lib/report';
import { filesRoute, startBenchServer } from '../lib/server';
import type { PeerSpeedOptions } from '../peers/types';
import { vocabSize as tokenizerVocab } from '../../tools/fixtures/tokenizer';
import type { PageRunFigures, SpeedPageOptions, SpeedPageResult } from './speed-page';
import { figures, idsAgreement, message, ortModelUrl, type PeerOutcome, ratios, runBrowserPeer, type RunFigures } from './speed-peers';

export interface SpeedBenchOptions {
  quick: boolean;
  warmupTokens?: number;
  threads?: number;
  log: (line: string) => void;
}

export interface SpeedBenchOutput {
  results: Record<string, unknown>;
  summary: string; // the side-by-side table printed last
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

export const llamaFigures = (r: LlamaCppRunFigures) => figures(r);

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

/** Ours' measured run in the shape the peers report (engine usage, page-clock median step). */
function oursRun(r: SpeedPageResult): RunFigures {
  const u = r.measured.usage;
  return { ...u, medianDecodeStepMs: r.measured.wall.medianDecodeStepMs };
}

/** Ours' per-decode-step figures over the measured generation (its first token comes from the prefill step). */
export function perTokenFigures(r: SpeedPageResult) {
  const s = r.steps,
    d = s.totals.decode,
    n = Math.max(1, d.steps);
  const perToken = d.dispatches / n;
  return {
    decodeSteps: d.steps,
    dispatchesPerToken: round(perToken, 2),
    readbackBytesPerToken: round(d.readbackBytes / n, 2),
    allocationsPerToken: round(d.allocations / n, 3),
    encodeMsPerToken: round(d.encodeMs / n, 3),
    copiesPerToken: round(d.copies / n, 2),
    layers: s.layers,
    dispatchesPerLayer: s.dispatchesPerLayer === null ? null : round(s.dispatchesPerLayer, 2),
    nonLayerDispatchesPerToken: s.dispatchesPerLayer === null ? null : round(perToken - s.dispatchesPerLayer * s.layers, 2),
    prefill: { steps: s.totals.prefill.steps, dispatches: s.totals.prefill.dispatches, readbackBytes: s.totals.prefill.readbackBytes },
    how: 'engine.stepStats() counters over the measured generation: dispatchWorkgroups calls, bytes mapped back, device objects created between steps, CPU ms from begin() to queue.submit(); per layer: dry runs of the layer loop',
  };
}

interface BrowserRun {
  ours: SpeedPageResult & { browserVersion: string };
  ort: PeerOutcome;
  wllama: PeerOutcome;
}

/** Ours, then the two browser peers, on one bench page in one Chromium. */
async function runInBrowser(
  oursOpts: SpeedPageOptions,
  peerOpts: Omit<PeerSpeedOptions, 'modelUrl'>,
  urls: { ort: { url: string } | { reason: string }; gguf: string },
  ortTokens: { max: number; warmup: number },
  log: (l: string) => void,
): Promise<BrowserRun> {
  const server = await startBenchServer(cacheDir);
  try {
    log(`bench: dev server at ${server.url}, launching Chromium`);
    return await withBenchPage(server.url, log, async (page) => {
      const ours = { ...(await page.run<SpeedPageResult>('speed', oursOpts)), browserVersion: page.browserVersion };
      const om = ours.measured.usage;
      log(
        `ours: ttft ${fmt(om.timeToFirstTokenMs)} ms, prefill ${fmt(om.prefillTokensPerSecond)} tok/s, decode ${fmt(om.decodeTokensPerSecond)} tok/s`,
      );
      // onnxruntime-web's WebGPU EP takes about a minute per step on SwiftShader: the same prompt, fewer tokens.
      const ortOpts = { ...peerOpts, maxTokens: Math.min(peerOpts.maxTokens, ortTokens.max), warmupTokens: ortTokens.warmup };
      const ort: PeerOutcome =
        'url' in urls.ort
          ? await runBrowserPeer(page, 'ort-speed', { ...ortOpts, modelUrl: urls.ort.url }, log)
          : { ok: false, reason: urls.ort.reason };
      const wllama = await runBrowserPeer(page, 'wllama-speed', { ...peerOpts, promptText: ours.promptText, modelUrl: urls.gguf }, log);
      return { ours, ort, wllama };
    });
  } finally {
    await server.close();
  }
}

function browserPeer(o: PeerOutcome, ours: SpeedPageResult) {
  if (!o.ok) return { ran: false, reason: o.reason };
  const r = o.result;
  return {
    ran: true,
    name: r.name,
    version: r.version,
    backend: r.backend,
    loadMs: round(r.loadMs),
    warmup: figures(r.warmup),
    measured: figures(r.measured),
    ...idsAgreement(ours.measured.tokens, r.measured.tokens),
    ratiosOursOverPeer: ratios(oursRun(ours), r.measured),
    notes: r.notes,
  };
}

function llamaCppPeer(o: PeerOutcome<LlamaCppBenchResult>, ours: SpeedPageResult) {
  if (!o.ok) return { ran: false, reason: o.reason };
  const r = o.result;
  return {
    ran: true,
    threads: r.threads,
    loadMs: round(r.loadMs),
    settings: r.settings,
    warmup: figures(r.warmup),
    measured: figures(r.measured),
    ...idsAgreement(ours.measured.tokens, r.measured.tokens),
    ratiosOursOverPeer: ratios(oursRun(ours), r.measured),
  };
}

interface SpeedRun {
  startedAt: Date;
  machine: Record<string, unknown>;
  loadAfterBrowser: number;
  model: BenchModel;
  workload: Record<string, unknown>;
  browser: BrowserRun;
  llamaCpp: PeerOutcome<LlamaCppBenchResult>;
}

/** The results-file object of one run. */
function speedResults(r: SpeedRun, quick: boolean): Record<string, unknown> {
  const { model } = r;
  const { ours } = r.browser;
  const c = model.config;
  return {
    scenario: 'speed',
    quick,
    date: r.startedAt.toISOString(),
    git: gitFacts(),
    durationS: round((Date.now() - r.startedAt.getTime()) / 1000, 1),
    machine: {
      ...r.machine,
      loadAverage1mAfterBrowser: round(r.loadAfterBrowser, 2),
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
      tokenizerVocab: Math.min(tokenizerVocab, c.vocab_size),
      tiedEmbeddings: c.tie_word_embeddings,
      ropeTheta: c.rope_theta,
    },
    workload: r.workload,
    ours: {
      loadMs: round(ours.loadMs),
      weightDtype: ours.info.weightDtype,
      gpuBytes: ours.info.gpuBytes,
      ...perTokenFigures(ours),
      warmup: oursFigures(ours.warmup),
      measured: oursFigures(ours.measured),
    },
    peers: {
      onnxruntimeWebWebgpu: browserPeer(r.browser.ort, ours),
      wllama: browserPeer(r.browser.wllama, ours),
      llamaCpp: llamaCppPeer(r.llamaCpp, ours),
    },
  };
}

/** The side-by-side table printed last: ours and each peer (a peer that did not run says why). */
function sideBySide(r: SpeedRun): string {
  const ours = oursRun(r.browser.ours);
  const rows = [['bench (speed)', 'backend', 'TTFT ms', 'prefill tok/s', 'decode tok/s', 'ours/peer decode', 'same ids']];
  const row = (name: string, backend: string, f: RunFigures, same: string) => [
    name,
    backend,
    fmt(f.timeToFirstTokenMs),
    fmt(f.prefillTokensPerSecond),
    fmt(f.decodeTokensPerSecond),
    f === ours ? '' : `${fmt(ours.decodeTokensPerSecond / f.decodeTokensPerSecond)}x`,
    same,
  ];
  const a = r.browser.ours.adapter;
  rows.push(row('ours', `webgpu (${a.architecture || a.vendor})`, ours, ''));
  const missing: string[] = [];
  const peers: [string, PeerOutcome<{ measured: RunFigures & { tokens: number[] }; backend?: string; threads?: number }>][] = [
    ['onnxruntime-web', r.browser.ort],
    ['wllama', r.browser.wllama],
    ['llama.cpp native', r.llamaCpp],
  ];
  for (const [name, o] of peers) {
    if (!o.ok) {
      rows.push([name, '-', '-', '-', '-', '-', '-']);
      missing.push(`${name}: ${o.reason}`);
      continue;
    }
    const backend = o.result.backend ?? `cpu (${o.result.threads} threads)`;
    const same = idsAgreement(r.browser.ours.measured.tokens, o.result.measured.tokens).greedyIdsEqualOurs ? 'yes' : 'no';
    rows.push(row(name, backend, o.result.measured, same));
  }
  const p = perTokenFigures(r.browser.ours);
  const per =
    `ours per decode step: ${p.dispatchesPerToken} dispatches (${p.dispatchesPerLayer ?? '-'} per layer × ${p.layers} + ` +
    `${p.nonLayerDispatchesPerToken ?? '-'}), ${p.readbackBytesPerToken} bytes read back, ${p.allocationsPerToken} allocations, ` +
    `${p.encodeMsPerToken} ms encoding`;
  return [textTable(rows), per, ...missing.map((m) => `not run: ${m}`)].join('\n');
}

export async function runSpeedBench(o: SpeedBenchOptions): Promise<SpeedBenchOutput> {
  const { log } = o;
  const startedAt = new Date();
  const machine = machineFacts();
  const promptLength = o.quick ? 16 : 128,
    maxTokens = o.quick ? 16 : 128;
  const warmupTokens = Math.min(o.warmupTokens ?? 16, maxTokens);
  const contextLength = 512;
  const threads = o.threads ?? cpus().length;
  const model = ensureBenchModel(log);
  log(`model: ${model.name} (${(model.parameters / 1e6).toFixed(1)}M params) ${model.written ? 'written' : 'cached'} in bench/.cache/`);
  const ortModel = await ortModelUrl(log);
  const ortTokens = o.quick ? { max: 3, warmup: 1 } : { max: 8, warmup: 2 };
  const prompt = benchPrompt(promptLength);
  const usableVocab = Math.min(tokenizerVocab, model.config.vocab_size);
  const workload = {
    promptTokens: promptLength,
    promptSeed,
    generatedTokens: maxTokens,
    warmupGeneratedTokens: warmupTokens,
    onnxruntimeWebGeneratedTokens: ortTokens,
    contextLength,
    sampling: `greedy over ids [0, ${usableVocab}) (the tokenizer's; the rest of the vocab is padding), past end-of-sequence`,
  };
  const run = { promptTokens: prompt, maxTokens, warmupTokens, contextLength };
  const browser = await runInBrowser(
    { ...run, modelUrl: `${filesRoute}${model.name}/` },
    { ...run, usableVocab, threads },
    { ort: ortModel, gguf: `${filesRoute}${model.name}/model.gguf` },
    ortTokens,
    log,
  );
  const loadAfterBrowser = loadavg()[0];
  let llamaCpp: PeerOutcome<LlamaCppBenchResult>;
  try {
    const restrictVocab = { usable: usableVocab, vocab: model.config.vocab_size };
    llamaCpp = { ok: true, result: await runLlamaCppBench({ gguf: model.gguf, ...run, threads, restrictVocab, log }) };
    const pm = llamaCpp.result.measured;
    log(
      `llama.cpp: ttft ${fmt(pm.timeToFirstTokenMs)} ms, prefill ${fmt(pm.prefillTokensPerSecond)} tok/s, decode ${fmt(pm.decodeTokensPerSecond)} tok/s`,
    );
  } catch (err) {
    log(`llama.cpp: failed: ${message(err)}`);
    llamaCpp = { ok: false, reason: `node-llama-cpp failed: ${message(err)}` };
  }
  const speedRun: SpeedRun = { startedAt, machine, loadAfterBrowser, model, workload, browser, llamaCpp };
  return { results: speedResults(speedRun, o.quick), summary: sideBySide(speedRun) };
}
