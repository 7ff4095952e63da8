/**
 * Loading a model from a ModelSource: descriptors (config, tokenizer, templates: from a Hugging
 * Face folder, or from a GGUF file's metadata), then the weights streamed file by file into GPU
 * buffers, with progress and named errors at every step.
 */
import type { ActivationRounding } from '../kernels/activation_round';
import type { WeightFormat } from '../kernels/weight-formats';
import { parseModelConfig, type ModelConfig } from '../model/config';
import { streamLocated } from '../model/convert';
import { autoWeightDtype } from '../model/quantize';
import { listWeightFiles, readSafetensorsHeader } from '../model/safetensors';
import type { ModelSource } from '../model/source';
import { tensorOutputFormat, validateTensors, type LocatedTensor } from '../model/tensor-plan';
import { assembleWeights, GpuWeightSink, type ModelWeights } from '../model/weights';
import { Tokenizer } from '../tokenizer/tokenizer';
import { ModelConfigError, ModelFetchError } from '../util/errors';
import { loadGgufDescriptors } from './load-gguf';
import type { LoadOptions, LoadProgress } from './types';

export interface Descriptors {
  config: ModelConfig;
  tokenizer: Tokenizer;
  /** config.json as read (GGUF: the config its metadata implies), for the model fingerprint. */
  configText: string;
  /** A GGUF model's files and tensors (null: a safetensors checkpoint, whose headers are read with the weights). */
  gguf: { files: string[]; tensors: Map<string, LocatedTensor> } | null;
}

/** The GGUF file to load, or null for a safetensors folder. */
async function ggufEntry(source: ModelSource): Promise<string | null> {
  if (source.entry) return source.entry;
  const files = source.list?.() ?? null;
  const safetensors = files ? files.some((f) => /(^|\/)model\.safetensors(\.index\.json)?$/.test(f)) : true;
  if (!files || (safetensors && await source.exists('config.json'))) return null;
  const later = (f: string) => Number(/-(\d{5})-of-\d{5}\.gguf$/i.exec(f)?.[1] ?? 1) > 1;  // splits after the first
  const ggufs = files.filter((f) => /\.gguf$/i.test(f) && !later(f)).sort();
  if (ggufs.length > 1) {
    throw new ModelConfigError(`${source.description} holds ${ggufs.length} GGUF models (${ggufs.join(', ')}); pick one file`, { files: ggufs });
  }
  return ggufs[0] ?? null;
}

async function readJson(source: ModelSource, path: string, optional: boolean): Promise<unknown> {
  if (optional && !(await source.exists(path))) return null;
  const text = await source.readText(path);
  // Dev servers with an SPA fallback answer a missing optional file with index.html and status 200.
  if (optional && /^\s*</.test(text)) return null;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ModelConfigError(`${path} from ${source.description} is not valid JSON: ${(err as Error).message}`, { file: path });
  }
}

export async function loadDescriptors(source: ModelSource): Promise<Descriptors> {
  const entry = await ggufEntry(source);
  if (entry) {
    const { config, tokenizer, files, tensors } = await loadGgufDescriptors(source, entry);
    return { config, tokenizer, configText: JSON.stringify(config), gguf: { files, tensors } };
  }
  if (!(await source.exists('config.json'))) {
    throw new ModelFetchError(`config.json not found in ${source.description}: a model folder needs config.json, ` +
      'tokenizer.json and model.safetensors (or model.safetensors.index.json with its shards), or a .gguf file', { file: 'config.json' });
  }
  const configText = await source.readText('config.json');
  let configJson: unknown;
  try { configJson = JSON.parse(configText); } catch (err) {
    throw new ModelConfigError(`config.json from ${source.description} is not valid JSON: ${(err as Error).message}`, { file: 'config.json' });
  }
  const config = parseModelConfig(configJson);
  const tokenizerJson = await readJson(source, 'tokenizer.json', false);
  const tokenizerConfig = await readJson(source, 'tokenizer_config.json', true);
  const generationConfig = await readJson(source, 'generation_config.json', true) as { eos_token_id?: number | number[] } | null;
  const eos = [...config.eosTokenIds, ...([generationConfig?.eos_token_id ?? []].flat())];
  const tokenizer = Tokenizer.fromJSON(tokenizerJson, tokenizerConfig, { eosTokenId: eos });
  return { config, tokenizer, configText, gguf: null };
}

