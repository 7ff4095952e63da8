/**
 * The epilogue of a fused q/k/v projection (issue 12: one dispatch where a decode step had two
 * norms, two RoPEs and the cache writes): reads the projection's (rows, q | k | v) output and writes
 * q to its buffer and k, v to the KV cache rows, applying the per-head q/k RMSNorm (Qwen3, Gemma 3)
 * and rotate-half RoPE on the way. `rope: false` leaves q and k unrotated (the memory writer reads
 * them first, then rotates with kernels/rope.ts). Rotation as kernels/rope.ts computes it.
 */
import source from '../../shaders/kernels/qkv_scatter.wgsl?raw';
import { defineParams } from '../gpu/params';
import { gridFor, type KernelRunner } from '../gpu/runner';
import { ArgCheck } from './check';

export const qkvScatterKernel = {
  source,
  params: defineParams([
    ['rows', 'u32'],
    ['heads', 'u32'],
    ['kv_heads', 'u32'],
    ['head_dim', 'u32'],
    ['rot_dim', 'u32'],
    ['kv_offset', 'u32'],
    ['start_pos', 'u32'],
    ['rope', 'u32'],
    ['scale', 'f32'],
    ['eps', 'f32'],
    ['norm_offset', 'f32'],
  ] as const),
};

const wgSize = 64;

export interface QkvScatterArgs {
  qkv: GPUBuffer; // (rows, (heads + 2·kvHeads)·headDim) f32
  q: GPUBuffer; // (rows, heads·headDim) f32, written
  k: GPUBuffer; // cache: rows at kvOffset, kvHeads·headDim each, written
  v: GPUBuffer;
  kvOffset: number; // elements
  rows: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  rope: boolean;
  startPos: number; // RoPE position of row 0
  invFreq: GPUBuffer; // (rotaryDim/2) f32 (bound even when rope is false)
  rotaryDim?: number; // default headDim
  scale?: number; // default 1
  kvDtype?: 'f32' | 'f16'; // the cache's element type (default f32)
  /** Per-head RMSNorm of q and k before RoPE. */
  norm?: { q: GPUBuffer; k: GPUBuffer; eps: number; offset: number };
}

export function encodeQkvScatter(run: KernelRunner, a: QkvScatterArgs): void {
  const rotaryDim = a.rotaryDim ?? a.headDim;
  validate(a, rotaryDim);
  const buffers = [a.qkv, a.q, a.k, a.v, a.invFreq];
  if (a.norm) buffers.push(a.norm.q, a.norm.k);
  run.dispatch({
    key: `qkv_scatter${a.norm ? '.qk_norm' : ''}${a.kvDtype === 'f16' ? '.kvf16' : ''}.wg${wgSize}`,
    source,
    defines: [...(a.norm ? ['QK_NORM'] : []), ...(a.kvDtype === 'f16' ? ['KV_F16'] : [])],
    constants: { WG_SIZE: wgSize },
    params: qkvScatterKernel.params.pack({
      rows: a.rows,
      heads: a.heads,
      kv_heads: a.kvHeads,
      head_dim: a.headDim,
      rot_dim: rotaryDim,
      kv_offset: a.kvOffset,
      start_pos: a.startPos,
      rope: a.rope ? 1 : 0,
      scale: a.scale ?? 1,
      eps: a.norm?.eps ?? 0,
      norm_offset: a.norm?.offset ?? 0,
    }),
    buffers,
    workgroups: gridFor(a.rows * (a.heads + 2 * a.kvHeads), run.maxWorkgroupsPerDimension),
  });
}

function validate(a: QkvScatterArgs, rotaryDim: number): void {
  const d = a.headDim,
    kvRow = a.kvHeads * d;
  const c = new ArgCheck('qkv_scatter')
    .positive({ rows: a.rows, heads: a.heads, kvHeads: a.kvHeads, headDim: d })
    .that(d % 2 === 0, 'headDim', 'an even number', d)
    .that(
      Number.isInteger(rotaryDim) && rotaryDim >= 2 && rotaryDim % 2 === 0 && rotaryDim <= d,
      'rotaryDim',
      `an even integer in [2, headDim = ${d}]`,
      rotaryDim,
    )
    .that(Number.isFinite(a.scale ?? 1), 'scale', 'a finite number', a.scale)
    .offsets({ startPos: a.startPos, kvOffset: a.kvOffset })
    .that(a.startPos + a.rows <= 2 ** 24, 'startPos', 'an integer with startPos + rows <= 2^24 (exact in f32)', a.startPos)
    .distinct('k', a.k, 'v', a.v)
    .fits('qkv', a.qkv, a.rows * (a.heads * d + 2 * kvRow))
    .fits('q', a.q, a.rows * a.heads * d)
    .that(a.kvOffset % 2 === 0, 'kvOffset', 'an even element offset', a.kvOffset)
    .fits('k', a.k, a.kvOffset + a.rows * kvRow, a.kvDtype === 'f16' ? 2 : 4)
    .fits('v', a.v, a.kvOffset + a.rows * kvRow, a.kvDtype === 'f16' ? 2 : 4)
    .fits('invFreq', a.invFreq, rotaryDim / 2);
  if (a.norm) c.fits('qNorm', a.norm.q, d).fits('kNorm', a.norm.k, d);
}
