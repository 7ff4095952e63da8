/** Soft-capping in place: x = cap · tanh(x / cap) over n elements (Gemma 2's final logits). */
import source from '../../shaders/kernels/softcap.wgsl?raw';
import { defineParams } from '../gpu/params';
import { gridFor, type KernelRunner } from '../gpu/runner';
import { ArgCheck } from './check';

export const softcapKernel = {
  source,
  params: defineParams([
    ['n', 'u32'],
    ['offset', 'u32'],
    ['cap', 'f32'],
  ] as const),
};

const wgSize = 256;

export interface SoftcapArgs {
  x: GPUBuffer; // (n) f32 at offset, capped in place
  offset?: number; // elements
  n: number;
  cap: number; // > 0
}

export function encodeSoftcap(run: KernelRunner, args: SoftcapArgs): void {
  const offset = args.offset ?? 0;
  new ArgCheck('softcap')
    .positive({ n: args.n })
    .offsets({ offset })
    .that(Number.isFinite(args.cap) && args.cap > 0, 'cap', 'a finite number > 0', args.cap)
    .fits('x', args.x, offset + args.n);
  run.dispatch({
    key: `softcap.f32.wg${wgSize}`,
    source,
    constants: { WG_SIZE: wgSize },
    params: softcapKernel.params.pack({ n: args.n, offset, cap: args.cap }),
    buffers: [args.x],
    workgroups: gridFor(Math.ceil(args.n / wgSize), run.maxWorkgroupsPerDimension),
  });
}
