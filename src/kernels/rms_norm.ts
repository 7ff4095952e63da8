/** RMSNorm per row (Llama): y = x / sqrt(mean(x²) + eps) * weight. In place when x === y. */
import source from '../../shaders/kernels/rms_norm.wgsl?raw';
import { defineParams } from '../gpu/params';
import { gridFor, type KernelRunner } from '../gpu/runner';
import { AdapterLimitError, ShapeMismatchError } from '../util/errors';

export const rmsNormKernel = {
  source,
  params: defineParams([['rows', 'u32'], ['cols', 'u32'], ['x_offset', 'u32'], ['y_offset', 'u32'], ['eps', 'f32']] as const),
};

const wgSize = 256;
/** Largest row the kernel is specified for (hidden sizes of the models we run). */
export const rmsNormMaxCols = 8192;

export interface RmsNormArgs {
  x: GPUBuffer;       // (rows, cols) f32 at xOffset
  xOffset?: number;   // elements
  weight: GPUBuffer;  // (cols) f32
  y: GPUBuffer;       // (rows, cols) f32 at yOffset; may be x (in place)
  yOffset?: number;   // elements
  rows: number;
  cols: number;
  eps: number;
  /** Use the subgroup reduction; default: when the device has the `subgroups` feature. */
  subgroups?: boolean;
}

export function rmsNormKey(inPlace: boolean, subgroups: boolean): string {
  return `rms_norm.f32${inPlace ? '.inplace' : ''}${subgroups ? '.subgroups' : ''}.wg${wgSize}`;
}

export function encodeRmsNorm(run: KernelRunner, args: RmsNormArgs): void {
  const { x, weight, y, rows, cols, eps } = args;
  const xOffset = args.xOffset ?? 0, yOffset = args.yOffset ?? 0;
  validate(args, xOffset, yOffset);
  const inPlace = x === y;
  const subgroups = args.subgroups ?? run.device.features.has('subgroups');
  if (subgroups && !run.device.features.has('subgroups')) {
    throw new AdapterLimitError('rms_norm: subgroups requested but the device lacks the `subgroups` feature', { op: 'rms_norm', feature: 'subgroups' });
  }
  const defines = [...(inPlace ? ['IN_PLACE'] : []), ...(subgroups ? ['SUBGROUPS'] : [])];
  run.dispatch({
    key: rmsNormKey(inPlace, subgroups), source, defines, constants: { WG_SIZE: wgSize },
    params: rmsNormKernel.params.pack({ rows, cols, x_offset: xOffset, y_offset: yOffset, eps }),
    buffers: inPlace ? [x, weight] : [x, weight, y],
    workgroups: gridFor(rows, run.maxWorkgroupsPerDimension),
  });
}

function validate(a: RmsNormArgs, xOffset: number, yOffset: number): void {
  const fail = (what: string, expected: unknown, actual: unknown): never => {
    throw new ShapeMismatchError(`rms_norm: ${what}: expected ${expected}, got ${actual}`, { op: 'rms_norm', tensor: what, expected, actual });
  };
  if (!Number.isInteger(a.rows) || a.rows < 1) fail('rows', 'an integer >= 1', a.rows);
  if (!Number.isInteger(a.cols) || a.cols < 1 || a.cols > rmsNormMaxCols) fail('cols', `an integer in [1, ${rmsNormMaxCols}]`, a.cols);
  if (!(a.eps >= 0)) fail('eps', 'a number >= 0', a.eps);
  const n = a.rows * a.cols;
  if (a.x.size < (xOffset + n) * 4) fail('x bytes', `>= ${(xOffset + n) * 4}`, a.x.size);
  if (a.y.size < (yOffset + n) * 4) fail('y bytes', `>= ${(yOffset + n) * 4}`, a.y.size);
  if (a.weight.size < a.cols * 4) fail('weight bytes', `>= ${a.cols * 4}`, a.weight.size);
  if (a.x === a.y && xOffset !== yOffset && Math.abs(xOffset - yOffset) < n) {
    fail('y range', 'equal to x range or disjoint from it (in place)', `xOffset ${xOffset}, yOffset ${yOffset}, ${n} elements`);
  }
}
