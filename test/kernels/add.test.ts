import { describe, expect, test } from 'vitest';
import { encodeAdd } from '../../src/kernels/add';
import { expectClose, tol } from '../helpers/expect-close';
import { randomF32, readF32, runStep, testRunner, uploadF32 } from '../helpers/gpu';
import { addRef } from '../reference/add';

describe('add kernel', () => {
  for (const n of [1, 3, 255, 256, 257, 1000, 4099]) {
    test(`n=${n}`, async () => {
      const run = await testRunner();
      const a = randomF32(n, n), b = randomF32(n, n + 1);
      const ga = uploadF32(run.device, a), gb = uploadF32(run.device, b);
      await runStep(run, (r) => encodeAdd(r, { a: ga, b: gb, n }));
      expectClose(await readF32(run.device, ga, n), addRef(a, b), tol.f32Elementwise);
    });
  }
  test('offsets leave the rest untouched', async () => {
    const run = await testRunner();
    const a = randomF32(40, 1), b = randomF32(40, 2);
    const ga = uploadF32(run.device, a), gb = uploadF32(run.device, b);
    await runStep(run, (r) => encodeAdd(r, { a: ga, b: gb, n: 10, offsetA: 5, offsetB: 30 }));
    const out = await readF32(run.device, ga, 40);
    const ref = Float64Array.from(a);
    for (let i = 0; i < 10; i++) ref[5 + i] = a[5 + i] + b[30 + i];
    expectClose(out, ref, tol.f32Elementwise);
    expect(out[4]).toBe(a[4]);
  });
});
