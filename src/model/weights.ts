/**
 * Model weights on the GPU, filled by streaming the safetensors files straight into GPU buffers
 * (no whole-model ArrayBuffer). Matrices become GpuMatrix (split in row parts when larger than
 * maxStorageBufferBindingSize); norms and biases are plain f32 buffers.
 */
import type { ActivationRounding } from '../kernels/activation_round';
import { createGpuMatrix, matrixGpuBytes, matrixRowBytes, writeMatrixRows, type GpuMatrix } from '../kernels/matrix';
import type { WeightFormat } from '../kernels/weight-formats';
import { archByFamily, plannedTensors } from './arch/index';
import type { ModelConfig } from './config';
import type { TensorSink } from './convert';
import type { FusedGroup } from './fusion';

export interface LayerWeights {
  attnNorm: GPUBuffer; // (hidden) f32
  /** The q, k, v projections' rows in that order: one matrix [q; k; v] (model/fusion.ts) or the three apart. */
  qkv: GpuMatrix[];
  o: GpuMatrix; // (hidden, heads*headDim)
  qkvBias: GPUBuffer | null; // (heads*headDim + 2*kvHeads*headDim) f32, Qwen2's q/k/v biases (zeros where one is absent)
  oBias: GPUBuffer | null; // (hidden) f32, Llama with attention_bias only
  qNorm: GPUBuffer | null; // (headDim) f32, per-head q norm (Qwen3)
  kNorm: GPUBuffer | null; // (headDim) f32
  mlpNorm: GPUBuffer; // (hidden) f32 (Gemma: pre_feedforward_layernorm)
  postAttnNorm: GPUBuffer | null; // (hidden) f32, Gemma's norm of the attention output
  postFfnNorm: GPUBuffer | null; // (hidden) f32, Gemma's norm of the MLP output
  /** The gate and up projections' rows: one matrix [gate; up] (2·intermediate, hidden) or the two apart. */
  gateUp: GpuMatrix[];
  down: GpuMatrix; // (hidden, intermediate)
}

export interface ModelWeights {
  embed: GpuMatrix; // (vocab, hidden)
  layers: LayerWeights[];
  finalNorm: GPUBuffer; // (hidden) f32
  lmHead: GpuMatrix; // (vocab, hidden); the embedding itself when tied
  bytes: number; // GPU bytes held by the weights
  /** With `activationRounding: 'llama.cpp'`: how each matrix's input is rounded first (absent: not at all). */
  inputRounding: Map<GpuMatrix, ActivationRounding>;
  /** Activations rounded as llama.cpp's CPU backend rounds them (activationRounding 'llama.cpp'): its f16 gelu table too. */
  llamaCppRounding: boolean;
}

type Stored = { kind: 'matrix'; m: GpuMatrix } | { kind: 'vector'; b: GPUBuffer };

/**
 * A TensorSink that allocates each tensor's GPU storage when it begins and writes chunks as they
 * come. Tensors of a fused group (model/fusion.ts) are written into the group's one matrix or vector,
 * at their rows; the group is allocated when its first member begins.
 */
export class GpuWeightSink implements TensorSink {
  readonly stored = new Map<string, Stored>();
  /** The first bytes of every tensor, for the model fingerprint (a bank is tied to these weights). */
  readonly samples = new Map<string, Uint8Array>();
  bytes = 0;
  constructor(
    private readonly device: GPUDevice,
    private readonly maxPartBytes?: number,
    private readonly fusion: ReadonlyMap<string, FusedGroup> = new Map(),
  ) {}

  /** The fused group a tensor was written into, if any. */
  groupOf(tensor: string): FusedGroup | undefined {
    return this.fusion.get(tensor);
  }

  /** The file tensors held under a stored name: a fused group's members, else the tensor itself. */
  tensorsIn(stored: string): string[] {
    for (const g of this.fusion.values()) if (g.name === stored) return [...g.members.keys()];
    return [stored];
  }

  /** Bytes of weights per GPU format, matrices and vectors. */
  readonly formatBytes = new Map<WeightFormat, number>();

  begin(name: string, shape: number[], format: WeightFormat): void {
    const group = this.fusion.get(name);
    if (group) {
      if (format !== group.format || shape.length !== group.shape.length || shape[1] !== group.shape[1]) {
        throw new Error(`weight ${name}: ${format} [${shape}] does not fit its fused ${group.name} (${group.format} [${group.shape}])`);
      }
      if (!this.stored.has(group.name)) this.allocate(group.name, group.shape, group.format);
      return;
    }
    this.allocate(name, shape, format);
  }

  private allocate(name: string, shape: readonly number[], format: WeightFormat): void {
    if (shape.length === 2) {
      const m = createGpuMatrix(this.device, {
        rows: shape[0],
        cols: shape[1],
        dtype: format,
        label: name,
        maxPartBytes: this.maxPartBytes,
      });
      this.stored.set(name, { kind: 'matrix', m });
      this.count(format, matrixGpuBytes(m));
    } else {
      if (format !== 'f32') throw new Error(`weight ${name}: vectors are stored f32, not ${format}`);
      const n = shape.reduce((a, b) => a * b, 1);
      const b = this.device.createBuffer({
        label: name,
        size: Math.max(16, Math.ceil((n * 4) / 4) * 4),
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
      });
      this.stored.set(name, { kind: 'vector', b });
      this.count('f32', n * 4);
    }
  }

