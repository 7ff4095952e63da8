/**
 * `npm run bench` (scenario q4): a Llama-3.2-1B-shaped random-weight Q4_0 GGUF in our engine
 * (Chromium) and in llama.cpp (CPU) in the same run, same file, same prompt ids, greedy. Besides the
 * speed ratios it reports what 4-bit buys: the GPU bytes of the weights against the GGUF's tensor
 * data, and the bytes one decode step reads (weights + KV cache) against the same model in f16,
 * computed from the same tensor shapes with the engine's own format table.
 */
import { cpus, loadavg } from 'node:os';
import { partBytes } from '../../src/kernels/weight-formats';
import { runLlamaCppBench } from '../lib/llamacpp';
import { ensureQ4BenchModel, q4ModelName, type Q4BenchModel } from '../lib/model-q4';
import { tensorSpecs } from '../lib/model';
import { benchPrompt, promptSeed } from '../lib/prompt';
import { fmt, gitFacts, machineFacts, round } from '../lib/report';
import { filesRoute } from '../lib/server';
import { llamaFigures, oursFigures, runOurs, type SpeedBenchOptions, type SpeedBenchOutput } from './speed';

/** GPU bytes of the model's weights if every matrix were `format` (norms f32), by the engine's layout table. */
function weightBytesAs(model: Q4BenchModel, format: 'f16' | 'q4_0'): number {
  const specs = tensorSpecs(model.config);
  return specs.reduce((a, t) => a + (t.shape.length === 2 ? partBytes(format, t.shape[0], t.shape[1]) : 4 * t.shape[0]), 0);
}

/** Bytes a decode step at position `pos` reads: every matrix once (the tied embedding as the head, one row as input) + K and V of `pos` rows. */
function bytesPerToken(weights: number, kvBytesPerRow: number, pos: number): { weights: number; kv: number; total: number } {
  const kv = kvBytesPerRow * pos;
  return { weights, kv, total: weights + kv };
}

export async function runQ4Bench(o: SpeedBenchOptions): Promise<SpeedBenchOutput> {
  const { log } = o;
  const startedAt = new Date();
  const machine = machineFacts();
  const promptLength = o.quick ? 4 : 16,
    maxTokens = o.quick ? 2 : 6,
    warmupTokens = Math.min(o.warmupTokens ?? 2, maxTokens);
  const contextLength = 256;
  const model = ensureQ4BenchModel(log);
  log(
    `model: ${q4ModelName} ${model.written ? 'written' : 'cached'} (${(model.tensorDataBytes / 2 ** 20).toFixed(0)} MiB of Q4_0/F32 tensors)`,
  );
  const prompt = benchPrompt(promptLength);
  const workload = {
    promptTokens: promptLength,
    promptSeed,
    generatedTokens: maxTokens,
    warmupGeneratedTokens: warmupTokens,
    contextLength,
    sampling: 'greedy, past end-of-sequence',
  };
  const ours = await runOurs({ modelUrl: `${filesRoute}${model.url}`, promptTokens: prompt, maxTokens, warmupTokens, contextLength }, log);
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

  const c = model.config,
    g = ours.info.gpuBytes;
  const kvRow = 2 * c.num_hidden_layers * c.num_key_value_heads * c.head_dim! * 4; // K and V, f32, every layer
  const meanPos = promptLength + maxTokens / 2;
  const f16Weights = weightBytesAs(model, 'f16');
  const readQ4 = bytesPerToken(g.weights, kvRow, meanPos),
    readF16 = bytesPerToken(f16Weights, kvRow, meanPos);
  const gpuTotal = g.weights + g.kvCache + g.activations,
    f16Total = f16Weights + g.kvCache + g.activations;
  const results = {
    scenario: 'q4',
    quick: o.quick,
    date: startedAt.toISOString(),
    git: gitFacts(),
    durationS: round((Date.now() - startedAt.getTime()) / 1000, 1),
    machine: {
      ...machine,
      loadAverage1mAfterOurs: round(loadAfterOurs, 2),
      loadAverage1mAtEnd: round(loadavg()[0], 2),
      chromium: ours.browserVersion,
      adapter: ours.adapter,
    },
    model: {
      name: q4ModelName,
      shapeOf: 'meta-llama/Llama-3.2-1B',
      weights: `random, every matrix Q4_0, norms F32, one GGUF read by both engines`,
      parameters: model.parameters,
      layers: c.num_hidden_layers,
      hidden: c.hidden_size,
      intermediate: c.intermediate_size,
      heads: c.num_attention_heads,
      kvHeads: c.num_key_value_heads,
      headDim: c.head_dim,
      vocab: c.vocab_size,
      tiedEmbeddings: c.tie_word_embeddings,
      ggufTensorDataBytes: model.tensorDataBytes,
    },
    workload,
    ours: {
      loadMs: round(ours.loadMs),
      weightDtype: ours.info.weightDtype,
      weightFormats: ours.info.weightFormats,
      gpuBytes: g,
      warmup: oursFigures(ours.warmup),
      measured: oursFigures(ours.measured),
    },
    llamaCpp: {
      threads: peer.threads,
      loadMs: round(peer.loadMs),
      settings: { ...peer.settings, weights: 'the same Q4_0 GGUF' },
      warmup: llamaFigures(peer.warmup),
      measured: llamaFigures(peer.measured),
    },
    ratiosOursOverLlamaCpp: {
      prefillTokensPerSecond: round(om.prefillTokensPerSecond / pm.prefillTokensPerSecond, 4),
      decodeTokensPerSecond: round(om.decodeTokensPerSecond / pm.decodeTokensPerSecond, 4),
      medianDecodeStepMs: round(ours.measured.wall.medianDecodeStepMs / pm.medianDecodeStepMs, 4),
    },
    memory: {
      weightGpuBytesOverGgufTensorBytes: round(g.weights / model.tensorDataBytes, 4),
      f16WeightBytesComputed: f16Weights,
      gpuBytesOverF16Model: round(gpuTotal / f16Total, 4),
      bytesReadPerDecodedToken: { atPosition: meanPos, q4_0: readQ4, f16: readF16, ratio: round(readQ4.total / readF16.total, 4) },
    },
  };
  const summary =
    `bench q4: ${q4ModelName}: weights ${fmt(g.weights / 2 ** 20)} MiB on the GPU (${fmt((100 * g.weights) / model.tensorDataBytes)}% of the GGUF's tensors; ` +
    `f16: ${fmt(f16Weights / 2 ** 20)} MiB), GPU memory ${fmt(gpuTotal / f16Total)}× the f16 model's, ${fmt(readQ4.total / 2 ** 20)} MiB read per decoded token ` +
    `(${fmt(readQ4.total / readF16.total)}× f16); ours/llama.cpp prefill ${fmt(results.ratiosOursOverLlamaCpp.prefillTokensPerSecond)}×, ` +
    `decode ${fmt(results.ratiosOursOverLlamaCpp.decodeTokensPerSecond)}× (ours ${fmt(om.decodeTokensPerSecond)} tok/s, llama.cpp ${fmt(pm.decodeTokensPerSecond)} tok/s)`;
  return { results, summary };
}
