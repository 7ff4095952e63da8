/** Residual add in place: a += b over n elements. */
import source from '../../shaders/kernels/add.wgsl?raw';
import { defineParams } from '../gpu/params';
import { gridFor, type KernelRunner } from '../gpu/runner';

export const addKernel = { source, params: defineParams([['n', 'u32'], ['offset_a', 'u32'], ['offset_b', 'u32']] as const) };

const wgSize = 256;

export interface AddArgs {
  a: GPUBuffer;  // (n) f32, updated in place
  b: GPUBuffer;  // (n) f32
  n: number;
  offsetA?: number;
  offsetB?: number;
}

export function encodeAdd(run: KernelRunner, args: AddArgs): void {
  run.dispatch({
    key: `add.f32.wg${wgSize}`, source, constants: { WG_SIZE: wgSize },
    params: addKernel.params.pack({ n: args.n, offset_a: args.offsetA ?? 0, offset_b: args.offsetB ?? 0 }),
    buffers: [args.a, args.b],
    workgroups: gridFor(Math.ceil(args.n / wgSize), run.maxWorkgroupsPerDimension),
  });
}