  private count(format: WeightFormat, bytes: number): void {
    this.bytes += bytes;
    this.formatBytes.set(format, (this.formatBytes.get(format) ?? 0) + bytes);
  }

  write(name: string, byteOffset: number, bytes: Uint8Array): void {
    if (byteOffset === 0) this.samples.set(name, bytes.slice(0, 64));
    const group = this.fusion.get(name);
    const s = this.stored.get(group?.name ?? name)!;
    const start = group?.members.get(name) ?? 0; // first row (matrix) or element (vector) of the member
    if (s.kind === 'matrix') {
      writeMatrixRows(this.device, s.m, start * matrixRowBytes(s.m) + byteOffset, bytes as Uint8Array<ArrayBuffer>);
    } else this.device.queue.writeBuffer(s.b, start * 4 + byteOffset, bytes as Uint8Array<ArrayBuffer>);
  }

  end(): void {}

  /** Number of GPU buffers allocated for weights. */
  get bufferCount(): number {
    let n = 0;
    for (const s of this.stored.values()) n += s.kind === 'vector' ? 1 : s.m.parts.length;
    return n;
  }

  matrix(name: string): GpuMatrix {
    const s = this.stored.get(name);
    if (s?.kind !== 'matrix') throw new Error(`weight ${name} was not loaded as a matrix`);
    return s.m;
  }

  vector(name: string): GPUBuffer {
    const s = this.stored.get(name);
    if (s?.kind !== 'vector') throw new Error(`weight ${name} was not loaded as a vector`);
    return s.b;
  }

  destroy(): void {
    for (const s of this.stored.values()) {
      if (s.kind === 'vector') s.b.destroy();
      else for (const p of s.m.parts) p.buffer.destroy();
    }
    this.stored.clear();
  }
}

/**
 * Assembles the loaded tensors into the layer structure the forward pass walks. `rounding` names,
 * per tensor, how llama.cpp would round that matrix's input (only in the llama.cpp-rounding mode).
 */
export function assembleWeights(
  cfg: ModelConfig,
  sink: GpuWeightSink,
  rounding?: (name: string) => ActivationRounding | null,
): ModelWeights {
  const planned = plannedTensors(archByFamily(cfg.family), cfg);
  const byRole = new Map(planned.map((t) => [`${t.layer ?? 'g'}.${t.role}`, t.hf]));
  const name = (layer: number | 'g', role: string) => byRole.get(`${layer}.${role}`);
  const vec = (layer: number, role: string) => {
    const n = name(layer, role);
    return n ? sink.vector(n) : null;
  };
  const mat = (layer: number, role: string) => sink.matrix(name(layer, role)!);
  /** The matrices of `roles`, as one fused matrix or apart. */
  const rows = (layer: number, roles: string[]) => {
    const group = sink.groupOf(name(layer, roles[0])!);
    return group ? [sink.matrix(group.name)] : roles.map((r) => mat(layer, r));
  };
  const bias = (layer: number) => {
    const n = name(layer, 'qBias') ?? name(layer, 'kBias') ?? name(layer, 'vBias');
    return n ? sink.vector(sink.groupOf(n)?.name ?? n) : null;
  };
  const layers: LayerWeights[] = [];
  for (let l = 0; l < cfg.numLayers; l++) {
    layers.push({
      attnNorm: vec(l, 'attnNorm')!,
      qkv: rows(l, ['q', 'k', 'v']),
      o: mat(l, 'o'),
      qkvBias: bias(l),
      oBias: vec(l, 'oBias'),
      qNorm: vec(l, 'qNorm'),
      kNorm: vec(l, 'kNorm'),
      mlpNorm: vec(l, 'mlpNorm')!,
      postAttnNorm: vec(l, 'postAttnNorm'),
      postFfnNorm: vec(l, 'postFfnNorm'),
      gateUp: rows(l, ['gate', 'up']),
      down: mat(l, 'down'),
    });
  }
  const embed = sink.matrix(name('g', 'embed')!);
  const inputRounding = new Map<GpuMatrix, ActivationRounding>();
  for (const [stored, s] of sink.stored) {
    // A fused matrix's members share one input (and one format): the first one names its rounding.
    const mode = s.kind === 'matrix' ? rounding?.(sink.tensorsIn(stored)[0]) : null;
    if (mode && s.kind === 'matrix') inputRounding.set(s.m, mode);
  }
  const head = name('g', 'lmHead');
  return {
    embed,
    layers,
    finalNorm: sink.vector(name('g', 'finalNorm')!),
    lmHead: head ? sink.matrix(head) : embed,
    bytes: sink.bytes,
    inputRounding,
    llamaCppRounding: rounding !== undefined,
  };
}
