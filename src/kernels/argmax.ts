/**
 * Argmax over one f32 vector into a u32 buffer, for greedy sampling on the GPU (the step reads back
 * 4 bytes). Lowest index on ties; NaN entries are skipped; all-NaN gives argmaxNone.
 */
import source from '../../shaders/kernels/argmax.wgsl?raw';
import { defineParams } from '../gpu/params';
import type { KernelRunner } from '../gpu/runner';
import { ArgCheck } from './check';

export const argmaxKernel = {
  source,
  params: defineParams([
    ['n', 'u32'],
    ['x_offset', 'u32'],
  ] as const),
};

/** Written when every element is NaN (a broken logits row). */
export const argmaxNone = 0xffffffff;

const wgSize = 256;

export interface ArgmaxArgs {
  x: GPUBuffer; // (n) f32 at xOffset, e.g. one logits row
  xOffset?: number; // elements
  n: number; // 1 ..< 2^32 - 1 (vocabularies: ~200k)
  out: GPUBuffer; // (1) u32 at byte 0
}

export function encodeArgmax(run: KernelRunner, args: ArgmaxArgs): void {
  const xOffset = args.xOffset ?? 0;
  new ArgCheck('argmax')
    .positive({ n: args.n })
    .that(args.n < argmaxNone, 'n', 'an integer in [1, 2^32 - 1)', args.n)
    .offsets({ xOffset })
    .fits('x', args.x, xOffset + args.n)
    .fits('out', args.out, 1)
    .distinct('out', args.out, 'x', args.x);
  run.dispatch({
    key: `argmax.f32.wg${wgSize}`,
    source,
    constants: { WG_SIZE: wgSize },
    params: argmaxKernel.params.pack({ n: args.n, x_offset: xOffset }),
    buffers: [args.x, args.out],
    workgroups: [1],
  });
}
