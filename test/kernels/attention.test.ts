import { describe, expect, test } from 'vitest';
import { encodeAttention, planAttention, type AttentionArgs } from '../../src/kernels/attention';
import { InvalidOptionsError, ShapeMismatchError } from '../../src/util/errors';
import { thrown } from '../helpers/thrown';
import { compareClose, expectClose, tol } from '../helpers/expect-close';
import { poisonF32, randomF32, readF32, runStep, testRunner, uploadF32 } from '../helpers/gpu';
import { attentionRef } from '../reference/attention';
import { weightBytes } from '../reference/matmul';

interface Shape {
  m: number;
  startPos: number;
  nHeads: number;
  kvHeads: number;
  headDim: number;
  memCount: number;
}
interface CaseOpts {
  maxSplits?: number;
  qOffset?: number;
  outOffset?: number;
  qScale?: number;
  withMemory?: boolean;
  window?: number;
  softcap?: number;
  kvF16?: boolean; // the context cache as packed f16 (the reference reads the rounded values)
}

/** Cache rows past startPos + m (never visible) are poisoned with NaN and huge values. */
function makeInputs(s: Shape, seed: number, qScale = 1) {
  const row = s.kvHeads * s.headDim;
  const visible = s.startPos + s.m,
    ctx = visible + 3;
  const kCache = randomF32(ctx * row, seed + 1),
    vCache = randomF32(ctx * row, seed + 2);
  for (let i = visible * row; i < ctx * row; i++) {
    kCache[i] = i % 2 ? NaN : 3e38;
    vCache[i] = i % 2 ? -3e38 : NaN;
  }
  return {
    q: randomF32(s.m * s.nHeads * s.headDim, seed, qScale),
    kCache,
    vCache,
    memK: randomF32(s.kvHeads * s.memCount * s.headDim, seed + 3),
    memV: randomF32(s.kvHeads * s.memCount * s.headDim, seed + 4),
  };
}

async function runCase(s: Shape, seed: number, o: CaseOpts = {}) {
  const run = await testRunner();
  const x = makeInputs(s, seed, o.qScale);
  if (o.window !== undefined) {
    // Rows before the oldest one any query's window reaches are never read: poison them too.
    const row = s.kvHeads * s.headDim,
      unseen = Math.max(0, s.startPos + 1 - o.window);
    x.kCache.fill(Number.NaN, 0, unseen * row);
    x.vCache.fill(Number.NaN, 0, unseen * row);
  }
  const qOffset = o.qOffset ?? 0,
    outOffset = o.outOffset ?? 0;
  const n = s.m * s.nHeads * s.headDim;
  const qPadded = new Float32Array(qOffset + n).fill(NaN);
  qPadded.set(x.q, qOffset);
  const out = poisonF32(run.device, outOffset + n);
  const cache = (values: Float32Array) => {
    if (!o.kvF16) return uploadF32(run.device, values);
    const { bytes, stored } = weightBytes(values, 'f16');
    values.set(stored); // the reference sees what the cache holds
    const b = run.device.createBuffer({ size: Math.max(16, bytes.byteLength), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    run.device.queue.writeBuffer(b, 0, bytes);
    return b;
  };
  const args: AttentionArgs = {
    q: uploadF32(run.device, qPadded),
    qOffset,
    out,
    outOffset,
    kCache: cache(x.kCache),
    vCache: cache(x.vCache),
    kvDtype: o.kvF16 ? 'f16' : 'f32',
    m: s.m,
    startPos: s.startPos,
    nHeads: s.nHeads,
    kvHeads: s.kvHeads,
    headDim: s.headDim,
    scale: 1 / Math.sqrt(s.headDim),
    maxSplits: o.maxSplits,
    window: o.window,
    softcap: o.softcap,
  };
  if (o.withMemory ?? s.memCount > 0) {
    args.memory = { k: uploadF32(run.device, x.memK), v: uploadF32(run.device, x.memV), count: s.memCount };
  }
  await runStep(run, (r) => encodeAttention(r, args));
  const ref = attentionRef({
    ...s,
    q: x.q,
    kCache: x.kCache,
    vCache: x.vCache,
    scale: args.scale,
    window: o.window,
    softcap: o.softcap,
    memory: s.memCount > 0 ? { k: x.memK, v: x.memV, count: s.memCount } : undefined,
  });
  const all = await readF32(run.device, out, outOffset + n);
  return { got: all.subarray(outOffset), ref, head: all.subarray(0, outOffset) };
}

function maxAbsErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]));
  return e;
}

