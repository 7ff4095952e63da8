import { beforeAll, describe, expect, test } from 'vitest';
import type { KernelRunner } from '../../src/gpu/runner';
import { encodeActivationRound } from '../../src/kernels/activation_round';
import { ShapeMismatchError } from '../../src/util/errors';
import { f16BitsToF32, f32ToF16Bits } from '../../src/util/f16';
import { poisonF32, randomF32, readF32, runStep, testRunner, uploadF32 } from '../helpers/gpu';
import { activationRoundRef, type ActivationRounding } from '../reference/activation_round';

let run: KernelRunner;
beforeAll(async () => {
  run = await testRunner();
});

/**
 * WGSL's f32 division may be 2.5 ULP off where C's is exact, so 127/amax can differ in its last bit
 * and a value within that of a rounding midpoint may land one step (d) away; everything else is exact.
 */
function compare(got: Float32Array, want: Float32Array, x: Float32Array, mode: ActivationRounding): void {
  const block = mode === 'q8_0' ? 32 : mode === 'q8_k' ? 256 : 1;
  let flips = 0;
  for (let i = 0; i < want.length; i++) {
    if (Object.is(got[i], want[i])) continue;
    const b = Math.floor(i / block) * block;
    const amax = x.subarray(b, b + block).reduce((a, e) => Math.max(a, Math.abs(e)), 0);
    const step = block === 1 ? 0 : amax / 127;
    expect(Math.abs(got[i] - want[i]), `[${i}] ${got[i]} vs ${want[i]}`).toBeLessThanOrEqual(step * 1.01);
    flips++;
  }
  expect(flips, 'values one step off').toBeLessThanOrEqual(Math.ceil(want.length * 1e-3));
}

describe('activation_round kernel', () => {
  for (const mode of ['q8_0', 'q8_k', 'f16', 'bf16'] as const) {
    const cols = mode === 'q8_k' ? [256, 768] : [32, 96, 160];
    for (const rows of [1, 3, 17]) {
      for (const c of cols) {
        test(`${mode} ${rows}x${c}`, async () => {
          const x = randomF32(rows * c + 5, rows * c, 3);
          if (rows > 1) x.fill(0, 5 + c, 5 + c + 32); // an all-zero block: d = 0
          const out = poisonF32(run.device, rows * c + 9);
          await runStep(run, (r) =>
            encodeActivationRound(r, { x: uploadF32(run.device, x), xOffset: 5, out, outOffset: 4, rows, cols: c, mode }),
          );
          const got = await readF32(run.device, out, rows * c + 9);
          const xs = x.subarray(5);
          compare(got.subarray(4, 4 + rows * c), activationRoundRef(xs, mode), xs, mode);
          expect([...got.subarray(0, 4), ...got.subarray(4 + rows * c)].every(Number.isNaN)).toBe(true);
        });
      }
    }
  }

  test('f16: ties to even, subnormals, overflow; q8: the extreme maps to ±127 steps', async () => {
    const x = Float32Array.from([1 + 2 ** -11, 1 + 3 * 2 ** -11, 2 ** -20 + 2 ** -26, 65519, 65520, -7e-8, 2.9e-8, 0]);
    const out = poisonF32(run.device, x.length);
    await runStep(run, (r) => encodeActivationRound(r, { x: uploadF32(run.device, x), out, rows: 1, cols: x.length, mode: 'f16' }));
    expect(Array.from(await readF32(run.device, out, x.length))).toEqual([
      1,
      1 + 4 * 2 ** -11,
      2 ** -20,
      65504,
      Infinity,
      -(2 ** -24),
      0,
      0,
    ]);
    const q = Float32Array.from({ length: 32 }, (_, i) => (i === 7 ? -2.54 : (i - 16) / 10));
    const o = poisonF32(run.device, 32);
    await runStep(run, (r) => encodeActivationRound(r, { x: uploadF32(run.device, q), out: o, rows: 1, cols: 32, mode: 'q8_0' }));
    const got = await readF32(run.device, o, 32);
    const d = f16BitsToF32(f32ToF16Bits(2.54 / 127));
    expect(got[7]).toBe(Math.fround(-127 * d)); // the extreme is exactly −127 steps of the f16 scale
    expect(got[0]).toBe(Math.fround(Math.round((-1.6 * 127) / 2.54) * d));
  });

  test('named errors for cols off the block and aliased buffers', () => {
    const x = uploadF32(run.device, new Float32Array(64));
    run.begin('bad');
    try {
      expect(() => encodeActivationRound(run, { x, out: poisonF32(run.device, 64), rows: 1, cols: 48, mode: 'q8_0' })).toThrow(
        ShapeMismatchError,
      );
      expect(() => encodeActivationRound(run, { x, out: x, rows: 1, cols: 32, mode: 'f16' })).toThrow(ShapeMismatchError);
    } finally {
      run.abandon();
    }
  });
});
