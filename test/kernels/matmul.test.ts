import { beforeAll, describe, expect, test } from 'vitest';
import type { KernelRunner } from '../../src/gpu/runner';
import { encodeMatmul, type MatmulPath } from '../../src/kernels/matmul';
import { createGpuMatrix, writeMatrixRows, type GpuMatrix } from '../../src/kernels/matrix';
import { ShapeMismatchError } from '../../src/util/errors';
import { expectClose, tol } from '../helpers/expect-close';
import { poisonF32, randomF32, readF32, runStep, testRunner, uploadF32 } from '../helpers/gpu';
import { matmulRef, weightBytes } from '../reference/matmul';

let run: KernelRunner;
beforeAll(async () => {
  run = await testRunner();
});

type Dtype = 'f32' | 'f16';

function makeMatrix(values: Float32Array, n: number, k: number, dtype: Dtype, maxPartBytes?: number) {
  const { bytes, stored } = weightBytes(values, dtype);
  const w = createGpuMatrix(run.device, { rows: n, cols: k, dtype, label: `w_${n}x${k}`, maxPartBytes });
  writeMatrixRows(run.device, w, 0, bytes);
  return { w, stored };
}

interface Case {
  m: number;
  n: number;
  k: number;
  dtype: Dtype;
  path?: MatmulPath;
  bias?: boolean;
  accumulate?: boolean;
  xOffset?: number;
  yOffset?: number;
  yStride?: number;
  maxPartBytes?: number;
  seed: number;
}

/** Runs one case; returns the written outputs and the f64 references (stored and unrounded weights). */
async function runCase(c: Case, matrix?: { w: GpuMatrix; stored: Float32Array; values: Float32Array }) {
  const { m, n, k } = c;
  const xOffset = c.xOffset ?? 0,
    yOffset = c.yOffset ?? 0,
    yStride = c.yStride ?? n;
  const x = randomF32(xOffset + m * k, c.seed);
  const values = matrix?.values ?? randomF32(n * k, c.seed + 1);
  const { w, stored } = matrix ?? makeMatrix(values, n, k, c.dtype, c.maxPartBytes);
  const bias = c.bias ? randomF32(n, c.seed + 2) : undefined;
  const ySize = yOffset + (m - 1) * yStride + n + 3;
  const y0 = c.accumulate ? randomF32(ySize, c.seed + 3) : new Float32Array(ySize).fill(NaN);
  const gy = c.accumulate ? uploadF32(run.device, y0) : poisonF32(run.device, ySize);
  await runStep(run, (r) =>
    encodeMatmul(r, {
      x: uploadF32(run.device, x),
      xOffset,
      w,
      bias: bias && uploadF32(run.device, bias),
      y: gy,
      yOffset,
      yStride,
      m,
      accumulate: c.accumulate,
      path: c.path,
    }),
  );
  const out = await readF32(run.device, gy, ySize);
  const xs = x.subarray(xOffset);
  const refStored = matmulRef(xs, stored, m, n, k, bias);
  const refExact = matmulRef(xs, values, m, n, k, bias);
  const got = new Float32Array(m * n);
  const written = new Set<number>();
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const at = yOffset + i * yStride + j;
      written.add(at);
      got[i * n + j] = out[at];
      if (c.accumulate) {
        refStored[i * n + j] += y0[at];
        refExact[i * n + j] += y0[at];
      }
    }
  }
  const untouched = out.filter((v, i) => !written.has(i) && !Object.is(v, y0[i])).length;
  return { got, refStored, refExact, untouched };
}

async function check(c: Case): Promise<void> {
  const { got, refStored, refExact, untouched } = await runCase(c);
  expectClose(got, refStored, { ...tol.f32Reduction, label: 'vs stored weights' });
  if (c.dtype === 'f16') expectClose(got, refExact, { ...tol.f16, label: 'vs unrounded weights' });
  expect(untouched, 'elements outside the output rows changed').toBe(0);
}

const ms = [1, 2, 3, 7, 20, 33];
const ns = [1, 5, 64, 129, 300];
const ks: Record<Dtype, number[]> = { f32: [1, 3, 64, 97, 130], f16: [2, 6, 64, 98, 130] };

describe('matmul sweep', () => {
  for (const dtype of ['f32', 'f16'] as const) {
    for (const path of ['gemv', 'gemv_rows', 'tiled', 'shared'] as const) {
      ms.forEach((m, mi) =>
        ks[dtype].forEach((k, ki) => {
          const n = ns[(mi + ki) % ns.length];
          const bias = (mi + ki) % 2 === 0;
          const accumulate = (mi + 2 * ki) % 3 === 0;
          test(`${dtype} ${path} m=${m} n=${n} k=${k}${bias ? ' bias' : ''}${accumulate ? ' accumulate' : ''}`, () =>
            check({ m, n, k, dtype, path, bias, accumulate, seed: 1000 * mi + 10 * ki + (dtype === 'f16' ? 7 : 0) }));
        }),
      );
    }
  }
});