/** Covering sweep: every (m, startPos) pair meets several head dims, head configs and memory sizes. */
function sweep(): Shape[] {
  const ms = [1, 2, 5, 33],
    starts = [0, 1, 17, 200],
    dims = [8, 24, 64, 80, 128],
    mems = [0, 1, 7, 40];
  const heads: [number, number][] = [
    [1, 1],
    [4, 2],
    [6, 2],
    [40, 8],
  ];
  const shapes: Shape[] = [];
  ms.forEach((m, mi) =>
    starts.forEach((startPos, si) => {
      for (let j = 0; j < 3; j++) {
        let [nHeads, kvHeads] = heads[(mi + 3 * si + j) % 4];
        if (nHeads === 40 && m > 2) [nHeads, kvHeads] = [6, 2];
        shapes.push({ m, startPos, nHeads, kvHeads, headDim: dims[(mi + si + 2 * j) % 5], memCount: mems[(2 * mi + si + j) % 4] });
      }
    }),
  );
  return shapes;
}

const worst = { err: 0, nmse: 0 };

describe('attention kernel', () => {
  const shapes = sweep();
  // Each shape: split and single-pass with vec4 loads, then one of them with unaligned offsets (scalar loads).
  shapes.forEach((s, i) => {
    const variants: CaseOpts[] = [{}, { maxSplits: 1 }, { maxSplits: i % 2 ? 1 : undefined, qOffset: 1, outOffset: 3 }];
    for (const o of variants) {
      const name =
        `m=${s.m} pos=${s.startPos} heads=${s.nHeads}/${s.kvHeads} hd=${s.headDim} mem=${s.memCount} ` +
        `${o.maxSplits ? 'single-pass' : 'auto-split'}${o.qOffset ? ' scalar' : ''}`;
      test(name, async () => {
        const { got, ref } = await runCase(s, 100 + i, o);
        expectClose(got, ref, { ...tol.f32Reduction, label: name });
        worst.err = Math.max(worst.err, maxAbsErr(got, ref));
      });
    }
  });

  test('sweep covers both paths and every dimension value', () => {
    const split = shapes.filter((s) => planAttention(s.m, s.nHeads, s.memCount + s.startPos + s.m).nSplits > 1);
    expect(split.length).toBeGreaterThan(0);
    expect(new Set(shapes.map((s) => s.headDim)).size).toBe(5);
    expect(new Set(shapes.map((s) => s.memCount)).size).toBe(4);
    expect(new Set(shapes.map((s) => s.nHeads)).size).toBe(4);
    console.log(`attention sweep: max |error| ${worst.err.toExponential(2)} over ${shapes.length * 3} cases`);
  });

  for (const headDim of [6, 16, 30]) {
    for (const maxSplits of [undefined, 1]) {
      test(`head dim ${headDim} (scalar loads unless a multiple of 4), maxSplits=${maxSplits}`, async () => {
        const s = { m: 3, startPos: 40, nHeads: 4, kvHeads: 1, headDim, memCount: 3 };
        const { got, ref } = await runCase(s, headDim, { maxSplits });
        expectClose(got, ref, tol.f32Reduction);
      });
    }
  }

  test('fixed debug case: one dominant key returns its value row', async () => {
    const run = await testRunner();
    const hd = 4;
    const kCache = [0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0]; // 3 positions, 1 kv head; position 2 matches q
    const vCache = [1, 1, 1, 1, 2, 2, 2, 2, 5, 6, 7, 8];
    const out = poisonF32(run.device, 2 * hd);
    await runStep(run, (r) =>
      encodeAttention(r, {
        q: uploadF32(run.device, [0, 0, 0, 0, 10, 0, 0, 0]),
        out,
        kCache: uploadF32(run.device, kCache),
        vCache: uploadF32(run.device, vCache),
        m: 2,
        startPos: 1,
        nHeads: 1,
        kvHeads: 1,
        headDim: hd,
        scale: 1,
      }),
    );
    // Row 0 (q = 0, sees positions 0..1): uniform weights → mean of rows 0 and 1. Row 1: position 2 wins by e^100.
    expectClose(await readF32(run.device, out, 2 * hd), [1.5, 1.5, 1.5, 1.5, 5, 6, 7, 8], tol.f32Reduction);
  });

  for (const s of [
    { m: 1, startPos: 300, nHeads: 4, kvHeads: 2, headDim: 64, memCount: 7 },
    { m: 5, startPos: 17, nHeads: 6, kvHeads: 2, headDim: 24, memCount: 40 },
  ]) {
    test(`memCount 0 is bit-identical to no memory (m=${s.m})`, async () => {
      const shape = { ...s, memCount: 0 };
      const without = await runCase(shape, 7);
      const withEmpty = await runCase(shape, 7, { withMemory: true });
      expect(Array.from(withEmpty.got)).toEqual(Array.from(without.got));
      expectClose(without.got, without.ref, tol.f32Reduction);
    });
  }

  test('f16 KV cache (packed pairs): split and single-pass, vec4 and scalar head dims, with memory and a window', async () => {
    for (const [i, s] of [
      { m: 1, startPos: 40, nHeads: 4, kvHeads: 2, headDim: 64, memCount: 0 },
      { m: 1, startPos: 300, nHeads: 6, kvHeads: 2, headDim: 24, memCount: 7 },
      { m: 5, startPos: 17, nHeads: 4, kvHeads: 2, headDim: 10, memCount: 0 },
      { m: 2, startPos: 200, nHeads: 1, kvHeads: 1, headDim: 128, memCount: 1 },
    ].entries()) {
      for (const maxSplits of [1, undefined]) {
        const { got, ref } = await runCase(s, 600 + i, { kvF16: true, maxSplits, window: i === 1 ? 50 : undefined });
        expectClose(got, ref, { ...tol.f32Reduction, label: `${JSON.stringify(s)} splits ${maxSplits ?? 'auto'}` });
      }
    }
  });

  test('qOffset and outOffset (split and single-pass)', async () => {
    const s = { m: 3, startPos: 9, nHeads: 4, kvHeads: 2, headDim: 16, memCount: 5 };
    for (const maxSplits of [undefined, 1]) {
      const { got, ref, head } = await runCase(s, 11, { qOffset: 13, outOffset: 37, maxSplits });
      expectClose(got, ref, tol.f32Reduction);
      expect(Array.from(head).every(Number.isNaN)).toBe(true); // nothing written before outOffset
    }
  });

  test('large scores (online-softmax rescaling) over a long context', async () => {
    const s = { m: 2, startPos: 1500, nHeads: 2, kvHeads: 1, headDim: 80, memCount: 40 };
    for (const maxSplits of [undefined, 1]) {
      const { got, ref } = await runCase(s, 21, { qScale: 30, maxSplits });
      const msg = compareClose(got, ref, { ...tol.f32Reduction, label: `maxSplits=${maxSplits}` });
      expect(msg).toBeNull();
    }
  });

  test('memory head mask: masked kv heads ignore the memory slots', async () => {
    const run = await testRunner();
    const s = { m: 3, startPos: 5, nHeads: 8, kvHeads: 4, headDim: 16, memCount: 6 };
    for (const maxSplits of [1, 8]) {
      const x = makeInputs(s, 77);
      const n = s.m * s.nHeads * s.headDim,
        headMask = 0b0101;
      const out = poisonF32(run.device, n);
      await runStep(run, (r) =>
        encodeAttention(r, {
          q: uploadF32(run.device, x.q),
          out,
          kCache: uploadF32(run.device, x.kCache),
          vCache: uploadF32(run.device, x.vCache),
          m: s.m,
          startPos: s.startPos,
          nHeads: s.nHeads,
          kvHeads: s.kvHeads,
          headDim: s.headDim,
          scale: 0.25,
          maxSplits,
          memory: { k: uploadF32(run.device, x.memK), v: uploadF32(run.device, x.memV), count: s.memCount, headMask },
        }),
      );
      const ref = attentionRef({
        ...s,
        q: x.q,
        kCache: x.kCache,
        vCache: x.vCache,
        scale: 0.25,
        memory: { k: x.memK, v: x.memV, count: s.memCount, headMask },
      });
      const noMem = attentionRef({ ...s, q: x.q, kCache: x.kCache, vCache: x.vCache, scale: 0.25 });
      const got = await readF32(run.device, out, n);
      expectClose(got, ref, tol.f32Reduction);
      // Heads of kv head 1 (query heads 2, 3) equal attention without memory.
      expectClose(got.subarray(2 * s.headDim, 4 * s.headDim), noMem.subarray(2 * s.headDim, 4 * s.headDim), tol.f32Reduction);
      expect(compareClose(got.subarray(0, 2 * s.headDim), noMem.subarray(0, 2 * s.headDim), tol.f32Reduction)).not.toBeNull();
    }
  });

  describe('sliding window and soft-cap (Mistral, Qwen2, Gemma)', () => {
    const shapes: Shape[] = [
      { m: 1, startPos: 40, nHeads: 4, kvHeads: 2, headDim: 32, memCount: 0 },
      { m: 1, startPos: 200, nHeads: 8, kvHeads: 1, headDim: 64, memCount: 6 },
      { m: 13, startPos: 20, nHeads: 4, kvHeads: 2, headDim: 24, memCount: 0 },
      { m: 9, startPos: 3, nHeads: 6, kvHeads: 3, headDim: 16, memCount: 5 },
    ];
    for (const s of shapes) {
      for (const window of [1, 5, 8, 64, 1000]) {
        for (const maxSplits of [1, undefined]) {
          test(`m=${s.m} startPos=${s.startPos} memory=${s.memCount} window=${window} maxSplits=${maxSplits ?? 'auto'}`, async () => {
            const { got, ref } = await runCase(s, 500 + window + s.m, { window, maxSplits });
            expectClose(got, ref, tol.f32Reduction);
          });
        }
      }
      test(`m=${s.m} startPos=${s.startPos}: soft-cap 5 on large scores, with and without a window`, async () => {
        for (const window of [undefined, 7]) {
          const { got, ref } = await runCase(s, 77 + s.m, { softcap: 5, qScale: 4, window });
          expectClose(got, ref, tol.f32Reduction);
        }
      });
    }
    test('a window at least the context long equals no window, bit for bit', async () => {
      const s = shapes[2];
      const a = await runCase(s, 9, {}),
        b = await runCase(s, 9, { window: s.startPos + s.m });
      expect(Array.from(b.got)).toEqual(Array.from(a.got));
    });
  });

  test('rejects bad shapes with named errors', async () => {
    const run = await testRunner();
    const buf = uploadF32(run.device, new Float32Array(64));
    const base: AttentionArgs = {
      q: buf,
      out: poisonF32(run.device, 64),
      kCache: buf,
      vCache: buf,
      m: 1,
      startPos: 0,
      nHeads: 4,
      kvHeads: 2,
      headDim: 16,
      scale: 0.25,
    };
    // Shapes and buffers: ShapeMismatchError naming the op and the tensor; a tuning option: InvalidOptionsError.
    const bad: [Partial<AttentionArgs>, string][] = [
      [{ kvHeads: 3 }, 'nHeads'],
      [{ headDim: 300 }, 'headDim'],
      [{ out: buf }, 'out'],
      [{ startPos: 10 }, 'kCache'],
      [{ memory: { k: buf, v: buf, count: 9 } }, 'memory.k'],
      [{ m: 0 }, 'm'],
      [{ startPos: -1 }, 'startPos'],
    ];
    for (const [change, tensor] of bad) {
      const err = thrown(() => encodeAttention(run, { ...base, ...change }));
      expect(err).toBeInstanceOf(ShapeMismatchError);
      expect(err).toMatchObject({
        message: expect.stringMatching(new RegExp(`^attention: ${tensor}[ :]`)),
        details: { op: 'attention', tensor },
      });
    }
    expect(() => encodeAttention(run, { ...base, maxSplits: 0 })).toThrow(InvalidOptionsError);
  });
});
