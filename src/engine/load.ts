/**
 * Loading a checkpoint from a ModelSource: descriptors (config, tokenizer, templates), then the
 * weights streamed file by file into GPU buffers, with progress and named errors at every step.
 */
import { parseModelConfig, type ModelConfig } from '../model/config';
import { streamTensors } from '../model/convert';
import { listWeightFiles, readSafetensorsHeader } from '../model/safetensors';
import type { ModelSource } from '../model/source';
import { validateTensors } from '../model/tensor-plan';
import { assembleWeights, GpuWeightSink, type ModelWeights } from '../model/weights';
import { Tokenizer } from '../tokenizer/tokenizer';
import { ModelConfigError, ModelFetchError } from '../util/errors';
import type { LoadOptions, LoadProgress } from './types';

export interface Descriptors {
  config: ModelConfig;
  tokenizer: Tokenizer;
  /** config.json as read, for the model fingerprint. */
  configText: string;
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
  if (!(await source.exists('config.json'))) {
    throw new ModelFetchError(`config.json not found in ${source.description}: a model folder needs config.json, ` +
      'tokenizer.json and model.safetensors (or model.safetensors.index.json with its shards)', { file: 'config.json' });
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
  return { config, tokenizer, configText };
}

export interface LoadedWeights { weights: ModelWeights; dtype: 'f32' | 'f16'; sink: GpuWeightSink; fingerprint: string }

/** Streams every weight file once into GPU buffers. On failure, frees what was allocated. */
export async function loadWeights(
  device: GPUDevice, source: ModelSource, config: ModelConfig, opts: LoadOptions,
  onProgress: (p: LoadProgress) => void, signal?: AbortSignal,
): Promise<LoadedWeights> {
  const files = await listWeightFiles(source);
  const headers = [];
  for (const f of files) headers.push(await readSafetensorsHeader(source, f));
  const plan = validateTensors(config, headers);
  const allF32 = [...plan.values()].every((t) => t.dtype === 'F32');
  const dtype = opts.weightDtype === 'f32' || opts.weightDtype === 'f16' ? opts.weightDtype : (allF32 ? 'f32' : 'f16');
  const sink = new GpuWeightSink(device, opts.maxBindingBytes);
  try {
    await streamTensors(source, headers, plan, sink, {
      targetDtype: dtype, signal,
      onProgress: (p) => onProgress({ phase: 'weights', loaded: p.loadedBytes, total: p.totalBytes, file: p.file,
        message: `Uploading weights: ${p.file}` }),
    });
    return { weights: assembleWeights(config, sink), dtype, sink, fingerprint: await fingerprintOf(headers, sink) };
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
