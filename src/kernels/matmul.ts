/**
 * Matmul against a weight matrix: Y[i, j] (+)= Σ_k X[i, k]·W[j, k] + bias[j], W (n, k) row-major as
 * in Hugging Face, f32, packed f16 or quantized (q8_0, q4_0, q4_k, q6_k: dequantized in registers,
 * shaders/lib/weights_*.wgsl). One dispatch per row part of W. Small m (decode) takes a
 * GEMV that reads each weight row once per row of x, so at m = 1 (a decode step) each weight byte
 * once: cooperative workgroups on GPUs (matmul_gemv), one output row per invocation on CPU adapters,
 * where barriers are slow (matmul_gemv_rows); larger m (prefill) a shared-memory tiled kernel on
 * GPUs (matmul_shared: each weight read once per 64 rows of x), the barrier-free one on CPU adapters.
 * x and y must be different buffers (WebGPU forbids a read-only and a writable binding of one buffer).
 *
 * The GEMV paths fuse their neighbours (a decode step's dispatches, issue 12): `norm` RMS-normalizes
 * each x row on the way in (the norm's own dispatch disappears), `glu` reads w as [gate; up] and
 * writes act(x·gateᵀ) * (x·upᵀ) (gate, up and the activation in one dispatch); on adapters with
 * `subgroups` the cooperative GEMV reduces with subgroupAdd instead of a shared-memory tree.
 */
import matmulSource from '../../shaders/kernels/matmul.wgsl?raw';
import gemvSource from '../../shaders/kernels/matmul_gemv.wgsl?raw';
import gemvRowsSource from '../../shaders/kernels/matmul_gemv_rows.wgsl?raw';
import sharedSource from '../../shaders/kernels/matmul_shared.wgsl?raw';
import { defineParams } from '../gpu/params';
import { isCpuAdapter } from '../gpu/device';
import { gridFor, type KernelRunner } from '../gpu/runner';
import type { GpuMatrix } from './matrix';
import { AdapterLimitError } from '../util/errors';
import { ArgCheck } from './check';
import { checkCols, isQuantized, weightFormats } from './weight-formats';

const params = defineParams([
  ['m', 'u32'],
  ['n', 'u32'],
  ['k', 'u32'],
  ['x_offset', 'u32'],
  ['y_offset', 'u32'],
  ['y_stride', 'u32'],
  ['bias_offset', 'u32'],
  ['accumulate', 'u32'],
  ['w_rows', 'u32'],
  ['norm_eps', 'f32'],
  ['norm_offset', 'f32'],
] as const);

export const gemvKernel = { source: gemvSource, params };
export const gemvRowsKernel = { source: gemvRowsSource, params };
export const matmulKernel = { source: matmulSource, params };
export const matmulSharedKernel = { source: sharedSource, params };

/** Largest m that takes the GEMV path by default on a GPU. */
export const gemvMaxM = 4;
const gemvRows = 4; // ROWS in matmul_gemv.wgsl
const tiledWgSize = 64;
const tileM = 8,
  tileN = 4; // register tile in matmul.wgsl: TM rows of x by 4 rows of w

export type MatmulPath = 'gemv' | 'gemv_rows' | 'tiled' | 'shared';

/** An RMSNorm fused into a GEMV's input: x rows scaled by 1/rms and by (weight + offset). */
export interface MatmulNorm {
  weight: GPUBuffer; // (k) f32
  eps: number;
  offset: number; // added to each weight (Gemma's 1 + w; else 0)
}

export interface MatmulArgs {
  x: GPUBuffer; // (m, k) f32 activations, row-major
  xOffset?: number; // element offset of x[0, 0]
  w: GpuMatrix; // (n, k) weights in any weight format
  bias?: GPUBuffer; // (n) f32
  y: GPUBuffer; // (m, yStride) f32 output
  yOffset?: number; // element offset of y[0, 0]
  yStride?: number; // elements between output rows (default n)
  m: number;
  accumulate?: boolean; // y += x·wᵀ (+bias) instead of y = x·wᵀ (+bias): fuses the residual add
  biasOffset?: number; // element of bias for w's row 0 (default 0)
  norm?: MatmulNorm; // GEMV paths only: y = rmsnorm(x)·wᵀ
  glu?: 'silu' | 'gelu_tanh'; // GEMV paths only: w is [gate; up] in one part, y (m, rows/2) = act(x·gateᵀ) * (x·upᵀ)
  subgroups?: boolean; // the gemv path's subgroupAdd reduction (default: when the device has `subgroups`)
  path?: MatmulPath; // force a kernel (tests, benchmarks); default by m and adapter
}

function validate(a: MatmulArgs, path: MatmulPath, n: number, k: number, xOffset: number, yOffset: number, yStride: number): void {
  const c = new ArgCheck('matmul');
  if (a.glu) {
    c.that(a.w.parts.length === 1 && a.w.rows % 2 === 0, 'w', 'one part of an even number of rows ([gate; up]) for glu', a.w.parts.length)
      .that(!a.bias, 'bias', 'none with glu', 'a bias')
      .that(a.glu === 'silu' || a.glu === 'gelu_tanh', 'glu', "'silu' or 'gelu_tanh'", a.glu);
  }
  c.positive({ m: a.m }).that(a.w.dtype !== 'f16' || k % 2 === 0, 'w', 'an even k for packed f16 weights', k);
  checkCols(c, 'w', a.w.dtype, k);
  c.that(Number.isInteger(yStride) && yStride >= n, 'yStride', `>= n = ${n}`, yStride)
    .offsets({ xOffset, yOffset })
    .fits('x', a.x, xOffset + a.m * k)
    .fits('y', a.y, yOffset + (a.m - 1) * yStride + n);
  if (a.bias) c.fits('bias', a.bias, (a.biasOffset ?? 0) + n);
  if (a.norm || a.glu) c.that(path === 'gemv' || path === 'gemv_rows', 'path', 'a GEMV path for a fused norm or GLU', path);
  if (a.norm) c.fits('norm', a.norm.weight, k);
  if (a.subgroups) c.that(path === 'gemv', 'subgroups', 'the gemv path', path);
}