describe('shared-memory tiled matmul (prefill on GPUs)', () => {
  for (const dtype of ['f32', 'f16'] as const) {
    test(`${dtype} several 64 × 64 tiles with ragged edges and k past one step: 130 × 129 × 98, bias, accumulate`, () =>
      check({ m: 130, n: 129, k: 98, dtype, path: 'shared', bias: true, accumulate: true, seed: 77 }));
  }
});

describe('matmul layout', () => {
  for (const dtype of ['f32', 'f16'] as const) {
    test(`${dtype} default path choice for m=1 and m=33`, async () => {
      await check({ m: 1, n: 129, k: 130, dtype, bias: true, seed: 11 });
      await check({ m: 33, n: 129, k: 130, dtype, bias: true, seed: 12 });
    });
    for (const path of ['gemv', 'gemv_rows', 'tiled', 'shared'] as const) {
      test(`${dtype} ${path} offsets and yStride leave other elements alone`, () =>
        check({ m: 3, n: 64, k: 98, dtype, path, bias: true, accumulate: true, xOffset: 5, yOffset: 3, yStride: 70, seed: 21 }));
      test(`${dtype} ${path} matrix split into 3 parts`, async () => {
        const k = 66,
          rowBytes = k * (dtype === 'f32' ? 4 : 2);
        const n = 50,
          maxPartBytes = 17 * rowBytes + 2; // 17 + 17 + 16 rows
        const values = randomF32(n * k, 31);
        const { w, stored } = makeMatrix(values, n, k, dtype, maxPartBytes);
        expect(w.parts.map((p) => [p.rowStart, p.rows])).toEqual([
          [0, 17],
          [17, 17],
          [34, 16],
        ]);
        for (const accumulate of [false, true]) {
          const { got, refStored } = await runCase(
            { m: 5, n, k, dtype, path, bias: true, accumulate, yStride: 53, seed: 32 },
            { w, stored, values },
          );
          expectClose(got, refStored, tol.f32Reduction);
        }
      });
    }
  }
  test('fixed debug case: 2x3 · (2x3)ᵀ + bias', async () => {
    const w = createGpuMatrix(run.device, { rows: 2, cols: 3, dtype: 'f32', label: 'debug' });
    writeMatrixRows(run.device, w, 0, new Float32Array([1, 2, 3, -1, 0, 0.5]));
    const y = poisonF32(run.device, 4);
    await runStep(run, (r) =>
      encodeMatmul(r, {
        x: uploadF32(run.device, [1, 1, 1, 2, 0, -2]),
        w,
        bias: uploadF32(run.device, [10, 20]),
        y,
        m: 2,
      }),
    );
    expect([...(await readF32(run.device, y, 4))]).toEqual([16, 19.5, 6, 17]);
  });
});

describe('matrix parts and writes', () => {
  for (const dtype of ['f32', 'f16'] as const) {
    test(`${dtype} writeMatrixRows with chunks straddling parts and rows`, async () => {
      const n = 23,
        k = 10,
        values = randomF32(n * k, 41);
      const { bytes, stored } = weightBytes(values, dtype);
      const rowBytes = bytes.byteLength / n;
      const w = createGpuMatrix(run.device, { rows: n, cols: k, dtype, label: 'chunks', maxPartBytes: 8 * rowBytes + 4 });
      expect(w.parts.length).toBe(3);
      for (let at = 0; at < bytes.byteLength; at += 28) {
        // 28 bytes: never a whole row, often across parts
        writeMatrixRows(run.device, w, at, bytes.subarray(at, Math.min(at + 28, bytes.byteLength)));
      }
      const y = poisonF32(run.device, n);
      const x = new Float32Array(k).fill(0);
      x[3] = 1; // y = column 3 of w
      await runStep(run, (r) => encodeMatmul(r, { x: uploadF32(run.device, x), w, y, m: 1 }));
      expectClose(
        await readF32(run.device, y, n),
        Array.from({ length: n }, (_, j) => stored[j * k + 3]),
        tol.f32Elementwise,
      );
    });
  }
  test('rejects bad shapes and unaligned writes with named errors', () => {
    const w = createGpuMatrix(run.device, { rows: 4, cols: 6, dtype: 'f16', label: 'bad' });
    expect(() => createGpuMatrix(run.device, { rows: 4, cols: 5, dtype: 'f16', label: 'odd' })).toThrow(ShapeMismatchError);
    expect(() => writeMatrixRows(run.device, w, 2, new Uint8Array(4))).toThrow(ShapeMismatchError);
    expect(() => writeMatrixRows(run.device, w, 48, new Uint8Array(4))).toThrow(ShapeMismatchError);
    const x = poisonF32(run.device, 6),
      y = poisonF32(run.device, 4);
    run.begin('bad');
    try {
      expect(() => encodeMatmul(run, { x, w, y, m: 2 })).toThrow(ShapeMismatchError); // x holds one row
      expect(() => encodeMatmul(run, { x, w, y, m: 1, yStride: 3 })).toThrow(ShapeMismatchError);
    } finally {
      run.abandon();
    }
  });
});