export interface LoadedWeights {
  weights: ModelWeights;
  /** The format holding most weight bytes (a GGUF may mix several, e.g. q4_k and q6_k). */
  dtype: WeightFormat;
  sink: GpuWeightSink;
  fingerprint: string;
}

/** What float matrices become: the option, or for 'auto' a pick by their size (model/quantize.ts). */
function floatTarget(opts: LoadOptions, plan: Iterable<LocatedTensor>): 'f32' | 'f16' | 'q8_0' | 'q4_0' {
  if (opts.weightDtype && opts.weightDtype !== 'auto') return opts.weightDtype;
  const floats = [...plan].filter((t) => t.dtype === 'F32' || t.dtype === 'F16' || t.dtype === 'BF16');
  const matrixValues = floats.filter((t) => t.shape.length === 2).reduce((a, t) => a + t.shape[0] * t.shape[1], 0);
  const memory = (globalThis.navigator as { deviceMemory?: number } | undefined)?.deviceMemory ?? null;
  return autoWeightDtype({ matrixValues, allF32: floats.every((t) => t.dtype === 'F32'), deviceMemoryGiB: memory });
}

/**
 * How llama.cpp's CPU backend rounds the input of a matmul with this weight: to Q8_0 blocks for
 * q8_0/q4_0, Q8_K blocks for k-quants, to the weight's own f16/bf16, not at all for F32.
 */
function llamaCppRounding(t: LocatedTensor, target: ReturnType<typeof floatTarget>): ActivationRounding | null {
  const format = tensorOutputFormat(t, target);
  if (format === 'q8_0' || format === 'q4_0') return 'q8_0';
  if (format === 'q4_k' || format === 'q6_k') return 'q8_k';
  return t.dtype === 'F16' ? 'f16' : t.dtype === 'BF16' ? 'bf16' : null;
}

/** Streams every weight file once into GPU buffers. On failure, frees what was allocated. */
export async function loadWeights(
  device: GPUDevice, source: ModelSource, d: Descriptors, opts: LoadOptions,
  onProgress: (p: LoadProgress) => void, signal?: AbortSignal,
): Promise<LoadedWeights> {
  let files: string[], plan: Map<string, LocatedTensor>;
  if (d.gguf) {
    ({ files, tensors: plan } = d.gguf);
  } else {
    files = await listWeightFiles(source);
    const headers = [];
    for (const f of files) headers.push(await readSafetensorsHeader(source, f));
    plan = validateTensors(d.config, headers);
  }
  const target = floatTarget(opts, plan.values());
  const sink = new GpuWeightSink(device, opts.maxBindingBytes);
  try {
    await streamLocated(source, files, plan.values(), sink, {
      targetDtype: target, signal,
      onProgress: (p) => onProgress({ phase: 'weights', loaded: p.loadedBytes, total: p.totalBytes, file: p.file,
        message: `Uploading weights: ${p.file}` }),
    });
    const dtype = [...sink.formatBytes].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
    const meta = [{ tensors: [...plan.values()] }];
    const rounding = opts.activationRounding === 'llama.cpp' ? (name: string) => llamaCppRounding(plan.get(name)!, target) : undefined;
    return { weights: assembleWeights(d.config, sink, rounding), dtype, sink, fingerprint: await fingerprintOf(meta, sink) };
  } catch (err) {
    sink.destroy();
    throw err;
  }
}

/**
 * The model fingerprint a memory bank is tied to: SHA-256 over every tensor's name, dtype, shape and
 * first bytes (the config is covered by the shapes, and different weights differ in those bytes).
 */
async function fingerprintOf(headers: { tensors: { name: string; dtype: string; shape: number[] }[] }[], sink: GpuWeightSink): Promise<string> {
  const names = [...sink.samples.keys()].sort();
  const meta = new Map(headers.flatMap((h) => h.tensors.map((t) => [t.name, `${t.dtype}[${t.shape.join(',')}]`] as const)));
  const parts: Uint8Array[] = [];
  const enc = new TextEncoder();
  for (const n of names) { parts.push(enc.encode(`${n}:${meta.get(n)}:`)); parts.push(sink.samples.get(n)!); }
  const all = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let at = 0;
  for (const p of parts) { all.set(p, at); at += p.byteLength; }
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', all));
  return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
}
