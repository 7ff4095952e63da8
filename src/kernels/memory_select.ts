/**
 * Memory³ token selection for one memory layer, three barrier-free dispatches:
 *  scores  score[mh, j] = log Σ_{h in group(g)} Σ_i exp(q_{i,h}·k_{j,g}/√d), g = headList[mh], on the
 *          un-rotated q and k of the reference's rows (prefix rows skipped, no causal mask);
 *  topk    the positions (posBase + j) of the k best tokens per memory head, best first (ties → lower
 *          j); a reference with n < k tokens repeats its last kept token in slots [n, k);
 *  gather  the selected tokens' keys (RoPE applied) and values from the KV cache after the layer ran.
 */
import gatherSource from '../../shaders/kernels/memory_select_gather.wgsl?raw';
import scoresSource from '../../shaders/kernels/memory_select_scores.wgsl?raw';
import topkSource from '../../shaders/kernels/memory_select_topk.wgsl?raw';
import { defineParams } from '../gpu/params';
import { gridFor, type KernelRunner } from '../gpu/runner';
import { ArgCheck } from './check';

export const memorySelectScoresKernel = {
  source: scoresSource,
  params: defineParams([
    ['n', 'u32'],
    ['prefix_len', 'u32'],
    ['heads', 'u32'],
    ['kv_heads', 'u32'],
    ['head_dim', 'u32'],
    ['mem_heads', 'u32'],
    ['q_offset', 'u32'],
    ['k_offset', 'u32'],
    ['out_offset', 'u32'],
    ['scale', 'f32'],
  ] as const),
};

export const memorySelectTopkKernel = {
  source: topkSource,
  params: defineParams([
    ['n', 'u32'],
    ['k', 'u32'],
    ['mem_heads', 'u32'],
    ['scores_offset', 'u32'],
    ['pos_base', 'u32'],
    ['out_offset', 'u32'],
  ] as const),
};

export const memorySelectGatherKernel = {
  source: gatherSource,
  params: defineParams([
    ['mem_heads', 'u32'],
    ['k', 'u32'],
    ['head_dim', 'u32'],
    ['kv_heads', 'u32'],
    ['pos_offset', 'u32'],
    ['pos_base', 'u32'],
    ['row_base', 'u32'],
    ['out_offset', 'u32'],
  ] as const),
};

const wgSize = 64;
const grid = (run: KernelRunner, threads: number) => gridFor(Math.ceil(threads / wgSize), run.maxWorkgroupsPerDimension);

export interface MemoryScoresArgs {
  q: GPUBuffer; // (rows, heads, headDim) f32 un-rotated, step row 0 at element qOffset
  k: GPUBuffer; // (rows, kvHeads, headDim) f32 un-rotated, step row 0 at element kOffset
  headList: GPUBuffer; // (memHeads) u32 kv head indices
  scores: GPUBuffer; // (memHeads, n) f32 log-scores written at element outOffset
  n: number; // reference tokens (rows prefixLen..prefixLen+n-1)
  prefixLen: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  memHeads: number;
  qOffset?: number;
  kOffset?: number;
  outOffset?: number;
}

export function encodeMemoryScores(run: KernelRunner, a: MemoryScoresArgs): void {
  const qOffset = a.qOffset ?? 0,
    kOffset = a.kOffset ?? 0,
    outOffset = a.outOffset ?? 0,
    rows = a.prefixLen + a.n;
  new ArgCheck('memory_select_scores')
    .positive({ n: a.n, heads: a.heads, kvHeads: a.kvHeads, headDim: a.headDim, memHeads: a.memHeads })
    .offsets({ prefixLen: a.prefixLen, qOffset, kOffset, outOffset })
    .that(a.heads % a.kvHeads === 0, 'heads', `a multiple of kvHeads = ${a.kvHeads}`, a.heads)
    .that(a.memHeads <= a.kvHeads, 'memHeads', `<= kvHeads = ${a.kvHeads}`, a.memHeads)
    .fits('q', a.q, qOffset + rows * a.heads * a.headDim)
    .fits('k', a.k, kOffset + rows * a.kvHeads * a.headDim)
    .fits('headList', a.headList, a.memHeads)
    .fits('scores', a.scores, outOffset + a.memHeads * a.n);
  run.dispatch({
    key: `memory_select_scores.f32.wg${wgSize}`,
    source: scoresSource,
    constants: { WG_SIZE: wgSize },
    params: memorySelectScoresKernel.params.pack({
      n: a.n,
      prefix_len: a.prefixLen,
      heads: a.heads,
      kv_heads: a.kvHeads,
      head_dim: a.headDim,
      mem_heads: a.memHeads,
      q_offset: qOffset,
      k_offset: kOffset,
      out_offset: outOffset,
      scale: 1 / Math.sqrt(a.headDim),
    }),
    buffers: [a.q, a.k, a.headList, a.scores],
    workgroups: grid(run, a.memHeads * Math.ceil(a.n / 4)),
  });
}

