/**
 * Which of a layer's tensors the GPU stores as one: q, k and v as the rows of one matrix [q; k; v],
 * gate and up as [gate; up], and the q/k/v biases as one vector, so a decode step projects all
 * three (or both) with one GEMV dispatch. Matrices fuse only when their GPU formats and widths agree
 * (a Q4_K_M file keeps some v and down matrices in Q6_K: those layers stay separate), and for
 * formats with paired block scales only when every member starts on an even block.
 */
import { weightFormats, type WeightFormat } from '../kernels/weight-formats';
import { archByFamily, plannedTensors } from './arch/index';
import type { ModelConfig } from './config';

export interface FusedGroup {
  name: string; // the fused tensor's label, e.g. model.layers.3.qkv
  kind: 'matrix' | 'vector';
  /** Tensor name → first row (matrix) or element (vector) it fills. */
  members: Map<string, number>;
  shape: number[]; // [rows, cols] or [elements]
  format: WeightFormat; // vectors: f32
}

/**
 * Tensor name → its group; `formatOf` gives each located tensor's GPU format and shape (undefined:
 * not in the files). `matrices: false` keeps the matrices apart (the biases still fuse: the layer
 * loop reads one q/k/v bias vector).
 */
export function planFusion(
  cfg: ModelConfig,
  formatOf: (tensor: string) => { format: WeightFormat; shape: readonly number[] } | undefined,
  opts: { matrices?: boolean } = {},
): Map<string, FusedGroup> {
  const planned = plannedTensors(archByFamily(cfg.family), cfg);
  const byRole = new Map(planned.map((t) => [`${t.layer}.${t.role}`, t.hf]));
  const out = new Map<string, FusedGroup>();
  const fuse = (name: string, kind: FusedGroup['kind'], members: string[], shape: number[], format: WeightFormat, starts: number[]) => {
    const group: FusedGroup = { name, kind, members: new Map(members.map((m, i) => [m, starts[i]])), shape, format };
    for (const m of members) out.set(m, group);
  };
  for (let l = 0; l < cfg.numLayers; l++) {
    const prefix = `model.layers.${l}`;
    for (const [group, roles] of [
      ['qkv', ['q', 'k', 'v']],
      ['gate_up', ['gate', 'up']],
    ] as const) {
      if (opts.matrices === false) break;
      const names = roles.map((r) => byRole.get(`${l}.${r}`));
      const found = names.map((n) => (n === undefined ? undefined : formatOf(n)));
      if (names.some((n) => n === undefined) || found.some((f) => f === undefined || f.shape.length !== 2)) continue;
      const fs = found as { format: WeightFormat; shape: readonly number[] }[];
      const { format } = fs[0],
        cols = fs[0].shape[1];
      if (fs.some((f) => f.format !== format || f.shape[1] !== cols)) continue;
      const starts = fs.map((_, i) => fs.slice(0, i).reduce((a, f) => a + f.shape[0], 0));
      const spec = weightFormats[format];
      if (spec.pairedScales && starts.some((s) => ((s * cols) / spec.blockElems) % 2 !== 0)) continue;
      fuse(
        `${prefix}.${group}`,
        'matrix',
        names as string[],
        [starts[starts.length - 1] + fs[fs.length - 1].shape[0], cols],
        format,
        starts,
      );
    }
    // Biases: one vector over the q, k and v rows (absent ones read as zeros), whatever the matrices did.
    const rows = [cfg.numHeads * cfg.headDim, cfg.numKvHeads * cfg.headDim, cfg.numKvHeads * cfg.headDim];
    const biases = ['qBias', 'kBias', 'vBias'].map((r) => byRole.get(`${l}.${r}`));
    const present = biases.flatMap((n, i) =>
      n !== undefined && formatOf(n) ? [{ n, start: rows.slice(0, i).reduce((a, b) => a + b, 0) }] : [],
    );
    if (present.length > 0) {
      fuse(
        `${prefix}.qkv_bias`,
        'vector',
        present.map((p) => p.n),
        [rows[0] + rows[1] + rows[2]],
        'f32',
        present.map((p) => p.start),
      );
    }
  }
  return out;
}
