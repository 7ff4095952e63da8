/**
 * The GEMV fusions of a decode step (issue 12) against float64 references composed of the per-op
 * ones: `norm` (RMSNorm of each x row, then the product), `glu` (act(x·gateᵀ) * (x·upᵀ) over a
 * [gate; up] matrix), both together, and the subgroup reduction, on both GEMV paths and on f32, f16
 * and quantized weights.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import type { KernelRunner } from '../../src/gpu/runner';
import { encodeMatmul, type MatmulPath } from '../../src/kernels/matmul';
import { createGpuMatrix, writeMatrixRows } from '../../src/kernels/matrix';
import { ShapeMismatchError } from '../../src/util/errors';
import { expectClose, tol } from '../helpers/expect-close';
import { poisonF32, randomF32, readF32, runStep, testRunner, uploadF32 } from '../helpers/gpu';
import { matmulRef, weightBytes } from '../reference/matmul';
import { dequantize, randomBlocks } from '../reference/quant';
import { rmsNormRef } from '../reference/rms_norm';
import { gluRef } from '../reference/silu_mul';

let run: KernelRunner;
beforeAll(async () => {
  run = await testRunner();
});

type Dtype = 'f32' | 'f16' | 'q8_0' | 'q4_k';

/** A (n, k) matrix of `dtype` on the GPU and the float64 values it holds. */
function matrix(n: number, k: number, dtype: Dtype, seed: number) {
  const w = createGpuMatrix(run.device, { rows: n, cols: k, dtype, label: `w_${dtype}_${n}x${k}` });
  if (dtype === 'f32' || dtype === 'f16') {
    const { bytes, stored } = weightBytes(randomF32(n * k, seed), dtype);
    writeMatrixRows(run.device, w, 0, bytes);
    return { w, values: Float64Array.from(stored) };
  }
  const bytes = randomBlocks(dtype, n * k, seed);
  writeMatrixRows(run.device, w, 0, bytes);
  return { w, values: dequantize(dtype, bytes, n * k) };
}

interface Case {
  dtype: Dtype;
  path: MatmulPath;
  m: number;
  n: number; // output columns (with glu: rows of gate and of up)
  k: number;
  norm?: boolean;
  normOffset?: number;
  glu?: 'silu' | 'gelu_tanh';
  bias?: boolean;
  accumulate?: boolean;
  subgroups?: boolean;
  seed: number;
}

/** x (m, k) normed per row with weight + offset (float64), or x itself. */
function normedRef(x: Float32Array, nw: Float32Array, offset: number, m: number, k: number, eps: number): Float64Array {
  return rmsNormRef(
    x,
    Array.from(nw, (v) => v + offset),
    m,
    k,
    eps,
  );
}

async function check(c: Case): Promise<void> {
  const { m, n, k } = c;
  const eps = 1e-5,
    offset = c.normOffset ?? 0;
  const rows = c.glu ? 2 * n : n;
  const { w, values } = matrix(rows, k, c.dtype, c.seed + 1);
  const xOffset = 3;
  const x = randomF32(xOffset + m * k, c.seed).map((v) => v * 3);
  const nw = randomF32(k, c.seed + 2);
  const bias = c.bias ? randomF32(n, c.seed + 3) : undefined;
  const ySize = m * n + 2;
  const y0 = c.accumulate ? randomF32(ySize, c.seed + 4) : new Float32Array(ySize).fill(Number.NaN);
  const gy = c.accumulate ? uploadF32(run.device, y0) : poisonF32(run.device, ySize);
  await runStep(run, (r) =>
    encodeMatmul(r, {
      x: uploadF32(run.device, x),
      xOffset,
      w,
      y: gy,
      m,
      path: c.path,
      bias: bias && uploadF32(run.device, bias),
      accumulate: c.accumulate,
      norm: c.norm ? { weight: uploadF32(run.device, nw), eps, offset } : undefined,
      glu: c.glu,
      subgroups: c.subgroups,
    }),
  );
  const got = await readF32(run.device, gy, ySize);
  const xs = x.subarray(xOffset);
  const xin = c.norm ? normedRef(xs, nw, offset, m, k, eps) : Float64Array.from(xs);
  let want: Float64Array;
  if (c.glu) {
    const gate = matmulRef(xin, values.subarray(0, n * k), m, n, k);
    const up = matmulRef(xin, values.subarray(n * k), m, n, k);
    want = gluRef(gate, up, c.glu);
  } else want = matmulRef(xin, values, m, n, k, bias);
  if (c.accumulate) for (let i = 0; i < m * n; i++) want[i] += y0[i];
  expectClose(got.subarray(0, m * n), want, { ...tol.f32Reduction, label: JSON.stringify(c) });
  expect(
    Array.from(got.subarray(m * n)).every((v, i) => Object.is(v, y0[m * n + i])),
    'elements past the output',
  ).toBe(true);
}

