/**
 * RMSNorm per row (Llama): y = x / sqrt(mean(x²) + eps) * (weight + weightOffset). In place when
 * x === y; with `accumulate`, added onto y (Gemma's post-attention and post-feedforward norms).
 */
import source from '../../shaders/kernels/rms_norm.wgsl?raw';
import { defineParams } from '../gpu/params';
import { gridFor, type KernelRunner } from '../gpu/runner';
import { AdapterLimitError } from '../util/errors';
import { ArgCheck } from './check';

export const rmsNormKernel = {
  source,
  params: defineParams([
    ['rows', 'u32'],
    ['cols', 'u32'],
    ['x_offset', 'u32'],
    ['y_offset', 'u32'],
    ['eps', 'f32'],
    ['weight_offset', 'f32'],
  ] as const),
};

const wgSize = 256;
/** Largest row the kernel is specified for (hidden sizes of the models we run). */
export const rmsNormMaxCols = 8192;

export interface RmsNormArgs {
  x: GPUBuffer; // (rows, cols) f32 at xOffset
  xOffset?: number; // elements
  weight: GPUBuffer; // (cols) f32
  y: GPUBuffer; // (rows, cols) f32 at yOffset; may be x (in place)
  yOffset?: number; // elements
  rows: number;
  cols: number;
  eps: number;
  /** Added to every weight (Gemma's RMSNorm scales by 1 + w); default 0. */
  weightOffset?: number;
  /** y += the normed rows instead of y = (y must not be x). */
  accumulate?: boolean;
  /** Use the subgroup reduction; default: when the device has the `subgroups` feature. */
  subgroups?: boolean;
}

export function rmsNormKey(inPlace: boolean, subgroups: boolean, accumulate = false): string {
  return `rms_norm.f32${inPlace ? '.inplace' : ''}${accumulate ? '.accumulate' : ''}${subgroups ? '.subgroups' : ''}.wg${wgSize}`;
}

export function encodeRmsNorm(run: KernelRunner, args: RmsNormArgs): void {
  const { x, weight, y, rows, cols, eps } = args;
  const xOffset = args.xOffset ?? 0,
    yOffset = args.yOffset ?? 0;
  validate(args, xOffset, yOffset);
  const inPlace = x === y;
  const subgroups = args.subgroups ?? run.device.features.has('subgroups');
  if (subgroups && !run.device.features.has('subgroups')) {
    throw new AdapterLimitError('rms_norm: subgroups requested but the device lacks the `subgroups` feature', {
      op: 'rms_norm',
      feature: 'subgroups',
    });
  }
  const accumulate = args.accumulate ?? false;
  const defines = [...(inPlace ? ['IN_PLACE'] : []), ...(accumulate ? ['ACCUMULATE'] : []), ...(subgroups ? ['SUBGROUPS'] : [])];
  run.dispatch({
    key: rmsNormKey(inPlace, subgroups, accumulate),
    source,
    defines,
    constants: { WG_SIZE: wgSize },
    params: rmsNormKernel.params.pack({ rows, cols, x_offset: xOffset, y_offset: yOffset, eps, weight_offset: args.weightOffset ?? 0 }),
    buffers: inPlace ? [x, weight] : [x, weight, y],
    workgroups: gridFor(rows, run.maxWorkgroupsPerDimension),
  });
}

function validate(a: RmsNormArgs, xOffset: number, yOffset: number): void {
  const c = new ArgCheck('rms_norm')
    .positive({ rows: a.rows, cols: a.cols })
    .that(a.cols <= rmsNormMaxCols, 'cols', `an integer in [1, ${rmsNormMaxCols}]`, a.cols)
    .that(a.eps >= 0, 'eps', 'a number >= 0', a.eps)
    .that(Number.isFinite(a.weightOffset ?? 0), 'weightOffset', 'a finite number', a.weightOffset)
    .that(!(a.accumulate && a.x === a.y), 'accumulate', 'y distinct from x', 'y === x')
    .offsets({ xOffset, yOffset });
  const n = a.rows * a.cols;
  c.fits('x', a.x, xOffset + n)
    .fits('y', a.y, yOffset + n)
    .fits('weight', a.weight, a.cols)
    .sameOrDisjoint('y', a.y, yOffset, 'x', a.x, xOffset, n);
}
