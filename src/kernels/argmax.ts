/**
 * Argmax over one f32 vector into a u32 buffer, for greedy sampling on the GPU (the step reads back
 * 4 bytes). Lowest index on ties; NaN entries are skipped; all-NaN gives argmaxNone.
 */
import source from '../../shaders/kernels/argmax.wgsl?raw';
import { defineParams } from '../gpu/params';
import { type KernelRunner } from '../gpu/runner';
import { ShapeMismatchError } from '../util/errors';

export const argmaxKernel = { source, params: defineParams([['n', 'u32'], ['x_offset', 'u32']] as const) };

/** Written when every element is NaN (a broken logits row). */
export const argmaxNone = 0xffffffff;

const wgSize = 256;

export interface ArgmaxArgs {
  x: GPUBuffer;       // (n) f32 at xOffset, e.g. one logits row
  xOffset?: number;   // elements
  n: number;          // 1 ..< 2^32 - 1 (vocabularies: ~200k)
  out: GPUBuffer;     // (1) u32 at byte 0
}

export function encodeArgmax(run: KernelRunner, args: ArgmaxArgs): void {
  const xOffset = args.xOffset ?? 0;
  const fail = (what: string, expected: unknown, actual: unknown): never => {
    throw new ShapeMismatchError(`argmax: ${what}: expected ${expected}, got ${actual}`, { op: 'argmax', tensor: what, expected, actual });
  };
  if (!Number.isInteger(args.n) || args.n < 1 || args.n >= argmaxNone) fail('n', 'an integer in [1, 2^32 - 1)', args.n);
  if (args.x.size < (xOffset + args.n) * 4) fail('x bytes', `>= ${(xOffset + args.n) * 4}`, args.x.size);
  if (args.out.size < 4) fail('out bytes', '>= 4', args.out.size);
  if (args.out === args.x) fail('out', 'a buffer other than x', 'the same buffer');
  run.dispatch({
    key: `argmax.f32.wg${wgSize}`, source, constants: { WG_SIZE: wgSize },
    params: argmaxKernel.params.pack({ n: args.n, x_offset: xOffset }),
    buffers: [args.x, args.out],
    workgroups: [1],
  });
}
