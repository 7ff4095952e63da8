/**
 * Loading a model from a ModelSource: descriptors (config, tokenizer, templates: from a Hugging
 * Face folder, or from a GGUF file's metadata), then the weights streamed file by file into GPU
 * buffers, with progress and named errors at every step.
 */
import type { ActivationRounding } from '../kernels/activation_round';
import type { WeightFormat } from '../kernels/weight-formats';
import { streamLocated } from '../model/convert';
import { planFusion } from '../model/fusion';
import { autoWeightDtype } from '../model/quantize';
import { listWeightFiles, readSafetensorsHeader } from '../model/safetensors';
import type { ModelSource } from '../model/source';
import { tensorOutputFormat, validateTensors, type LocatedTensor } from '../model/tensor-plan';
import { assembleWeights, GpuWeightSink, type ModelWeights } from '../model/weights';
import type { Descriptors } from './descriptors';
import type { LoadOptions, LoadProgress } from './types';

export { loadDescriptors, type Descriptors } from './descriptors';

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
  device: GPUDevice,
  source: ModelSource,
  d: Descriptors,
  opts: LoadOptions,
  onProgress: (p: LoadProgress) => void,
  signal?: AbortSignal,
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
  const formatOf = (name: string) => {
    const t = plan.get(name);
    return t && { format: tensorOutputFormat(t, target), shape: t.shape };
  };
  const fusion = planFusion(d.config, formatOf, { matrices: opts.fuseProjections !== false });
  const sink = new GpuWeightSink(device, opts.maxBindingBytes, fusion);
  try {
    await streamLocated(source, files, plan.values(), sink, {
      targetDtype: target,
      signal,
      onProgress: (p) =>
        onProgress({ phase: 'weights', loaded: p.loadedBytes, total: p.totalBytes, file: p.file, message: `Uploading weights: ${p.file}` }),
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
async function fingerprintOf(
  headers: { tensors: { name: string; dtype: string; shape: number[] }[] }[],
  sink: GpuWeightSink,
): Promise<string> {
  const names = [...sink.samples.keys()].sort();
  const meta = new Map(headers.flatMap((h) => h.tensors.map((t) => [t.name, `${t.dtype}[${t.shape.join(',')}]`] as const)));
  const parts: Uint8Array[] = [];
  const enc = new TextEncoder();
  for (const n of names) {
    parts.push(enc.encode(`${n}:${meta.get(n)}:`));
    parts.push(sink.samples.get(n)!);
  }
  const all = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.byteLength;
  }
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', all));
  return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
}
