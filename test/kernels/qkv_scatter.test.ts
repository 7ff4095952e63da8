/**
 * The q/k/v scatter kernel (the epilogue of a fused q/k/v projection: per-head q/k RMSNorm, RoPE,
 * the KV-cache write, f32 or packed f16) against the float64 reference composed of rmsNormRef and
 * ropeRef (test/reference/qkv_scatter.ts).
 */
import { beforeAll, describe, expect, test } from 'vitest';
import type { KernelRunner } from '../../src/gpu/runner';
import { encodeQkvScatter } from '../../src/kernels/qkv_scatter';
import { ropeInvFreqBuffer } from '../../src/kernels/rope';
import { f16ToF32Array, f32ToF16Array } from '../../src/util/f16';
import { expectClose, tol } from '../helpers/expect-close';
import { poisonF32, randomF32, readF32, runStep, testRunner, uploadF32, uploadU32 } from '../helpers/gpu';
import { qkvScatterRef } from '../reference/qkv_scatter';
import { ropeInvFreq } from '../reference/rope';

let run: KernelRunner;
beforeAll(async () => {
  run = await testRunner();
});

describe('qkv_scatter kernel', () => {
  const cases = [
    { heads: 3, kvHeads: 1, headDim: 8, rope: true, norm: false, rotaryDim: 8, startPos: 0, rows: 1 },
    { heads: 4, kvHeads: 2, headDim: 24, rope: true, norm: true, rotaryDim: 18, startPos: 37, rows: 3 },
    { heads: 2, kvHeads: 2, headDim: 128, rope: true, norm: true, rotaryDim: 128, startPos: 1000, rows: 2 },
    { heads: 2, kvHeads: 1, headDim: 16, rope: false, norm: true, rotaryDim: 16, startPos: 5, rows: 4 },
    { heads: 4, kvHeads: 2, headDim: 24, rope: true, norm: true, rotaryDim: 18, startPos: 37, rows: 3, f16: true },
    { heads: 3, kvHeads: 1, headDim: 64, rope: true, norm: false, rotaryDim: 64, startPos: 9, rows: 2, f16: true },
  ];
  for (const a of cases) {
    test(`heads ${a.heads}/${a.kvHeads} × ${a.headDim} rot ${a.rotaryDim}${a.norm ? ' qk-norm' : ''}${a.rope ? ` rope@${a.startPos}` : ' no rope'} rows ${a.rows}${a.f16 ? ' f16 cache' : ''}`, async () => {
      const { heads, kvHeads, headDim: d, rows } = a;
      const width = (heads + 2 * kvHeads) * d,
        kvRow = kvHeads * d,
        kvOffset = 2 * kvRow + 2; // row 2 of the cache, one f16 pair off
      const qkv = randomF32(rows * width, 7 + d);
      const qn = randomF32(d, 8),
        kn = randomF32(d, 9);
      const eps = 1e-6,
        normOffset = a.norm ? 1 : 0,
        scale = a.rotaryDim < d ? 1.25 : 1;
      const invFreq = ropeInvFreq(a.rotaryDim, 10000);
      const shape = { rows, heads, kvHeads, headDim: d, rope: a.rope, startPos: a.startPos, rotaryDim: a.rotaryDim, scale };
      const cacheSize = kvOffset + rows * kvRow + 6;
      // Poisoned with NaN: f32, or f16 NaN pairs.
      const poisonCache = () =>
        a.f16 ? uploadU32(run.device, new Uint32Array(cacheSize / 2).fill(0x7e007e00)) : poisonF32(run.device, cacheSize);
      const gq = poisonF32(run.device, rows * heads * d),
        gk = poisonCache(),
        gv = poisonCache();
      await runStep(run, (r) =>
        encodeQkvScatter(r, {
          qkv: uploadF32(run.device, qkv),
          q: gq,
          k: gk,
          v: gv,
          kvOffset,
          ...shape,
          invFreq: ropeInvFreqBuffer(run.device, invFreq),
          norm: a.norm ? { q: uploadF32(run.device, qn), k: uploadF32(run.device, kn), eps, offset: normOffset } : undefined,
          kvDtype: a.f16 ? 'f16' : 'f32',
        }),
      );
      const want = qkvScatterRef(qkv, {
        ...shape,
        invFreq,
        norm: a.norm ? { q: qn, k: kn, eps, offset: normOffset } : undefined,
      });
      const wantQ = want.q,
        wantK = want.k,
        wantV = want.v;
      expectClose(await readF32(run.device, gq, rows * heads * d), wantQ, { ...tol.f32Elementwise, label: 'q' });
      // An f16 cache holds each value rounded to f16 (the reference: the f32 results, rounded).
      const readCache = async (b: GPUBuffer) => {
        if (!a.f16) return readF32(run.device, b, cacheSize);
        const raw = await readF32(run.device, b, cacheSize / 2);
        return f16ToF32Array(new Uint16Array(raw.buffer, raw.byteOffset, cacheSize));
      };
      const k = await readCache(gk),
        v = await readCache(gv);
      const f16 = (x: Float64Array) => (a.f16 ? Float64Array.from(f16ToF32Array(f32ToF16Array(Float32Array.from(x)))) : x);
      const near = a.f16 ? { atol: 1e-3, rtol: 1e-3 } : tol.f32Elementwise;
      expectClose(k.subarray(kvOffset, kvOffset + rows * kvRow), f16(wantK), { ...near, label: 'k' });
      expectClose(v.subarray(kvOffset, kvOffset + rows * kvRow), f16(wantV), { atol: 0, rtol: 0, label: 'v (a copy)' });
      for (const c of [k, v]) {
        expect(
          c.subarray(0, kvOffset).every(Number.isNaN) && c.subarray(kvOffset + rows * kvRow).every(Number.isNaN),
          'cache rows outside',
        ).toBe(true);
      }
    });
  }

  test('refuses an odd head size, an odd cache offset and one buffer for k and v', async () => {
    const b = poisonF32(run.device, 64),
      f = ropeInvFreqBuffer(run.device, ropeInvFreq(4, 10000));
    const base = {
      qkv: b,
      q: b,
      k: b,
      v: poisonF32(run.device, 64),
      kvOffset: 0,
      rows: 1,
      heads: 1,
      kvHeads: 1,
      headDim: 4,
      rope: true,
      startPos: 0,
      invFreq: f,
    };
    run.begin();
    try {
      expect(() => encodeQkvScatter(run, { ...base, headDim: 3, rotaryDim: 2 })).toThrow(/headDim/);
      expect(() => encodeQkvScatter(run, { ...base, kvOffset: 1 })).toThrow(/kvOffset/);
      expect(() => encodeQkvScatter(run, { ...base, v: b })).toThrow(/a buffer other than/);
    } finally {
      run.abandon();
    }
  });
});
