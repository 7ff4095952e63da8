/**
 * Token sampling on the GPU (shaders/kernels/sample.wgsl): the same chain as the CPU Sampler
 * (src/sampling/sampler.ts) over a logits row, drawing with a xoshiro128** state kept in a GPU
 * buffer; writes the token id (and an error flag) to a 2-u32 buffer, so a decode step reads back
 * 8 bytes instead of the logits row.
 *
 * Where f32 can pick another token than the float64 CPU reference (all at measure-zero or
 * last-ulp boundaries; the kernel tests check identical ids on typical rows):
 * - exp() is WGSL f32 (a few ulp) where the CPU uses float64 Math.exp; masses are summed in
 *   double-f32 pairs (~48 bits), the uniform draw keeps 48 of its 53 bits. A draw or a top-p cut
 *   that lands within that error of a cumulative-mass boundary may go the other way.
 * - temperature ≠ 1: (x − max) · (1/T) is rounded twice in f32 (once on the CPU); the penalty is
 *   x ÷ f32(penalty). Either can change a logit by one ulp and so break or make a tie.
 * - greedy and top-k order −0 below +0 (the CPU treats them as equal, lowest id first).
 * - when rounding leaves the draw past the last weight the GPU returns the most likely token,
 *   the CPU its last candidate.
 * Cost: one workgroup, up to ~100 passes over the row when top-k, top-p and the draw all bisect.
 */
import source from '../../shaders/kernels/sample.wgsl?raw';
import { defineParams } from '../gpu/params';
import type { KernelRunner } from '../gpu/runner';
import { ArgCheck } from './check';

export const sampleKernel = {
  source,
  params: defineParams([
    ['vocab', 'u32'],
    ['logits_offset', 'u32'],
    ['n_penalty', 'u32'],
    ['top_k', 'u32'],
    ['greedy', 'u32'],
    ['path', 'u32'],
    ['use_top_p', 'u32'],
    ['inv_temp', 'f32'],
    ['penalty', 'f32'],
    ['min_logit', 'f32'],
    ['top_p_hi', 'f32'],
    ['top_p_lo', 'f32'],
  ] as const),
};

const wgSize = 256;

/** The resolved sampling knobs the kernel implements (src/sampling/options.ts names). */
export interface GpuSamplingKnobs {
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repetitionPenalty: number;
}

export interface SampleArgs extends GpuSamplingKnobs {
  logits: GPUBuffer; // (vocab) f32 at element logitsOffset
  work: GPUBuffer; // (vocab) f32 scratch
  penaltyIds: GPUBuffer; // (nPenalty) u32 distinct-or-not recent ids, each < vocab
  rng: GPUBuffer; // (4) u32 xoshiro128** state, advanced by each non-greedy draw
  out: GPUBuffer; // (2) u32: token id, 1 when the row had NaN or no finite maximum
  vocab: number;
  nPenalty: number;
  logitsOffset?: number;
}

/** The smallest f32 ≥ v (so `x ≥ it` in f32 equals the CPU's `x ≥ v` in float64). */
function f32Ceil(v: number): number {
  if (!Number.isFinite(v)) return v;
  const f = Math.fround(v);
  if (f >= v) return f;
  const b = new Float32Array([f]);
  const u = new Int32Array(b.buffer);
  u[0] += f >= 0 ? 1 : -1;
  return b[0];
}

/** The sample kernel's one pipeline (for compiling it at load). */
export const samplePipeline = { key: `sample.f32.wg${wgSize}`, source, constants: { WG_SIZE: wgSize } };

export function encodeSample(run: KernelRunner, a: SampleArgs): void {
  const logitsOffset = a.logitsOffset ?? 0;
  new ArgCheck('sample')
    .positive({ vocab: a.vocab })
    .offsets({ logitsOffset, nPenalty: a.nPenalty })
    .fits('logits', a.logits, logitsOffset + a.vocab)
    .fits('work', a.work, a.vocab)
    .fits('penaltyIds', a.penaltyIds, a.nPenalty)
    .fits('rng', a.rng, 4)
    .fits('out', a.out, 2);
  const topK = a.topK > 0 && a.topK < a.vocab ? a.topK : 0;
  const useTopP = a.topP < 1;
  const topPHi = Math.fround(a.topP);
  run.dispatch({
    ...samplePipeline,
    params: sampleKernel.params.pack({
      vocab: a.vocab,
      logits_offset: logitsOffset,
      n_penalty: a.nPenalty,
      top_k: topK,
      greedy: a.temperature === 0 ? 1 : 0,
      path: topK > 0 ? 0 : useTopP ? 1 : 2,
      use_top_p: useTopP ? 1 : 0,
      inv_temp: a.temperature === 0 ? 1 : 1 / a.temperature,
      penalty: a.repetitionPenalty,
      min_logit: a.minP > 0 ? f32Ceil(Math.log(a.minP)) : -Infinity,
      top_p_hi: topPHi,
      top_p_lo: a.topP - topPHi,
    }),
    buffers: [a.logits, a.work, a.penaltyIds, a.rng, a.out],
    workgroups: [1],
  });
}
