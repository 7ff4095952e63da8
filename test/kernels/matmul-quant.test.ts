/**
 * Matmul and GEMV on quantized weights (q8_0, q4_0, q4_k, q6_k) against the float64 reference:
 * dequantize the same ggml blocks on the CPU (test/reference/quant.ts), then matmulRef. Blocks are
 * random bytes with sane scales, so every bit pattern of the quants is exercised.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import type { KernelRunner } from '../../src/gpu/runner';
import { encodeMatmul, type MatmulPath } from '../../src/kernels/matmul';
import { createGpuMatrix, matrixGpuBytes, writeMatrixRows, type GpuMatrix } from '../../src/kernels/matrix';
import { ShapeMismatchError } from '../../src/util/errors';
import { expectClose, tol } from '../helpers/expect-close';
import { poisonF32, randomF32, readF32, runStep, testRunner, uploadF32 } from '../helpers/gpu';
import { matmulRef } from '../reference/matmul';
import { blockOf, dequantize, randomBlocks, type QuantFormat } from '../reference/quant';

let run: KernelRunner;
beforeAll(async () => {
  run = await testRunner();
});

interface Case {
  format: QuantFormat;
  m: number;
  n: number;
  k: number;
  path?: MatmulPath;
  bias?: boolean;
  accumulate?: boolean;
  maxPartBytes?: number;
  chunkBlocks?: number;
  xOffset?: number;
  yStride?: number;
  seed: number;
}

function makeMatrix(c: Case): { w: GpuMatrix; values: Float64Array } {
  const { format, n, k } = c;
  const bytes = randomBlocks(format, n * k, c.seed + 1);
  const w = createGpuMatrix(run.device, { rows: n, cols: k, dtype: format, label: `w_${format}_${n}x${k}`, maxPartBytes: c.maxPartBytes });
  const step = (c.chunkBlocks ?? bytes.length) * blockOf[format].bytes; // streamed in chunks, as a loader does
  for (let at = 0; at < bytes.length; at += step) writeMatrixRows(run.device, w, at, bytes.subarray(at, Math.min(at + step, bytes.length)));
  return { w, values: dequantize(format, bytes, n * k) };
}

async function check(c: Case): Promise<GpuMatrix> {
  const { m, n, k } = c;
  const xOffset = c.xOffset ?? 0,
    yStride = c.yStride ?? n;
  const x = randomF32(xOffset + m * k, c.seed);
  const { w, values } = makeMatrix(c);
  const bias = c.bias ? randomF32(n, c.seed + 2) : undefined;
  const ySize = (m - 1) * yStride + n + 3;
  const y0 = c.accumulate ? randomF32(ySize, c.seed + 3) : new Float32Array(ySize).fill(NaN);
  const gy = c.accumulate ? uploadF32(run.device, y0) : poisonF32(run.device, ySize);
  await runStep(run, (r) =>
    encodeMatmul(r, {
      x: uploadF32(run.device, x),
      xOffset,
      w,
      bias: bias && uploadF32(run.device, bias),
      y: gy,
      yStride,
      m,
      accumulate: c.accumulate,
      path: c.path,
    }),
  );
  const out = await readF32(run.device, gy, ySize);
  const ref = matmulRef(x.subarray(xOffset), values, m, n, k, bias);
  const got = new Float32Array(m * n);
  const written = new Set<number>();
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const at = i * yStride + j;
      written.add(at);
      got[i * n + j] = out[at];
      if (c.accumulate) ref[i * n + j] += y0[at];
    }
  }
  // Values reach |d·q| ≈ 1 and k up to 768: f32 sums of k products, as for f32 weights.
  expectClose(got, ref, { ...tol.f32Reduction, label: `${c.format} ${c.path ?? 'default'} m=${m} n=${n} k=${k}` });
  expect(out.filter((v, i) => !written.has(i) && !Object.is(v, y0[i])).length, 'elements outside the output rows changed').toBe(0);
  return w;
}

const shapes: Record<QuantFormat, number[]> = { q8_0: [32, 96, 160], q4_0: [32, 96, 160], q4_k: [256, 768], q6_k: [256, 768] };
const formats = Object.keys(shapes) as QuantFormat[];
const ms = [1, 2, 3, 9, 20];
const ns = [1, 5, 37, 129];

describe('quantized matmul sweep', () => {
  for (const format of formats) {
    for (const path of ['gemv', 'gemv_rows', 'tiled', 'shared'] as const) {
      ms.forEach((m, mi) =>
        shapes[format].forEach((k, ki) => {
          const n = ns[(mi + ki) % ns.length];
          const bias = (mi + ki) % 2 === 0,
            accumulate = (mi + 2 * ki) % 3 === 0;
          test(`${format} ${path} m=${m} n=${n} k=${k}${bias ? ' bias' : ''}${accumulate ? ' accumulate' : ''}`, () =>
            check({ format, m, n, k, path, bias, accumulate, seed: 100 * mi + 10 * ki + format.length }).then(() => undefined));
        }),
      );
    }
  }
});

describe('quantized matrix layout', () => {
  for (const format of formats) {
    const k = shapes[format][1];
    test(`${format} default path for m=1 and m=17, with x offset and y stride`, async () => {
      await check({ format, m: 1, n: 33, k, bias: true, xOffset: 4, seed: 7 });
      await check({ format, m: 17, n: 33, k, accumulate: true, yStride: 40, seed: 8 });
    });
    test(`${format} split into parts, streamed in 2-block chunks across part boundaries`, async () => {
      const n = 23,
        rowBytes = (k / blockOf[format].elems) * blockOf[format].bytes;
      // q8_0/q4_0 rows of 3 blocks: an odd count, so parts must start on even rows (pairs of f16 scales).
      const w = await check({ format, m: 3, n, k, path: 'gemv_rows', maxPartBytes: 7 * rowBytes + 40, chunkBlocks: 2, seed: 9 });
      expect(w.parts.length).toBeGreaterThan(2);
      if (format === 'q8_0' || format === 'q4_0') expect(w.parts.every((p) => p.rowStart % 2 === 0)).toBe(true);
      await check({ format, m: 5, n, k, path: 'tiled', maxPartBytes: 7 * rowBytes + 40, chunkBlocks: 4, bias: true, seed: 10 });
      await check({ format, m: 70, n, k, path: 'shared', maxPartBytes: 7 * rowBytes + 40, chunkBlocks: 4, bias: true, seed: 11 });
    });
  }

  test('GPU bytes equal the GGUF block bytes (q6_k: +1% padding)', () => {
    const sizes = formats.map((format) => {
      const k = 768,
        n = 10;
      const w = createGpuMatrix(run.device, { rows: n, cols: k, dtype: format, label: 'size' });
      return [format, matrixGpuBytes(w) / (((n * k) / blockOf[format].elems) * blockOf[format].bytes)];
    });
    expect(Object.fromEntries(sizes)).toEqual({ q8_0: 1, q4_0: 1, q4_k: 1, q6_k: 212 / 210 });
  });

  test('named errors: columns not whole blocks, writes not whole or unpaired blocks', () => {
    expect(() => createGpuMatrix(run.device, { rows: 4, cols: 48, dtype: 'q4_0', label: 'bad' })).toThrow(ShapeMismatchError);
    expect(() => createGpuMatrix(run.device, { rows: 4, cols: 128, dtype: 'q4_k', label: 'bad' })).toThrow(ShapeMismatchError);
    const w = createGpuMatrix(run.device, { rows: 4, cols: 96, dtype: 'q8_0', label: 'writes' });
    expect(() => writeMatrixRows(run.device, w, 0, new Uint8Array(33))).toThrow(ShapeMismatchError); // not whole blocks
    expect(() => writeMatrixRows(run.device, w, 34, new Uint8Array(68))).toThrow(ShapeMismatchError); // starts on block 1
    expect(() => writeMatrixRows(run.device, w, 0, new Uint8Array(34))).toThrow(ShapeMismatchError); // one block, part not ended
    const x = poisonF32(run.device, 4 * 96),
      y = poisonF32(run.device, 8);
    const q = createGpuMatrix(run.device, { rows: 2, cols: 256, dtype: 'q4_k', label: 'k' });
    run.begin('bad');
    try {
      expect(() => encodeMatmul(run, { x, w: q, y, m: 2 })).toThrow(ShapeMismatchError); // x holds 384 values, needs 512
    } finally {
      run.abandon();
    }
  });

  test('fixed debug case: one q4_0 block, d = 0.5', async () => {
    const block = new Uint8Array(18);
    block[1] = 0x38; // f16 0.5
    for (let j = 0; j < 16; j++) block[2 + j] = (j % 16) | ((15 - j) << 4); // q[j] = j, q[j + 16] = 15 − j
    const w = createGpuMatrix(run.device, { rows: 1, cols: 32, dtype: 'q4_0', label: 'debug' });
    writeMatrixRows(run.device, w, 0, block);
    const x = new Float32Array(32).fill(0);
    x[3] = 1;
    x[20] = 2; // y = 0.5·(3 − 8) + 2·0.5·((15 − 4) − 8) = −2.5 + 3
    const y = poisonF32(run.device, 1);
    await runStep(run, (r) => encodeMatmul(r, { x: uploadF32(run.device, x), w, y, m: 1 }));
    expect((await readF32(run.device, y, 1))[0]).toBe(0.5);
  });
});