export interface MemoryTopkArgs {
  scores: GPUBuffer; // (memHeads, n) f32 at element scoresOffset
  positions: GPUBuffer; // (memHeads, k) u32 written at element outOffset
  n: number;
  k: number;
  memHeads: number;
  posBase: number; // position of reference token 0
  scoresOffset?: number;
  outOffset?: number;
}

export function encodeMemoryTopk(run: KernelRunner, a: MemoryTopkArgs): void {
  const scoresOffset = a.scoresOffset ?? 0,
    outOffset = a.outOffset ?? 0;
  new ArgCheck('memory_select_topk')
    .positive({ n: a.n, k: a.k, memHeads: a.memHeads })
    .offsets({ posBase: a.posBase, scoresOffset, outOffset })
    .fits('scores', a.scores, scoresOffset + a.memHeads * a.n)
    .fits('positions', a.positions, outOffset + a.memHeads * a.k);
  run.dispatch({
    key: `memory_select_topk.f32.wg${wgSize}`,
    source: topkSource,
    constants: { WG_SIZE: wgSize },
    params: memorySelectTopkKernel.params.pack({
      n: a.n,
      k: a.k,
      mem_heads: a.memHeads,
      scores_offset: scoresOffset,
      pos_base: a.posBase,
      out_offset: outOffset,
    }),
    buffers: [a.scores, a.positions],
    workgroups: grid(run, a.memHeads * a.n),
  });
}

export interface MemoryGatherArgs {
  positions: GPUBuffer; // (memHeads, k) u32 at element posOffset
  headList: GPUBuffer; // (memHeads) u32
  kCache: GPUBuffer; // (ctx, kvHeads, headDim) f32, RoPE applied
  vCache: GPUBuffer; // (ctx, kvHeads, headDim) f32
  keys: GPUBuffer; // (memHeads, k, headDim) f32 written at element outOffset
  values: GPUBuffer; // (memHeads, k, headDim) f32 written at element outOffset
  memHeads: number;
  k: number;
  headDim: number;
  kvHeads: number;
  posBase: number; // position of reference token 0 …
  rowBase: number; // … and its cache row
  posOffset?: number;
  outOffset?: number;
}

export function encodeMemoryGather(run: KernelRunner, a: MemoryGatherArgs): void {
  const posOffset = a.posOffset ?? 0,
    outOffset = a.outOffset ?? 0,
    slots = a.memHeads * a.k * a.headDim;
  // Which cache rows are read depends on the positions (GPU data): the first reference row must exist.
  new ArgCheck('memory_select_gather')
    .positive({ memHeads: a.memHeads, k: a.k, headDim: a.headDim, kvHeads: a.kvHeads })
    .offsets({ posBase: a.posBase, rowBase: a.rowBase, posOffset, outOffset })
    .that(a.memHeads <= a.kvHeads, 'memHeads', `<= kvHeads = ${a.kvHeads}`, a.memHeads)
    .fits('positions', a.positions, posOffset + a.memHeads * a.k)
    .fits('headList', a.headList, a.memHeads)
    .fits('kCache', a.kCache, (a.rowBase + 1) * a.kvHeads * a.headDim)
    .fits('vCache', a.vCache, (a.rowBase + 1) * a.kvHeads * a.headDim)
    .fits('keys', a.keys, outOffset + slots)
    .fits('values', a.values, outOffset + slots)
    .distinct('values', a.values, 'keys', a.keys);
  run.dispatch({
    key: `memory_select_gather.f32.wg${wgSize}`,
    source: gatherSource,
    constants: { WG_SIZE: wgSize },
    params: memorySelectGatherKernel.params.pack({
      mem_heads: a.memHeads,
      k: a.k,
      head_dim: a.headDim,
      kv_heads: a.kvHeads,
      pos_offset: posOffset,
      pos_base: a.posBase,
      row_base: a.rowBase,
      out_offset: outOffset,
    }),
    buffers: [a.positions, a.headList, a.kCache, a.vCache, a.keys, a.values],
    workgroups: grid(run, a.memHeads * a.k * a.headDim),
  });
}