describe('fused GEMV: norm, glu, subgroups', () => {
  const paths: { path: MatmulPath; subgroups?: boolean }[] = [
    { path: 'gemv_rows' },
    { path: 'gemv', subgroups: false },
    { path: 'gemv', subgroups: true },
  ];
  for (const { path, subgroups } of paths) {
    const tag = `${path}${subgroups ? '+subgroups' : ''}`;
    for (const dtype of ['f32', 'f16', 'q8_0', 'q4_k'] as const) {
      const k = dtype === 'q4_k' ? 256 : dtype === 'q8_0' ? 96 : dtype === 'f16' ? 98 : 97;
      test(`${tag} ${dtype}: norm, glu silu, glu gelu_tanh + norm (Gemma offset), m = 1 and 3`, async () => {
        if (subgroups && !run.device.features.has('subgroups')) return expect(subgroups).toBe(true); // SwiftShader has them
        for (const m of [1, 3]) {
          await check({ dtype, path, subgroups, m, n: 13, k, norm: true, seed: 10 + m });
          await check({ dtype, path, subgroups, m, n: 9, k, glu: 'silu', seed: 20 + m });
          await check({ dtype, path, subgroups, m, n: 6, k, glu: 'gelu_tanh', norm: true, normOffset: 1, seed: 30 + m });
        }
      });
    }
    test(`${tag} f32: norm with bias and with accumulate; plain with subgroups or not`, async () => {
      await check({ dtype: 'f32', path, subgroups, m: 2, n: 70, k: 64, norm: true, bias: true, seed: 40 });
      await check({ dtype: 'f32', path, subgroups, m: 1, n: 5, k: 130, norm: true, accumulate: true, seed: 41 });
      await check({ dtype: 'f32', path, subgroups, m: 2, n: 67, k: 33, bias: true, accumulate: true, seed: 42 });
    });
  }

  test('refuses a fusion on the tiled path, glu with a bias, and glu over an odd or split matrix', async () => {
    const { w } = matrix(6, 8, 'f32', 1);
    const x = uploadF32(run.device, randomF32(8, 2)),
      y = poisonF32(run.device, 8);
    const nw = uploadF32(run.device, randomF32(8, 3));
    const norm = { weight: nw, eps: 1e-5, offset: 0 };
    run.begin();
    try {
      expect(() => encodeMatmul(run, { x, w, y, m: 1, path: 'tiled', norm })).toThrow(ShapeMismatchError);
      expect(() => encodeMatmul(run, { x, w, y, m: 1, path: 'gemv', glu: 'silu', bias: nw })).toThrow(/none with glu/);
      const { w: odd } = matrix(5, 8, 'f32', 4);
      expect(() => encodeMatmul(run, { x, w: odd, y, m: 1, path: 'gemv', glu: 'silu' })).toThrow(/even number of rows/);
      const split = createGpuMatrix(run.device, { rows: 8, cols: 8, dtype: 'f32', label: 'split', maxPartBytes: 4 * 8 * 4 });
      expect(() => encodeMatmul(run, { x, w: split, y, m: 1, path: 'gemv_rows', glu: 'silu' })).toThrow(/one part/);
    } finally {
      run.abandon();
    }
  });
});
