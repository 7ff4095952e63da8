/** SwiGLU activation: out = silu(gate) * up over n elements (gate and up may share a buffer). */
import source from '../../shaders/kernels/silu_mul.wgsl?raw';
import { defineParams } from '../gpu/params';
import { gridFor, type KernelRunner } from '../gpu/runner';
import { ShapeMismatchError } from '../util/errors';

export const siluMulKernel = {
  source,
  params: defineParams([['n', 'u32'], ['gate_offset', 'u32'], ['up_offset', 'u32'], ['out_offset', 'u32']] as const),
};

const wgSize = 256;

export interface SiluMulArgs {
  gate: GPUBuffer;      // (n) f32 at gateOffset
  up: GPUBuffer;        // (n) f32 at upOffset; may be the gate buffer
  out: GPUBuffer;       // (n) f32 at outOffset; a different buffer from gate and up
  n: number;
  gateOffset?: number;  // elements
  upOffset?: number;    // elements
  outOffset?: number;   // elements
}

export function encodeSiluMul(run: KernelRunner, args: SiluMulArgs): void {
  const gateOffset = args.gateOffset ?? 0, upOffset = args.upOffset ?? 0, outOffset = args.outOffset ?? 0;
  validate(args, gateOffset, upOffset, outOffset);
  run.dispatch({
    key: `silu_mul.f32.wg${wgSize}`, source, constants: { WG_SIZE: wgSize },
    params: siluMulKernel.params.pack({ n: args.n, gate_offset: gateOffset, up_offset: upOffset, out_offset: outOffset }),
    buffers: [args.gate, args.up, args.out],
    workgroups: gridFor(Math.ceil(args.n / wgSize), run.maxWorkgroupsPerDimension),
  });
}

function validate(a: SiluMulArgs, gateOffset: number, upOffset: number, outOffset: number): void {
  const fail = (what: string, expected: unknown, actual: unknown): never => {
    throw new ShapeMismatchError(`silu_mul: ${what}: expected ${expected}, got ${actual}`, { op: 'silu_mul', tensor: what, expected, actual });
  };
  if (!Number.isInteger(a.n) || a.n < 1) fail('n', 'an integer >= 1', a.n);
  if (a.gate.size < (gateOffset + a.n) * 4) fail('gate bytes', `>= ${(gateOffset + a.n) * 4}`, a.gate.size);
  if (a.up.size < (upOffset + a.n) * 4) fail('up bytes', `>= ${(upOffset + a.n) * 4}`, a.up.size);
  if (a.out.size < (outOffset + a.n) * 4) fail('out bytes', `>= ${(outOffset + a.n) * 4}`, a.out.size);
  if (a.out === a.gate || a.out === a.up) fail('out', 'a buffer other than gate and up (WebGPU forbids writable aliasing)', 'the same buffer');
}
