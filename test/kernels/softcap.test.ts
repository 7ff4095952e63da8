import { describe, expect, test } from 'vitest';
import { encodeSoftcap } from '../../src/kernels/softcap';
import { ShapeMismatchError } from '../../src/util/errors';
import { expectClose } from '../helpers/expect-close';
import { poisonF32, randomF32, readF32, runStep, testRunner, uploadF32 } from '../helpers/gpu';
import { thrown } from '../helpers/thrown';
import { softcapRef } from '../reference/softcap';

describe('softcap kernel', () => {
  for (const n of [1, 7, 255, 257, 4099, 151936]) {
    test(`n=${n}, cap 30 over logits up to ±200, at an offset`, async () => {
      const run = await testRunner();
      const x = randomF32(n, n, 60);
      const padded = new Float32Array(3 + n + 2).fill(Number.NaN);
      padded.set(x, 3);
      const g = uploadF32(run.device, padded);
      await runStep(run, (r) => encodeSoftcap(r, { x: g, offset: 3, n, cap: 30 }));
      const got = await readF32(run.device, g, padded.length);
      expectClose(got.subarray(3, 3 + n), softcapRef(x, 30), { atol: 1e-5, rtol: 2e-6 });
      expect(Number.isNaN(got[2]) && Number.isNaN(got[3 + n])).toBe(true);
    });
  }

  test('debug case: 0, tiny, ±cap and huge values; never beyond the cap', async () => {
    const run = await testRunner();
    const x = [0, 1e-7, -1e-7, 0.01, 8, -8, 1e4, -1e30, 1e30];
    const g = uploadF32(run.device, x);
    await runStep(run, (r) => encodeSoftcap(r, { x: g, n: x.length, cap: 8 }));
    const got = await readF32(run.device, g, x.length);
    expectClose(got, softcapRef(Float32Array.from(x), 8), { atol: 1e-6, rtol: 1e-6 });
    for (const v of got) expect(Math.abs(v)).toBeLessThanOrEqual(8);
  });

  test('rejects a cap that is not a positive number', async () => {
    const run = await testRunner();
    const g = poisonF32(run.device, 4);
    expect(thrown(() => encodeSoftcap(run, { x: g, n: 4, cap: 0 }))).toBeInstanceOf(ShapeMismatchError);
  });
});
