import { describe, expect, test } from 'vitest';
import { argmaxNone, encodeArgmax } from '../../src/kernels/argmax';
import { randomF32, readF32, runStep, testRunner, uploadF32, uploadU32 } from '../helpers/gpu';
import type { KernelRunner } from '../../src/gpu/runner';
import { argmaxRef } from '../reference/argmax';

/** One runner per file, so each pipeline variant compiles once. */
let sharedRunner: Promise<KernelRunner> | null = null;
const runner = (): Promise<KernelRunner> => (sharedRunner ??= testRunner());

const poison = 0xdeadbeef;

async function gpuArgmax(x: ArrayLike<number>, xOffset = 0, n = x.length - xOffset): Promise<number> {
  const run = await runner();
  const gx = uploadF32(run.device, x),
    go = uploadU32(run.device, [poison]);
  await runStep(run, (r) => encodeArgmax(r, { x: gx, xOffset, n, out: go }));
  return new Uint32Array((await readF32(run.device, go, 1)).buffer)[0];
}

describe('argmax kernel', () => {
  for (const n of [1, 7, 64, 100, 255, 256, 257, 4099, 200_003]) {
    test(`n=${n}`, async () => {
      const x = randomF32(n, n, 10);
      const ref = argmaxRef(x, argmaxNone);
      expect(ref).not.toBe(argmaxNone);
      expect(await gpuArgmax(x)).toBe(ref);
    });
  }

  test('debug case', async () => {
    expect(await gpuArgmax([0.5, -2, 3.25, 3, -7])).toBe(2);
  });

  test('ties go to the lowest index, in one invocation slice and across slices', async () => {
    const x = randomF32(5000, 3);
    for (const i of [4321, 261, 5, 1000]) x[i] = 20; // 5 and 261 share an invocation (256 apart)
    expect(await gpuArgmax(x)).toBe(5);
    x[5] = 0;
    expect(await gpuArgmax(x)).toBe(261);
    x[261] = 0;
    expect(await gpuArgmax(x)).toBe(argmaxRef(x, argmaxNone));
    expect(argmaxRef(x, argmaxNone)).toBe(1000);
  });

  test('NaN entries are skipped; all NaN gives argmaxNone', async () => {
    const x = randomF32(3000, 4);
    x[0] = NaN;
    x[17] = 50;
    x[18] = NaN;
    x[2999] = NaN;
    expect(await gpuArgmax(x)).toBe(17);
    expect(await gpuArgmax(new Float32Array(300).fill(NaN))).toBe(argmaxNone);
    const mostlyNaN = new Float32Array(300).fill(NaN);
    mostlyNaN[299] = -Infinity;
    expect(await gpuArgmax(mostlyNaN)).toBe(299);
  });

  test('infinities and signed zeros', async () => {
    expect(await gpuArgmax(new Float32Array(40).fill(-Infinity))).toBe(0);
    expect(await gpuArgmax([-1, 3, Infinity, Infinity])).toBe(2);
    expect(await gpuArgmax([-1, -0, 0])).toBe(1);
    expect(await gpuArgmax([-5, 0, -0])).toBe(argmaxRef([-5, 0, -0], argmaxNone));
  });

  test('xOffset and n select a window', async () => {
    const x = randomF32(1000, 8);
    x[10] = 99;
    x[700] = 98;
    expect(await gpuArgmax(x, 100, 800)).toBe(600);
    expect(await gpuArgmax(x, 100, 500)).toBe(argmaxRef(x.subarray(100, 600), argmaxNone));
  });

  test('rejects n = 0 and short buffers', async () => {
    const run = await runner();
    const gx = uploadF32(run.device, new Float32Array(8)),
      go = uploadU32(run.device, [0]);
    expect(() => encodeArgmax(run, { x: gx, n: 0, out: go })).toThrow(/n/);
    expect(() => encodeArgmax(run, { x: gx, n: 9, out: go })).toThrow(/x bytes/);
  });
});
