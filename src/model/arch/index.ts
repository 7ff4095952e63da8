/**
 * The architectures the engine runs, one file each in this folder. A GGUF architecture string maps
 * to the first entry that names it (Mistral GGUFs are written as `llama`).
 */
import { gemma2 } from './gemma2';
import { gemma3 } from './gemma3';
import { llama } from './llama';
import { mistral } from './mistral';
import { phi3 } from './phi3';
import { qwen2 } from './qwen2';
import { qwen3 } from './qwen3';
import { smollm3 } from './smollm3';
import type { ArchSpec, BaseShape, BlockFields, TensorSpec } from './spec';

export type { ArchSpec, BlockFields, LayerRole, GlobalRole, TensorSpec } from './spec';

export const architectures: readonly ArchSpec[] = [llama, qwen2, mistral, qwen3, smollm3, gemma2, gemma3, phi3];

export function archByFamily(family: string): ArchSpec {
  const a = architectures.find((x) => x.family === family);
  if (!a) throw new Error(`no architecture "${family}"`);
  return a;
}

export function archByHf(architecture: string): ArchSpec | undefined {
  return architectures.find((a) => a.hfArchitecture === architecture);
}

export function archByModelType(modelType: string): ArchSpec | undefined {
  return architectures.find((a) => a.modelType === modelType);
}

export function archByGguf(ggufArch: string): ArchSpec | undefined {
  return architectures.find((a) => a.ggufArch === ggufArch);
}

/** A resolved tensor: its names for layer `layer` (null: a global tensor), role and shape. */
export interface PlannedTensor {
  role: TensorSpec['role'];
  layer: number | null;
  hf: string;
  gguf: string;
  shape: number[];
  /** Rows [start, start + shape[0]) of the fused file tensor `hf` / `gguf` of shape `shape`. */
  part?: { hf: string; gguf: string; start: number; shape: number[] };
}

/** Every tensor a model of this architecture and shape reads, in load order. */
export function plannedTensors(arch: ArchSpec, c: BaseShape & BlockFields): PlannedTensor[] {
  const out: PlannedTensor[] = [];
  const perLayer = arch.tensors.filter((t) => t.hf.includes('{L}'));
  const globals = arch.tensors.filter((t) => !t.hf.includes('{L}'));
  const add = (t: TensorSpec, layer: number | null) => {
    if (t.when && !t.when(c)) return;
    const sub = (s: string) => (layer === null ? s : s.replaceAll('{L}', String(layer)));
    const part = t.part && { hf: sub(t.part.hf), gguf: sub(t.part.gguf), start: t.part.rows(c)[0], shape: t.part.shape(c) };
    out.push({ role: t.role, layer, hf: sub(t.hf), gguf: sub(t.gguf), shape: t.shape(c), ...(part ? { part } : {}) });
  };
  const head = globals.filter((t) => t.role === 'embed');
  for (const t of head) add(t, null);
  for (let l = 0; l < c.numLayers; l++) for (const t of perLayer) add(t, l);
  for (const t of globals.filter((t) => t.role !== 'embed')) add(t, null);
  return out;
}

/** The tensors as the files store them, HF name → GGUF name and shape: a fused tensor once, in place of its parts. */
export function fileTensors(arch: ArchSpec, c: BaseShape & BlockFields): { hf: string; gguf: string; shape: number[] }[] {
  const out = new Map<string, { hf: string; gguf: string; shape: number[] }>();
  for (const t of plannedTensors(arch, c)) {
    const f = t.part ?? t;
    if (!out.has(f.hf)) out.set(f.hf, { hf: f.hf, gguf: f.gguf, shape: f.shape });
  }
  return [...out.values()];
}

/** HF tensor name → llama.cpp's GGUF name for this architecture (as the files store them). */
export function ggufNameOf(arch: ArchSpec, c: BaseShape & BlockFields): Map<string, string> {
  return new Map(fileTensors(arch, c).map((t) => [t.hf, t.gguf]));
}

/** The GGUF name of one HF tensor name, matched against the architecture's templates (null: none). */
export function ggufNameFromTemplates(arch: ArchSpec, hfName: string): string | null {
  const layer = /^model\.layers\.(\d+)\./.exec(hfName)?.[1];
  for (const spec of arch.tensors) {
    const t = spec.part ?? spec;
    if (t.hf.replaceAll('{L}', layer ?? '{L}') === hfName) return t.gguf.replaceAll('{L}', layer ?? '{L}');
  }
  return null;
}
