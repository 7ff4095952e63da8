/**
 * Rounds a matmul's input as llama.cpp's CPU backend does before it multiplies (activations in
 * Q8_0 blocks for q8_0/q4_0 weights, Q8_K blocks for k-quants, f16/bf16 for f16/bf16 weights): the
 * engine's `activationRounding: 'llama.cpp'` mode, which makes runs comparable with llama.cpp to
 * accumulation order on the same quantized weights. See shaders/kernels/activation_round.wgsl.
 */
import source from '../../shaders/kernels/activation_round.wgsl?raw';
import { defineParams } from '../gpu/params';
import { gridFor, type KernelRunner } from '../gpu/runner';
import { ArgCheck } from './check';

export const activationRoundKernel = {
  source,
  params: defineParams([
    ['rows', 'u32'],
    ['cols', 'u32'],
    ['x_offset', 'u32'],
    ['out_offset', 'u32'],
  ] as const),
};

export type ActivationRounding = 'q8_0' | 'q8_k' | 'f16' | 'bf16';

const blockOf: Record<ActivationRounding, number> = { q8_0: 32, q8_k: 256, f16: 1, bf16: 1 };
const wgSize = 64;

export interface ActivationRoundArgs {
  x: GPUBuffer; // (rows, cols) f32 at xOffset
  out: GPUBuffer; // (rows, cols) f32 at outOffset; another buffer than x
  rows: number;
  cols: number; // a multiple of the block (32 for q8_0, 256 for q8_k)
  mode: ActivationRounding;
  xOffset?: number; // elements
  outOffset?: number; // elements
}

export function encodeActivationRound(run: KernelRunner, a: ActivationRoundArgs): void {
  const xOffset = a.xOffset ?? 0,
    outOffset = a.outOffset ?? 0,
    block = blockOf[a.mode];
  new ArgCheck('activation_round')
    .positive({ rows: a.rows, cols: a.cols })
    .offsets({ xOffset, outOffset })
    .that(a.cols % block === 0, 'cols', `a multiple of ${block} for ${a.mode}`, a.cols)
    .fits('x', a.x, xOffset + a.rows * a.cols)
    .fits('out', a.out, outOffset + a.rows * a.cols)
    .distinct('out', a.out, 'x', a.x);
  run.dispatch({
    key: `activation_round.${a.mode}.wg${wgSize}`,
    source,
    defines: [a.mode.toUpperCase()],
    constants: { WG_SIZE: wgSize },
    params: activationRoundKernel.params.pack({ rows: a.rows, cols: a.cols, x_offset: xOffset, out_offset: outOffset }),
    buffers: [a.x, a.out],
    workgroups: gridFor(Math.ceil((a.rows * a.cols) / block / wgSize), run.maxWorkgroupsPerDimension),
  });
}
