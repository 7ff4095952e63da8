import { describe, expect, test } from 'vitest';
import { encodeRmsNorm } from '../../src/kernels/rms_norm';
import { expectClose, tol } from '../helpers/expect-close';
import { poisonF32, randomF32, readF32, runStep, testGpu, testRunner, uploadF32 } from '../helpers/gpu';
import type { KernelRunner } from '../../src/gpu/runner';
import { rmsNormRef } from '../reference/rms_norm';

/** One runner per file, so each pipeline variant compiles once. */
let sharedRunner: Promise<KernelRunner> | null = null;
const runner = (): Promise<KernelRunner> => (sharedRunner ??= testRunner());

const eps = 1e-5;
const hasSubgroups = async () => (await testGpu()).features.subgroups;

async function checkCase(rows: number, cols: number, subgroups: boolean, seed = rows * 7919 + cols): Promise<void> {
  const run = await runner();
  const x = randomF32(rows * cols, seed, 3),
    w = randomF32(cols, seed + 1, 2);
  const gx = uploadF32(run.device, x),
    gw = uploadF32(run.device, w),
    gy = poisonF32(run.device, rows * cols);
  await runStep(run, (r) => encodeRmsNorm(r, { x: gx, weight: gw, y: gy, rows, cols, eps, subgroups }));
  expectClose(await readF32(run.device, gy, rows * cols), rmsNormRef(x, w, rows, cols, eps), {
    ...tol.f32Reduction,
    label: `rms_norm ${rows}x${cols}${subgroups ? ' subgroups' : ''}`,
  });
}

describe('rms_norm kernel', () => {
  for (const rows of [1, 3, 17]) {
    for (const cols of [1, 7, 64, 100, 576, 4099]) {
      test(`tree ${rows}x${cols}`, () => checkCase(rows, cols, false));
      test(`subgroups ${rows}x${cols}`, async (ctx) => {
        if (!(await hasSubgroups())) ctx.skip();
        await checkCase(rows, cols, true);
      });
    }
  }
  test('cols 8192 (largest), both reductions', async () => {
    await checkCase(2, 8192, false);
    if (await hasSubgroups()) await checkCase(2, 8192, true);
  });

  test('debug case: constant row gives weight / sqrt(1 + eps)', async () => {
    const run = await runner();
    const cols = 5;
    const gx = uploadF32(run.device, new Float32Array(cols).fill(-1)),
      gw = uploadF32(run.device, [1, 2, 3, 4, 5]);
    const gy = poisonF32(run.device, cols);
    await runStep(run, (r) => encodeRmsNorm(r, { x: gx, weight: gw, y: gy, rows: 1, cols, eps: 0 }));
    expect(Array.from(await readF32(run.device, gy, cols))).toEqual([-1, -2, -3, -4, -5]);
  });

  test('in place with offsets leaves the rest untouched', async () => {
    const run = await runner();
    const rows = 3,
      cols = 100,
      off = 13,
      total = off + rows * cols + 9;
    const buf = randomF32(total, 42),
      w = randomF32(cols, 43);
    const gb = uploadF32(run.device, buf),
      gw = uploadF32(run.device, w);
    await runStep(run, (r) => encodeRmsNorm(r, { x: gb, xOffset: off, weight: gw, y: gb, yOffset: off, rows, cols, eps }));
    const out = await readF32(run.device, gb, total);
    const ref = Float64Array.from(buf);
    ref.set(rmsNormRef(buf.subarray(off, off + rows * cols), w, rows, cols, eps), off);
    expectClose(out, ref, tol.f32Reduction);
    expect(out[off - 1]).toBe(buf[off - 1]);
    expect(out[off + rows * cols]).toBe(buf[off + rows * cols]);
  });

  test('separate output with offsets', async () => {
    const run = await runner();
    const rows = 2,
      cols = 64;
    const x = randomF32(5 + rows * cols, 9),
      w = randomF32(cols, 10);
    const gx = uploadF32(run.device, x),
      gw = uploadF32(run.device, w),
      gy = poisonF32(run.device, 3 + rows * cols);
    await runStep(run, (r) => encodeRmsNorm(r, { x: gx, xOffset: 5, weight: gw, y: gy, yOffset: 3, rows, cols, eps }));
    const out = await readF32(run.device, gy, rows * cols, 3);
    expectClose(out, rmsNormRef(x.subarray(5), w, rows, cols, eps), tol.f32Reduction);
  });

  test("Gemma's (1 + w) weights and the accumulate variant (y += norm) on per-head rows at an offset", async () => {
    const run = await runner();
    for (const [rows, cols] of [
      [12, 24],
      [8, 256],
      [3, 64],
    ]) {
      const x = randomF32(5 + rows * cols, rows + cols, 3),
        w = randomF32(cols, 7, 0.2),
        y0 = randomF32(rows * cols, 9, 1);
      const gx = uploadF32(run.device, x),
        gw = uploadF32(run.device, w),
        gy = uploadF32(run.device, y0);
      await runStep(run, (r) =>
        encodeRmsNorm(r, { x: gx, xOffset: 5, weight: gw, y: gy, rows, cols, eps: 1e-6, weightOffset: 1, accumulate: true }),
      );
      const normed = rmsNormRef(
        x.subarray(5),
        w.map((v) => v + 1),
        rows,
        cols,
        1e-6,
      );
      expectClose(
        await readF32(run.device, gy, rows * cols),
        normed.map((v, i) => v + y0[i]),
        tol.f32Reduction,
      );
      // In place with the offset, as the q/k norms run on the KV cache.
      await runStep(run, (r) =>
        encodeRmsNorm(r, { x: gx, xOffset: 5, weight: gw, y: gx, yOffset: 5, rows, cols, eps: 1e-6, weightOffset: 1 }),
      );
      const inPlace = await readF32(run.device, gx, 5 + rows * cols);
      expectClose(inPlace.subarray(5), normed, tol.f32Reduction);
      expect(Array.from(inPlace.subarray(0, 5))).toEqual(Array.from(x.subarray(0, 5)));
    }
  });

  test('rejects bad shapes with a named error', async () => {
    const run = await runner();
    const gx = uploadF32(run.device, new Float32Array(8)),
      gw = uploadF32(run.device, new Float32Array(8));
    expect(() => encodeRmsNorm(run, { x: gx, weight: gw, y: gx, rows: 2, cols: 8, eps })).toThrow(/x bytes/);
    expect(() => encodeRmsNorm(run, { x: gx, weight: gw, y: gx, rows: 1, cols: 0, eps })).toThrow(/ShapeMismatch|cols/);
  });
});
