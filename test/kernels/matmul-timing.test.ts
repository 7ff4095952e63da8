/**
 * Rough timings (console.log, not assertions) of the decode GEMV and the prefill matmul at a
 * SmolLM-sized width; each run's output is still checked against the float64 reference.
 * SwiftShader numbers say nothing about a real GPU (shared/docs/environment.md).
 */
import { beforeAll, describe, test } from 'vitest';
import type { KernelRunner } from '../../src/gpu/runner';
import { isCpuAdapter } from '../../src/gpu/device';
import { encodeMatmul, type MatmulPath } from '../../src/kernels/matmul';
import { createGpuMatrix, writeMatrixRows } from '../../src/kernels/matrix';
import { expectClose, tol } from '../helpers/expect-close';
import { poisonF32, randomF32, readF32, runStep, testRunner, uploadF32 } from '../helpers/gpu';
import { matmulRef, weightBytes } from '../reference/matmul';
import { dequantize, randomBlocks, type QuantFormat } from '../reference/quant';

let run: KernelRunner;
beforeAll(async () => {
  run = await testRunner();
});

async function timeMatmul(m: number, n: number, k: number, dtype: 'f32' | 'f16' | QuantFormat, path: MatmulPath, reps: number) {
  const x = randomF32(m * k, 6);
  const { bytes, stored } =
    dtype === 'f32' || dtype === 'f16'
      ? weightBytes(randomF32(n * k, 5), dtype)
      : (() => {
          const b = randomBlocks(dtype, n * k, 5);
          return { bytes: b, stored: dequantize(dtype, b, n * k) };
        })();
  const w = createGpuMatrix(run.device, { rows: n, cols: k, dtype, label: 'bench_w' });
  writeMatrixRows(run.device, w, 0, bytes);
  const gx = uploadF32(run.device, x),
    y = poisonF32(run.device, m * n);
  const step = () =>
    runStep(run, (r) => {
      for (let i = 0; i < reps; i++) encodeMatmul(r, { x: gx, w, y, m, path });
    });
  await step(); // compile and warm up
  let ms = Infinity;
  for (let trial = 0; trial < 3; trial++) {
    // best of 3: other processes share the CPU
    const t0 = performance.now();
    await step();
    ms = Math.min(ms, (performance.now() - t0) / reps);
  }
  expectClose(await readF32(run.device, y, m * n), matmulRef(x, stored, m, n, k), tol.f32Reduction);
  const gbs = bytes.byteLength / 1e6 / ms;
  console.log(
    `matmul ${path} ${dtype}w m=${m} n=${n} k=${k}: ${ms.toFixed(3)} ms/dispatch` +
      (m === 1 ? `, ${gbs.toFixed(2)} GB/s of weights` : `, ${((2 * m * n * k) / 1e6 / ms).toFixed(2)} GFLOP/s`),
  );
}

describe('matmul timing (SwiftShader, informational)', () => {
  test('adapter', () => {
    console.log(`CPU adapter (gemv_rows by default): ${isCpuAdapter(run.device)}`);
  });
  for (const dtype of ['f32', 'f16'] as const) {
    for (const path of ['gemv', 'gemv_rows', 'tiled'] as const) {
      test(`${dtype} ${path} 1x576x576`, () => timeMatmul(1, 576, 576, dtype, path, 20));
    }
    for (const path of ['gemv_rows', 'tiled'] as const) {
      test(`${dtype} ${path} 4x576x576`, () => timeMatmul(4, 576, 576, dtype, path, 10));
    }
    test(`${dtype} tiled 128x576x576`, () => timeMatmul(128, 576, 576, dtype, 'tiled', 3));
  }
  for (const dtype of ['f32', 'q4_0', 'q4_k'] as const) {
    test(`${dtype} gemv_rows 1x2048x1024`, () => timeMatmul(1, 2048, 1024, dtype, 'gemv_rows', 4));
  }
  test('q4_0 tiled 16x768x768', () => timeMatmul(16, 768, 768, 'q4_0', 'tiled', 2));
});
