import { describe, expect, test } from 'vitest';
import { encodeRope, ropeInvFreqBuffer, type RopeStyle } from '../../src/kernels/rope';
import { expectClose, tol } from '../helpers/expect-close';
import { randomF32, readF32, runStep, testRunner, uploadF32 } from '../helpers/gpu';
import type { KernelRunner } from '../../src/gpu/runner';
import { ropeInvFreq, ropeRef, type RopeRefArgs } from '../reference/rope';

/** One runner per file, so each pipeline variant compiles once. */
let sharedRunner: Promise<KernelRunner> | null = null;
const runner = (): Promise<KernelRunner> => (sharedRunner ??= testRunner());

const styles: RopeStyle[] = ['half', 'interleaved'];

async function runRope(x: Float32Array, a: RopeRefArgs): Promise<Float32Array> {
  const run = await runner();
  const gx = uploadF32(run.device, x),
    gf = ropeInvFreqBuffer(run.device, a.invFreq);
  await runStep(run, (r) => encodeRope(r, { ...a, x: gx, invFreq: gf }));
  return readF32(run.device, gx, x.length);
}

describe('rope kernel', () => {
  for (const style of styles) {
    for (const [heads, headDim] of [
      [1, 8],
      [3, 24],
      [5, 80],
      [2, 128],
    ]) {
      for (const startPos of [0, 5, 1000]) {
        test(`${style} heads=${heads} headDim=${headDim} startPos=${startPos}, rows 1/3/17`, async () => {
          for (const rows of [1, 3, 17]) {
            const a: RopeRefArgs = { rows, heads, headDim, startPos, invFreq: ropeInvFreq(headDim, 10000), style };
            const x = randomF32(rows * heads * headDim, rows * 1000 + heads * 100 + headDim + startPos);
            expectClose(await runRope(x, a), ropeRef(x, a), { ...tol.f32Elementwise, label: `rows=${rows}` });
          }
        });
      }
    }
  }

  test('debug case: headDim 4 at pos 1 with invFreq [1, 0.5]', async () => {
    const invFreq = Float32Array.from([1, 0.5]);
    const x = Float32Array.from([1, 0, 0, 1]);
    const out = await runRope(x, { rows: 1, heads: 1, headDim: 4, startPos: 1, invFreq, style: 'half' });
    // pairs (x0, x2) = (1, 0) turned by 1 rad, (x1, x3) = (0, 1) turned by 0.5 rad
    expectClose(out, [Math.cos(1), -Math.sin(0.5), Math.sin(1), Math.cos(0.5)], tol.f32Elementwise);
    const outI = await runRope(x, { rows: 1, heads: 1, headDim: 4, startPos: 1, invFreq, style: 'interleaved' });
    // pairs (x0, x1) = (1, 0) by 1 rad, (x2, x3) = (0, 1) by 0.5 rad
    expectClose(outI, [Math.cos(1), Math.sin(1), -Math.sin(0.5), Math.cos(0.5)], tol.f32Elementwise);
  });

  test('offset and rowStride (K rows inside a cache / fused QKV) leave the gaps untouched', async () => {
    for (const style of styles) {
      const heads = 2,
        headDim = 24,
        rows = 5,
        rowStride = 70,
        offset = 11;
      const x = randomF32(offset + rows * rowStride + 3, 77);
      const a: RopeRefArgs = { rows, heads, headDim, rowStride, offset, startPos: 37, invFreq: ropeInvFreq(headDim, 500000), style };
      const out = await runRope(x, a);
      expectClose(out, ropeRef(x, a), tol.f32Elementwise);
      for (let r = 0; r < rows; r++) {
        for (let c = heads * headDim; c < rowStride; c++) expect(out[offset + r * rowStride + c]).toBe(x[offset + r * rowStride + c]);
      }
      expect(out.subarray(0, offset)).toEqual(x.subarray(0, offset));
    }
  });

  test('angle precision for positions 0..4095 (headDim 128, theta 1e4 and 5e5)', async () => {
    for (const theta of [10000, 500000]) {
      const rows = 4096,
        headDim = 128;
      const x = randomF32(rows * headDim, theta);
      const a: RopeRefArgs = { rows, heads: 1, headDim, startPos: 0, invFreq: ropeInvFreq(headDim, theta), style: 'half' };
      const out = await runRope(x, a),
        ref = ropeRef(x, a);
      let maxErr = 0;
      for (let i = 0; i < out.length; i++) maxErr = Math.max(maxErr, Math.abs(out[i] - ref[i]));
      console.log(`rope theta=${theta} pos<4096: max |gpu - f64 ref| = ${maxErr.toExponential(3)} (|x| < 1)`);
      expectClose(out, ref, tol.f32Elementwise);
    }
  });

  test('long-context positions 131000.. (angles up to 1.3e5 rad) stay accurate', async () => {
    const a: RopeRefArgs = { rows: 17, heads: 2, headDim: 64, startPos: 131000, invFreq: ropeInvFreq(64, 10000), style: 'interleaved' };
    const x = randomF32(17 * 2 * 64, 5);
    expectClose(await runRope(x, a), ropeRef(x, a), tol.f32Elementwise);
  });

  for (const style of ['half', 'interleaved'] as const) {
    test(`partial rotary (Phi-3: 18 of 24) with a cos/sin scale, ${style}: the tail untouched`, async () => {
      const run = await runner();
      const rows = 5,
        heads = 3,
        headDim = 24,
        rotaryDim = 18;
      const x = randomF32(rows * heads * headDim, 41, 2);
      const a: RopeRefArgs = {
        rows,
        heads,
        headDim,
        rotaryDim,
        scale: 1.2649,
        startPos: 29,
        invFreq: ropeInvFreq(rotaryDim, 10000),
        style,
      };
      const gx = uploadF32(run.device, x),
        gf = ropeInvFreqBuffer(run.device, a.invFreq);
      await runStep(run, (r) => encodeRope(r, { x: gx, ...a, invFreq: gf }));
      const got = await readF32(run.device, gx, x.length);
      expectClose(got, ropeRef(x, a), tol.f32Elementwise);
      for (let v = 0; v < rows * heads; v++)
        for (let d = rotaryDim; d < headDim; d++) expect(got[v * headDim + d]).toBe(x[v * headDim + d]);
    });
  }

  test('rejects odd headDim and short buffers', async () => {
    const run = await runner();
    const gx = uploadF32(run.device, new Float32Array(16)),
      gf = ropeInvFreqBuffer(run.device, new Float32Array(4));
    const base = { x: gx, invFreq: gf, rows: 1, heads: 1, startPos: 0, style: 'half' as const };
    expect(() => encodeRope(run, { ...base, headDim: 7 })).toThrow(/headDim/);
    expect(() => encodeRope(run, { ...base, headDim: 8, rows: 3 })).toThrow(/x bytes/);
  });
});
