/**
 * Which tensors a config implies (HF names and shapes) and where they are in the weight files.
 * Weight matrices are HF nn.Linear layout: (out_features, in_features), row-major.
 */
import type { WeightFormat } from '../kernels/weight-formats';
import { MissingTensorError, ModelConfigError, ShapeMismatchError } from '../util/errors';
import { archByFamily, fileTensors, plannedTensors } from './arch/index';
import type { ModelConfig } from './config';
import type { GgufDtype } from './gguf';
import type { SafetensorsDtype, SafetensorsFile } from './safetensors';

/** Element types of weight files: safetensors' floats and the GGUF types the engine loads. */
export type TensorDtype = SafetensorsDtype | GgufDtype;

/** A tensor found in a weight file, under its HF name and shape. */
export interface LocatedTensor {
  name: string;
  dtype: TensorDtype;
  shape: number[]; // HF order, row-major
  file: string;
  begin: number; // absolute byte offsets in `file`
  end: number;
  /** GGUF llama q/k: rows (or bias elements) interleaved per head of this many rows, put back in HF order on load. */
  interleavedHeadRows?: number;
}

/** Every tensor the transformer reads, HF name → shape, in load order (embedding, layers, norm, head): the architecture's list. */
export function expectedTensors(cfg: ModelConfig): Map<string, number[]> {
  return new Map(fileTensors(archByFamily(cfg.family), cfg).map((t) => [t.hf, t.shape]));
}

/**
 * The located tensors under the names the layer loop reads: a fused file tensor (Phi-3's qkv_proj,
 * gate_up_proj) becomes its parts, each a run of whole rows of it (rows are contiguous and of equal
 * byte length in every format the engine reads, quantized blocks included).
 */
export function splitFused(cfg: ModelConfig, located: Map<string, LocatedTensor>): Map<string, LocatedTensor> {
  const planned = plannedTensors(archByFamily(cfg.family), cfg);
  if (!planned.some((t) => t.part)) return located;
  const out = new Map(located);
  for (const t of planned) {
    if (!t.part) continue;
    const f = located.get(t.part.hf)!;
    const rowBytes = (f.end - f.begin) / f.shape[0];
    const begin = f.begin + t.part.start * rowBytes;
    out.set(t.hf, { ...f, name: t.hf, shape: t.shape, begin, end: begin + t.shape[0] * rowBytes });
    out.delete(t.part.hf);
  }
  return out;
}

/**
 * The GPU format of a tensor: norms and biases f32; quantized matrices keep their format; float
 * matrices take `target`, except that q8_0/q4_0 need rows of whole 32-value blocks (others: f16).
 */
export function tensorOutputFormat(
  t: Pick<LocatedTensor, 'name' | 'dtype' | 'shape'>,
  target: 'f32' | 'f16' | 'q8_0' | 'q4_0',
): WeightFormat {
  if (t.name.endsWith('.bias') || t.name.endsWith('norm.weight')) return 'f32';
  if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16') return t.dtype.toLowerCase() as WeightFormat;
  if (target === 'q8_0' || target === 'q4_0') return t.shape.length === 2 && t.shape[1] % 32 === 0 ? target : 'f16';
  return target;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Find every tensor of `plan` (name → expected shape) in `files`, checking shapes.
 * Tensors the plan does not name are ignored. Throws MissingTensorError, ShapeMismatchError, or
 * ModelConfigError when a needed tensor appears in two files.
 */
export function locateTensors(plan: ReadonlyMap<string, readonly number[]>, files: readonly SafetensorsFile[]): Map<string, LocatedTensor> {
  const found = new Map<string, LocatedTensor>();
  for (const f of files) {
    for (const t of f.tensors) {
      if (!plan.has(t.name)) continue;
      const prev = found.get(t.name);
      if (prev) {
        throw new ModelConfigError(`Tensor "${t.name}" appears in both ${prev.file} and ${f.path}`, { tensor: t.name });
      }
      found.set(t.name, { ...t, file: f.path });
    }
  }
  const searched = files.map((f) => f.path);
  for (const [name, shape] of plan) {
    const t = found.get(name);
    if (!t) {
      throw new MissingTensorError(`Tensor "${name}" (shape [${shape.join(', ')}]) not found in ${searched.join(', ') || '(no files)'}`, {
        tensor: name,
        expected: [...shape],
        files: searched,
      });
    }
    if (!sameShape(t.shape, shape)) {
      throw new ShapeMismatchError(`Tensor "${name}" in ${t.file}: expected shape [${shape.join(', ')}], got [${t.shape.join(', ')}]`, {
        tensor: name,
        file: t.file,
        expected: [...shape],
        actual: t.shape,
      });
    }
  }
  return found;
}

/** Check that `files` hold every tensor `cfg` needs with the right shape; returns where each one is. */
export function validateTensors(cfg: ModelConfig, files: readonly SafetensorsFile[]): Map<string, LocatedTensor> {
  return splitFused(cfg, locateTensors(expectedTensors(cfg), files));
}
