import { describe, expect, test } from 'vitest';
import { encodeSiluMul } from '../../src/kernels/silu_mul';
import { expectClose, tol } from '../helpers/expect-close';
import { poisonF32, randomF32, readF32, runStep, testRunner, uploadF32 } from '../helpers/gpu';
import type { KernelRunner } from '../../src/gpu/runner';
import { gluRef, siluMulRef } from '../reference/silu_mul';

/** One runner per file, so each pipeline variant compiles once. */
let sharedRunner: Promise<KernelRunner> | null = null;
const runner = (): Promise<KernelRunner> => (sharedRunner ??= testRunner());

describe('silu_mul kernel', () => {
  for (const n of [1, 7, 64, 100, 255, 257, 576, 4099]) {
    test(`n=${n}`, async () => {
      const run = await runner();
      const gate = randomF32(n, n, 8),
        up = randomF32(n, n + 1, 2);
      const gg = uploadF32(run.device, gate),
        gu = uploadF32(run.device, up),
        go = poisonF32(run.device, n);
      await runStep(run, (r) => encodeSiluMul(r, { gate: gg, up: gu, out: go, n }));
      expectClose(await readF32(run.device, go, n), siluMulRef(gate, up), tol.f32Elementwise);
    });
  }

  test('debug case and large |x|: finite, silu(±100) = 100 / -0', async () => {
    const run = await runner();
    const gate = [0, 1, -1, 20, -20, 88, -88, 100, -100, 1e30, -1e30],
      up = gate.map(() => 1);
    const n = gate.length;
    const gg = uploadF32(run.device, gate),
      gu = uploadF32(run.device, up),
      go = poisonF32(run.device, n);
    await runStep(run, (r) => encodeSiluMul(r, { gate: gg, up: gu, out: go, n }));
    const out = await readF32(run.device, go, n);
    for (const v of out) expect(Number.isFinite(v)).toBe(true);
    expect(out[0]).toBe(0);
    expect(out[7]).toBe(100);
    expect(Math.abs(out[8])).toBeLessThan(1e-30);
    expectClose(out, siluMulRef(Float32Array.from(gate), up), tol.f32Elementwise);
  });

  test('gate and up in one buffer (fused gate_up row), offsets, rest of out untouched', async () => {
    const run = await runner();
    const f = 100,
      both = randomF32(3 + 2 * f, 11, 6);
    const gb = uploadF32(run.device, both),
      go = poisonF32(run.device, 5 + f + 4);
    await runStep(run, (r) => encodeSiluMul(r, { gate: gb, gateOffset: 3, up: gb, upOffset: 3 + f, out: go, outOffset: 5, n: f }));
    const out = await readF32(run.device, go, 5 + f + 4);
    expectClose(out.subarray(5, 5 + f), siluMulRef(both.subarray(3, 3 + f), both.subarray(3 + f)), tol.f32Elementwise);
    expect(Number.isNaN(out[4]) && Number.isNaN(out[5 + f])).toBe(true);
  });

  test('in place: out === gate, out === up, and one buffer holding gate, up and out', async () => {
    const run = await runner();
    const n = 300,
      gate = randomF32(n, 21, 6),
      up = randomF32(n, 22, 2),
      ref = siluMulRef(gate, up);
    const gg = uploadF32(run.device, gate),
      gu = uploadF32(run.device, up);
    await runStep(run, (r) => encodeSiluMul(r, { gate: gg, up: gu, out: gg, n }));
    expectClose(await readF32(run.device, gg, n), ref, tol.f32Elementwise);
    const gg2 = uploadF32(run.device, gate);
    await runStep(run, (r) => encodeSiluMul(r, { gate: gg2, up: gu, out: gu, n }));
    expectClose(await readF32(run.device, gu, n), ref, tol.f32Elementwise);
    const both = new Float32Array(2 * n);
    both.set(gate);
    both.set(up, n);
    const gb = uploadF32(run.device, both);
    await runStep(run, (r) => encodeSiluMul(r, { gate: gb, up: gb, upOffset: n, out: gb, n }));
    const out = await readF32(run.device, gb, 2 * n);
    expectClose(out.subarray(0, n), ref, tol.f32Elementwise);
    expect(out.subarray(n)).toEqual(up);
  });

  test('rejects overlapping in-place ranges and short buffers', async () => {
    const run = await runner();
    const g = uploadF32(run.device, new Float32Array(16)),
      o = uploadF32(run.device, new Float32Array(8));
    expect(() => encodeSiluMul(run, { gate: g, up: o, out: g, outOffset: 1, n: 8 })).toThrow(/out range/);
    expect(() => encodeSiluMul(run, { gate: o, up: o, out: g, n: 9 })).toThrow(/gate bytes/);
  });

  test("GeGLU (gelu's tanh approximation) over small, large and extreme inputs", async () => {
    const run = await runner();
    for (const n of [1, 257, 4099]) {
      const gate = randomF32(n, n + 5, 6),
        up = randomF32(n, n + 6, 2);
      gate[0] = -30;
      const gg = uploadF32(run.device, gate),
        gu = uploadF32(run.device, up),
        go = poisonF32(run.device, n);
      await runStep(run, (r) => encodeSiluMul(r, { gate: gg, up: gu, out: go, n, act: 'gelu_tanh' }));
      expectClose(await readF32(run.device, go, n), gluRef(gate, up, 'gelu_tanh'), { atol: 1e-6, rtol: 1e-5 });
    }
  });

  test("GeGLU as llama.cpp's CPU computes it (f16 table): the f16 steps, and 0 / x beyond ±10", async () => {
    const run = await runner();
    const n = 3000,
      gate = randomF32(n, 77, 8),
      up = randomF32(n, 78, 1);
    gate.set([-10, -10.5, 10, 12.25, 0, 1e-6, -3e-5], 0);
    const gg = uploadF32(run.device, gate),
      gu = uploadF32(run.device, up),
      go = poisonF32(run.device, n);
    await runStep(run, (r) => encodeSiluMul(r, { gate: gg, up: gu, out: go, n, act: 'gelu_tanh', geluF16Table: true }));
    const got = await readF32(run.device, go, n),
      want = gluRef(gate, up, 'gelu_tanh', true);
    // An f16 step of gelu is ~1e-3 relative: a tanh error can flip one rounding, so allow a few flips, no more.
    let flips = 0;
    for (let i = 0; i < n; i++) if (Math.abs(got[i] - want[i]) > 1e-6 + 1e-6 * Math.abs(want[i])) flips++;
    expect(flips).toBeLessThanOrEqual(3);
    expect(got[0]).toBe(0);
    expect(got[2]).toBe(Math.fround(10 * up[2]));
    const exact = gluRef(gate, up, 'gelu_tanh');
    let differ = 0;
    for (let i = 0; i < n; i++) if (Math.abs(got[i] - exact[i]) > 1e-6 + 1e-5 * Math.abs(exact[i])) differ++;
    expect(differ).toBeGreaterThan(n / 2); // the table is not the exact gelu
  });
});
