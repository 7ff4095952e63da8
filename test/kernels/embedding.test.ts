import { beforeAll, describe, expect, test } from 'vitest';
import type { KernelRunner } from '../../src/gpu/runner';
import { encodeEmbedding } from '../../src/kernels/embedding';
import { createGpuMatrix, writeMatrixRows } from '../../src/kernels/matrix';
import { ShapeMismatchError } from '../../src/util/errors';
import { expectClose, tol } from '../helpers/expect-close';
import { poisonF32, randomF32, readF32, runStep, seeded, testRunner, uploadU32 } from '../helpers/gpu';
import { embeddingRef } from '../reference/embedding';
import { weightBytes } from '../reference/matmul';
import { blockOf, dequantize, randomBlocks, type QuantFormat } from '../reference/quant';

let run: KernelRunner;
beforeAll(async () => {
  run = await testRunner();
});

function makeTable(rows: number, cols: number, dtype: 'f32' | 'f16', seed: number, maxPartBytes?: number) {
  const { bytes, stored } = weightBytes(randomF32(rows * cols, seed), dtype);
  const table = createGpuMatrix(run.device, { rows, cols, dtype, label: 'embed', maxPartBytes });
  writeMatrixRows(run.device, table, 0, bytes);
  return { table, stored };
}

describe('embedding gather', () => {
  for (const dtype of ['f32', 'f16'] as const) {
    for (const [rows, cols, count] of [
      [1, 2, 1],
      [37, 6, 5],
      [50, 130, 33],
      [300, 64, 257],
    ]) {
      for (const parts of [1, 3]) {
        test(`${dtype} table ${rows}x${cols}, ${count} tokens, ${parts} part(s)`, async () => {
          const rowBytes = cols * (dtype === 'f32' ? 4 : 2);
          const maxPartBytes = parts === 1 ? undefined : Math.ceil(rows / 3) * rowBytes;
          const { table, stored } = makeTable(rows, cols, dtype, rows + cols, maxPartBytes);
          expect(table.parts.length).toBe(Math.min(parts, rows));
          const r = seeded(count);
          const tokens = Array.from({ length: count }, (_, t) => (t === 0 ? rows - 1 : Math.floor(r() * rows)));
          const out = poisonF32(run.device, count * cols);
          await runStep(run, (g) => encodeEmbedding(g, { table, tokens: uploadU32(run.device, tokens), count, out }));
          expectClose(await readF32(run.device, out, count * cols), embeddingRef(stored, cols, tokens), tol.f32Elementwise);
        });
      }
    }
  }

  test("Gemma's scale (f32 √hidden) multiplies every gathered value, f32 and f16 tables", async () => {
    for (const dtype of ['f32', 'f16'] as const) {
      const { table, stored } = makeTable(30, 64, dtype, 5);
      const tokens = [0, 29, 7, 7, 13],
        scale = Math.fround(Math.sqrt(64 * 9));
      const out = poisonF32(run.device, tokens.length * 64);
      await runStep(run, (g) => encodeEmbedding(g, { table, tokens: uploadU32(run.device, tokens), count: tokens.length, out, scale }));
      const want = embeddingRef(stored, 64, tokens).map((v) => v * scale);
      expectClose(await readF32(run.device, out, tokens.length * 64), want, tol.f32Elementwise);
    }
  });

  test('offsets: gathers a slice of the ids into the middle of out; ids in every part', async () => {
    const rows = 40,
      cols = 8;
    const { table, stored } = makeTable(rows, cols, 'f16', 3, 14 * cols * 2);
    expect(table.parts.map((p) => p.rowStart)).toEqual([0, 14, 28]);
    const ids = [99, 99, 0, 13, 14, 27, 28, 39, 14, 99];
    const out = poisonF32(run.device, 12 * cols);
    await runStep(run, (g) =>
      encodeEmbedding(g, { table, tokens: uploadU32(run.device, ids), tokenOffset: 2, count: 7, out, outOffset: 2 * cols }),
    );
    const got = await readF32(run.device, out, 12 * cols);
    expectClose(got.subarray(2 * cols, 9 * cols), embeddingRef(stored, cols, ids.slice(2, 9)), tol.f32Elementwise);
    expect([...got.subarray(0, 2 * cols), ...got.subarray(9 * cols)].every(Number.isNaN)).toBe(true);
  });

  test('ids past the table end give NaN rows; bad buffers throw', async () => {
    const { table } = makeTable(10, 4, 'f32', 4, 4 * 4 * 4);
    const out = poisonF32(run.device, 8);
    await runStep(run, (g) => encodeEmbedding(g, { table, tokens: uploadU32(run.device, [3, 10]), count: 2, out }));
    const got = await readF32(run.device, out, 8);
    expect(got.subarray(0, 4).every(Number.isFinite)).toBe(true);
    expect(got.subarray(4).every(Number.isNaN)).toBe(true);
    run.begin('bad');
    try {
      expect(() => encodeEmbedding(run, { table, tokens: uploadU32(run.device, [1]), count: 5, out })).toThrow(ShapeMismatchError);
    } finally {
      run.abandon();
    }
  });

  for (const format of ['q8_0', 'q4_0', 'q4_k', 'q6_k'] as QuantFormat[]) {
    for (const [rows, cols, count, parts] of [
      [1, 256, 1, 1],
      [37, 256, 5, 3],
      [50, 768, 33, 2],
    ]) {
      test(`${format} table ${rows}x${cols}, ${count} tokens, ${parts} part(s): rows dequantized`, async () => {
        const bytes = randomBlocks(format, rows * cols, rows + cols);
        const rowBytes = (cols / blockOf[format].elems) * (format === 'q6_k' ? 212 : blockOf[format].bytes); // GPU bytes
        const maxPartBytes = parts === 1 ? undefined : Math.ceil(rows / parts) * rowBytes + 8;
        const table = createGpuMatrix(run.device, { rows, cols, dtype: format, label: 'embed', maxPartBytes });
        writeMatrixRows(run.device, table, 0, bytes);
        expect(table.parts.length).toBe(parts);
        const r = seeded(count);
        const tokens = Array.from({ length: count }, (_, t) => (t === 0 ? rows - 1 : Math.floor(r() * rows)));
        tokens.push(rows + 3); // past the end: a NaN row
        const out = poisonF32(run.device, (count + 1) * cols);
        await runStep(run, (g) => encodeEmbedding(g, { table, tokens: uploadU32(run.device, tokens), count: count + 1, out }));
        const got = await readF32(run.device, out, (count + 1) * cols);
        expectClose(
          got.subarray(0, count * cols),
          embeddingRef(dequantize(format, bytes, rows * cols), cols, tokens.slice(0, count)),
          tol.f32Elementwise,
        );
        expect(got.subarray(count * cols).every(Number.isNaN)).toBe(true);
      });
    }
  }

  test('fixed debug case', async () => {
    const table = createGpuMatrix(run.device, { rows: 3, cols: 2, dtype: 'f32', label: 'debug' });
    writeMatrixRows(run.device, table, 0, new Float32Array([1, 2, 3, 4, 5, 6]));
    const out = poisonF32(run.device, 6);
    await runStep(run, (g) => encodeEmbedding(g, { table, tokens: uploadU32(run.device, [2, 0, 2]), count: 3, out }));
    expect([...(await readF32(run.device, out, 6))]).toEqual([5, 6, 1, 2, 5, 6]);
  });
});
