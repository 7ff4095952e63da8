/**
 * Rotary position embedding in place on (rows, heads, headDim) vectors, row r at absolute position
 * startPos + r. 'half' = Hugging Face rotate_half, 'interleaved' = GGUF LLAMA_ROPE_TYPE_NORM.
 * Angles are f32(pos) * invFreq[i]; cos/sin come from shaders/lib/trig.wgsl (exact range reduction
 * and polynomials, ~1e-7 absolute) rather than the GPU builtins (only 2^-11 promised).
 */
import source from '../../shaders/kernels/rope.wgsl?raw';
import { defineParams } from '../gpu/params';
import { gridFor, type KernelRunner } from '../gpu/runner';
import { ArgCheck } from './check';

export const ropeKernel = {
  source,
  params: defineParams([
    ['rows', 'u32'],
    ['heads', 'u32'],
    ['head_dim', 'u32'],
    ['row_stride', 'u32'],
    ['offset', 'u32'],
    ['start_pos', 'u32'],
    ['rot_dim', 'u32'],
    ['scale', 'f32'],
  ] as const),
};

const wgSize = 256;

export type RopeStyle = 'half' | 'interleaved';

export interface RopeArgs {
  x: GPUBuffer; // (rows, rowStride) f32 at offset, rotated in place
  offset?: number; // elements, to row 0 head 0
  rows: number;
  heads: number;
  headDim: number; // even
  rowStride?: number; // elements between rows; default heads * headDim
  startPos: number; // absolute position of row 0
  invFreq: GPUBuffer; // (rotaryDim/2) f32, see ropeInvFreqBuffer
  style: RopeStyle;
  /** Leading elements of each head that rotate (Phi-3's partial rotary); even, default headDim. */
  rotaryDim?: number;
  /** cos and sin are multiplied by it (LongRoPE's attention factor); default 1. */
  scale?: number;
}

/** Uploads per-pair inverse frequencies (headDim/2 f32) to a storage buffer, once at load. */
export function ropeInvFreqBuffer(device: GPUDevice, invFreq: Float32Array): GPUBuffer {
  const buf = device.createBuffer({
    label: 'rope.inv_freq',
    size: Math.max(16, Math.ceil(invFreq.byteLength / 16) * 16),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(buf, 0, Float32Array.from(invFreq));
  return buf;
}

export function encodeRope(run: KernelRunner, args: RopeArgs): void {
  const offset = args.offset ?? 0;
  const rowStride = args.rowStride ?? args.heads * args.headDim;
  const rotaryDim = args.rotaryDim ?? args.headDim;
  validate(args, offset, rowStride, rotaryDim);
  const pairs = args.rows * args.heads * (rotaryDim / 2);
  run.dispatch({
    key: `rope.${args.style}.f32.wg${wgSize}`,
    source,
    constants: { WG_SIZE: wgSize },
    defines: args.style === 'interleaved' ? ['INTERLEAVED'] : [],
    params: ropeKernel.params.pack({
      rows: args.rows,
      heads: args.heads,
      head_dim: args.headDim,
      row_stride: rowStride,
      offset,
      start_pos: args.startPos,
      rot_dim: rotaryDim,
      scale: args.scale ?? 1,
    }),
    buffers: [args.x, args.invFreq],
    workgroups: gridFor(Math.ceil(pairs / wgSize), run.maxWorkgroupsPerDimension),
  });
}

function validate(a: RopeArgs, offset: number, rowStride: number, rotaryDim: number): void {
  const c = new ArgCheck('rope')
    .positive({ rows: a.rows, heads: a.heads, headDim: a.headDim })
    .that(a.headDim % 2 === 0, 'headDim', 'an even integer >= 2', a.headDim)
    .that(
      Number.isInteger(rotaryDim) && rotaryDim >= 2 && rotaryDim % 2 === 0 && rotaryDim <= a.headDim,
      'rotaryDim',
      `an even integer in [2, headDim = ${a.headDim}]`,
      rotaryDim,
    )
    .that(Number.isFinite(a.scale ?? 1), 'scale', 'a finite number', a.scale)
    .offsets({ startPos: a.startPos, offset })
    .that(a.startPos + a.rows <= 2 ** 24, 'startPos', 'an integer with startPos + rows <= 2^24 (exact in f32)', a.startPos)
    .that(a.style === 'half' || a.style === 'interleaved', 'style', "'half' or 'interleaved'", a.style)
    .that(
      Number.isInteger(rowStride) && rowStride >= a.heads * a.headDim,
      'rowStride',
      `>= heads*headDim = ${a.heads * a.headDim}`,
      rowStride,
    );
  c.fits('x', a.x, offset + (a.rows - 1) * rowStride + a.heads * a.headDim).fits('invFreq', a.invFreq, rotaryDim / 2);
}