function variantKey(
  op: string,
  a: MatmulArgs,
  vec4: boolean,
  xVec4: boolean,
  wg: number,
  subgroups: boolean,
): { key: string; defines: string[] } {
  const defines: string[] = [];
  const format = weightFormats[a.w.dtype].define;
  if (format) defines.push(format);
  if (isQuantized(a.w.dtype)) defines.push('QUANT');
  else if (vec4) defines.push('W_VEC4');
  if (xVec4) defines.push('X_VEC4');
  if (a.bias) defines.push('BIAS');
  if (a.norm) defines.push('NORM');
  if (a.glu) defines.push('GLU', ...(a.glu === 'gelu_tanh' ? ['GELU'] : []));
  if (subgroups) defines.push('SUBGROUPS');
  const wVec4 = vec4 && !isQuantized(a.w.dtype);
  const fused = `${a.norm ? '.norm' : ''}${a.glu ? `.glu_${a.glu}` : ''}${subgroups ? '.subgroups' : ''}`;
  const key = `${op}.${a.w.dtype}w${wVec4 ? '.vec4' : ''}${xVec4 ? '.xvec4' : ''}${a.bias ? '.bias' : ''}${fused}.wg${wg}`;
  return { key, defines };
}

const paths: Record<MatmulPath, { op: string; source: string; wgSize: number; workgroups(m: number, rows: number): number }> = {
  gemv: { op: 'matmul_gemv', source: gemvSource, wgSize: 64, workgroups: (_m, rows) => Math.ceil(rows / gemvRows) },
  gemv_rows: { op: 'matmul_gemv_rows', source: gemvRowsSource, wgSize: 64, workgroups: (_m, rows) => Math.ceil(rows / 64) },
  shared: {
    op: 'matmul_shared',
    source: sharedSource,
    wgSize: 256,
    workgroups: (m, rows) => Math.ceil(m / 64) * Math.ceil(rows / 64),
  },
  tiled: {
    op: 'matmul',
    source: matmulSource,
    wgSize: tiledWgSize,
    workgroups: (m, rows) => Math.ceil((Math.ceil(m / tileM) * Math.ceil(rows / tileN)) / tiledWgSize),
  },
};

export function encodeMatmul(run: KernelRunner, args: MatmulArgs): void {
  const { w, m } = args;
  const n = w.rows,
    k = w.cols;
  const xOffset = args.xOffset ?? 0,
    yOffset = args.yOffset ?? 0,
    outCols = args.glu ? n / 2 : n,
    yStride = args.yStride ?? outCols;
  const path = args.path ?? defaultPath(run.device, m);
  validate(args, path, outCols, k, xOffset, yOffset, yStride);
  const kernel = paths[path];
  const subgroups = path === 'gemv' && (args.subgroups ?? run.device.features.has('subgroups'));
  if (subgroups && !run.device.features.has('subgroups')) {
    throw new AdapterLimitError('matmul: subgroups requested but the device lacks the `subgroups` feature', {
      op: 'matmul',
      feature: 'subgroups',
    });
  }
  const vec4 = k % 4 === 0; // every weight row starts on a 16-byte (f32) / 8-byte (f16) boundary
  const xVec4 = vec4 && xOffset % 4 === 0 && kernel.op === 'matmul'; // x rows on 16-byte boundaries too
  const { key, defines } = variantKey(kernel.op, args, vec4, xVec4, kernel.wgSize, subgroups);
  for (const part of w.parts) {
    const cols = args.glu ? part.rows / 2 : part.rows; // output columns of this part
    const start = args.glu ? 0 : part.rowStart;
    const buffers = [args.x, part.buffer, args.y];
    if (args.bias) buffers.push(args.bias);
    if (args.norm) buffers.push(args.norm.weight);
    run.dispatch({
      key,
      source: kernel.source,
      defines,
      constants: { WG_SIZE: kernel.wgSize },
      params: params.pack({
        m,
        n: cols,
        k,
        x_offset: xOffset,
        y_offset: yOffset + start,
        y_stride: yStride,
        bias_offset: (args.biasOffset ?? 0) + start,
        accumulate: args.accumulate ? 1 : 0,
        w_rows: part.rows,
        norm_eps: args.norm?.eps ?? 0,
        norm_offset: args.norm?.offset ?? 0,
      }),
      buffers,
      workgroups: gridFor(kernel.workgroups(m, cols), run.maxWorkgroupsPerDimension),
    });
  }
}

/** The GEMV kernel `m` rows take by default on this device, or null where the tiled kernel does (no fusions there). */
export function gemvPathFor(device: GPUDevice, m: number): MatmulPath | null {
  const path = defaultPath(device, m);
  return path === 'gemv' || path === 'gemv_rows' ? path : null;
}

/**
 * GPUs: the cooperative GEMV up to gemvMaxM rows. CPU adapters (SwiftShader, where barriers are
 * slow): the barrier-free gemv_rows for m = 1 only (it rereads the weights per row of x: at m = 4
 * it measured 2.5x slower than the tiled kernel in SwiftShader).
 */
function defaultPath(device: GPUDevice, m: number): MatmulPath {
  if (isCpuAdapter(device)) return m === 1 ? 'gemv_rows' : 'tiled';
  return m <= gemvMaxM ? 'gemv' : 'shared';
}
