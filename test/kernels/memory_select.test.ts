/**
 * Memory³ selection kernels against the float64 reference (test/reference/memory_select.ts): scores over
 * GQA groups 1, 2, 5, head dims 8, 24, 80, reference lengths 1..128 and prefixes 0..5; top-k with
 * ties, NaN and n < k on exact inputs; the gather as an exact copy. Outputs are NaN/0xffffffff-poisoned.
 */
import { describe, expect, test } from 'vitest';
import { encodeMemoryGather, encodeMemoryScores, encodeMemoryTopk } from '../../src/kernels/memory_select';
import { expectClose, tol } from '../helpers/expect-close';
import { poisonF32, randomF32, readF32, runStep, testRunner, uploadF32, uploadU32 } from '../helpers/gpu';
import { memoryScoresRef, topKRef } from '../reference/memory_select';
import { ShapeMismatchError } from '../../src/util/errors';
import { thrown } from '../helpers/thrown';

const runner = testRunner();

async function readU32(device: GPUDevice, buf: GPUBuffer, n: number, offset = 0): Promise<Uint32Array> {
  return new Uint32Array((await readF32(device, buf, n, offset)).buffer);
}
const poisonU32 = (device: GPUDevice, n: number) => uploadU32(device, new Uint32Array(Math.max(n, 4)).fill(0xffffffff));

interface Case {
  heads: number;
  kvHeads: number;
  hd: number;
  n: number;
  prefix: number;
  k: number;
  memHeads: number[];
  qOff?: number;
  kOff?: number;
}

const cases: Case[] = [
  { heads: 1, kvHeads: 1, hd: 8, n: 1, prefix: 0, k: 1, memHeads: [0] },
  { heads: 2, kvHeads: 2, hd: 8, n: 5, prefix: 3, k: 8, memHeads: [1] },
  { heads: 4, kvHeads: 2, hd: 24, n: 33, prefix: 5, k: 8, memHeads: [0, 1], qOff: 7, kOff: 13 },
  { heads: 10, kvHeads: 2, hd: 80, n: 128, prefix: 1, k: 8, memHeads: [1] },
  { heads: 5, kvHeads: 1, hd: 80, n: 17, prefix: 2, k: 4, memHeads: [0] },
  { heads: 6, kvHeads: 3, hd: 24, n: 70, prefix: 4, k: 16, memHeads: [0, 2] },
  { heads: 3, kvHeads: 3, hd: 8, n: 2, prefix: 0, k: 3, memHeads: [0, 1, 2] },
];

describe('memory_select scores', () => {
  for (const c of cases) {
    test(`heads ${c.heads}/${c.kvHeads} hd ${c.hd} n ${c.n} prefix ${c.prefix}`, async () => {
      const run = await runner,
        dev = run.device,
        rows = c.prefix + c.n;
      const qOff = c.qOff ?? 0,
        kOff = c.kOff ?? 0,
        outOff = 3,
        mh = c.memHeads.length;
      const q = randomF32(qOff + rows * c.heads * c.hd, c.n * 7 + c.hd, 2);
      const k = randomF32(kOff + rows * c.kvHeads * c.hd, c.n * 11 + c.hd, 2);
      const gq = uploadF32(dev, q),
        gk = uploadF32(dev, k),
        heads = uploadU32(dev, c.memHeads);
      const scores = poisonF32(dev, outOff + mh * c.n);
      await runStep(run, (r) =>
        encodeMemoryScores(r, {
          q: gq,
          k: gk,
          headList: heads,
          scores,
          n: c.n,
          prefixLen: c.prefix,
          heads: c.heads,
          kvHeads: c.kvHeads,
          headDim: c.hd,
          memHeads: mh,
          qOffset: qOff,
          kOffset: kOff,
          outOffset: outOff,
        }),
      );
      const ref = memoryScoresRef(
        q.subarray(qOff),
        k.subarray(kOff),
        rows,
        c.prefix,
        { heads: c.heads, kvHeads: c.kvHeads, headDim: c.hd },
        c.memHeads,
      );
      const got = await readF32(dev, scores, outOff + mh * c.n);
      expectClose(got.subarray(outOff), ref, tol.f32Reduction);
      expect(Number.isNaN(got[0])).toBe(true); // before outOffset: untouched
    });
  }

  test('large logits stay finite (log-sum-exp form)', async () => {
    const run = await runner,
      dev = run.device,
      hd = 8,
      n = 6;
    const q = randomF32(n * 2 * hd, 5, 300),
      k = randomF32(n * hd, 6, 300); // dots up to ~1e5 · 1/√8
    const scores = poisonF32(dev, n);
    await runStep(run, (r) =>
      encodeMemoryScores(r, {
        q: uploadF32(dev, q),
        k: uploadF32(dev, k),
        headList: uploadU32(dev, [0]),
        scores,
        n,
        prefixLen: 0,
        heads: 2,
        kvHeads: 1,
        headDim: hd,
        memHeads: 1,
      }),
    );
    const got = await readF32(dev, scores, n);
    for (const s of got) expect(Number.isFinite(s)).toBe(true);
    expectClose(got, memoryScoresRef(q, k, n, 0, { heads: 2, kvHeads: 1, headDim: hd }, [0]), { atol: 1e-2, rtol: 1e-4 });
  });

  test('debug case: key j = j·e0 with queries e0 ranks later tokens first', async () => {
    const run = await runner,
      dev = run.device,
      hd = 8,
      n = 4,
      prefix = 1;
    const q = new Float32Array((prefix + n) * hd),
      k = new Float32Array((prefix + n) * hd);
    for (let r = 0; r < prefix + n; r++) {
      q[r * hd] = 1;
      k[r * hd] = r < prefix ? 100 : r - prefix;
    }
    const scores = poisonF32(dev, n),
      pos = poisonU32(dev, 2);
    await runStep(run, (r) => {
      const common = { n, k: 2, memHeads: 1 };
      encodeMemoryScores(r, {
        q: uploadF32(dev, q),
        k: uploadF32(dev, k),
        headList: uploadU32(dev, [0]),
        scores,
        n,
        prefixLen: prefix,
        heads: 1,
        kvHeads: 1,
        headDim: hd,
        memHeads: 1,
      });
      encodeMemoryTopk(r, { ...common, scores, positions: pos, posBase: prefix });
    });
    const s = await readF32(dev, scores, n);
    for (let j = 0; j < n; j++) expect(s[j]).toBeCloseTo(Math.log(n * Math.exp(j / Math.sqrt(hd))), 5);
    expect(Array.from(await readU32(dev, pos, 2))).toEqual([prefix + 3, prefix + 2]);
  });
});

describe('memory_select topk', () => {
  const topkCases: { n: number; k: number; memHeads: number; ties?: boolean; nan?: boolean }[] = [
    { n: 1, k: 1, memHeads: 1 },
    { n: 1, k: 8, memHeads: 2 },
    { n: 5, k: 8, memHeads: 3, ties: true },
    { n: 8, k: 8, memHeads: 1 },
    { n: 37, k: 8, memHeads: 5, ties: true },
    { n: 128, k: 8, memHeads: 8, nan: true },
    { n: 100, k: 33, memHeads: 2, ties: true },
  ];
  for (const c of topkCases) {
    test(`n ${c.n} k ${c.k} heads ${c.memHeads}${c.ties ? ' ties' : ''}${c.nan ? ' NaN' : ''}`, async () => {
      const run = await runner,
        dev = run.device,
        scoresOff = 5,
        outOff = 2,
        posBase = 3;
      const s = randomF32(scoresOff + c.memHeads * c.n, c.n + c.k, 4);
      if (c.ties) for (let i = scoresOff; i < s.length; i++) s[i] = Math.round(s[i]); // integers: many ties
      if (c.nan) for (let i = scoresOff; i < s.length; i += 9) s[i] = NaN;
      const pos = poisonU32(dev, outOff + c.memHeads * c.k);
      await runStep(run, (r) =>
        encodeMemoryTopk(r, {
          scores: uploadF32(dev, s),
          positions: pos,
          n: c.n,
          k: c.k,
          memHeads: c.memHeads,
          posBase,
          scoresOffset: scoresOff,
          outOffset: outOff,
        }),
      );
      const got = await readU32(dev, pos, outOff + c.memHeads * c.k);
      expect(got[0]).toBe(0xffffffff);
      for (let h = 0; h < c.memHeads; h++) {
        const row = Array.from(s.subarray(scoresOff + h * c.n, scoresOff + (h + 1) * c.n), (x) => (Number.isNaN(x) ? -Infinity : x));
        const want = topKRef(row, c.k).map((j) => j + posBase);
        expect(Array.from(got.subarray(outOff + h * c.k, outOff + (h + 1) * c.k)), `head ${h}`).toEqual(want);
      }
    });
  }
});

describe('memory_select gather', () => {
  for (const c of [
    { mh: [0], k: 1, hd: 8, kvHeads: 1 },
    { mh: [1, 3], k: 8, hd: 80, kvHeads: 4 },
    { mh: [2], k: 5, hd: 24, kvHeads: 3 },
  ]) {
    test(`heads ${c.mh} of ${c.kvHeads} k ${c.k} hd ${c.hd}`, async () => {
      const run = await runner,
        dev = run.device,
        ctx = 40,
        rowBase = 6,
        posBase = 2,
        posOff = 3,
        outOff = 10;
      const kc = randomF32(ctx * c.kvHeads * c.hd, c.hd, 1),
        vc = randomF32(ctx * c.kvHeads * c.hd, c.hd + 1, 1);
      const positions = new Uint32Array(posOff + c.mh.length * c.k);
      for (let i = posOff; i < positions.length; i++) positions[i] = posBase + ((i * 7) % (ctx - rowBase));
      const size = c.mh.length * c.k * c.hd;
      const keys = poisonF32(dev, outOff + size),
        values = poisonF32(dev, outOff + size);
      await runStep(run, (r) =>
        encodeMemoryGather(r, {
          positions: uploadU32(dev, positions),
          headList: uploadU32(dev, c.mh),
          kCache: uploadF32(dev, kc),
          vCache: uploadF32(dev, vc),
          keys,
          values,
          memHeads: c.mh.length,
          k: c.k,
          headDim: c.hd,
          kvHeads: c.kvHeads,
          posBase,
          rowBase,
          posOffset: posOff,
          outOffset: outOff,
        }),
      );
      const wantK = new Float32Array(size),
        wantV = new Float32Array(size);
      c.mh.forEach((g, m) => {
        for (let s = 0; s < c.k; s++) {
          const row = positions[posOff + m * c.k + s] - posBase + rowBase,
            src = (row * c.kvHeads + g) * c.hd;
          wantK.set(kc.subarray(src, src + c.hd), (m * c.k + s) * c.hd);
          wantV.set(vc.subarray(src, src + c.hd), (m * c.k + s) * c.hd);
        }
      });
      expect(Array.from(await readF32(dev, keys, size, outOff))).toEqual(Array.from(wantK));
      expect(Array.from(await readF32(dev, values, size, outOff))).toEqual(Array.from(wantV));
    });
  }
});

describe('memory_select arguments', () => {
  test('rejects bad shapes and short buffers with ShapeMismatchError naming op and tensor', async () => {
    const run = await runner,
      dev = run.device;
    const f = (n: number) => uploadF32(dev, new Float32Array(n)),
      u = (n: number) => uploadU32(dev, new Uint32Array(n));
    // Two rows (prefix 1 + n 1) of 2 heads × 8: q 32, k 32 (kvHeads 2), scores 2 × 1.
    const scores = { q: f(32), k: f(32), headList: u(4), scores: f(4), n: 1, prefixLen: 1, heads: 2, kvHeads: 2, headDim: 8, memHeads: 2 };
    const topk = { scores: f(8), positions: u(8), n: 4, k: 2, memHeads: 2, posBase: 0 };
    const gather = {
      positions: u(8),
      headList: u(4),
      kCache: f(64),
      vCache: f(64),
      keys: f(32),
      values: f(32),
      memHeads: 2,
      k: 2,
      headDim: 8,
      kvHeads: 2,
      posBase: 0,
      rowBase: 3,
    };
    const cases: [string, () => void, string][] = [
      ['memory_select_scores', () => encodeMemoryScores(run, { ...scores, heads: 3 }), 'heads'],
      ['memory_select_scores', () => encodeMemoryScores(run, { ...scores, prefixLen: 2 }), 'q'],
      ['memory_select_scores', () => encodeMemoryScores(run, { ...scores, outOffset: 3 }), 'scores'],
      ['memory_select_scores', () => encodeMemoryScores(run, { ...scores, memHeads: 3 }), 'memHeads'],
      ['memory_select_topk', () => encodeMemoryTopk(run, { ...topk, n: 0 }), 'n'],
      ['memory_select_topk', () => encodeMemoryTopk(run, { ...topk, n: 5 }), 'scores'],
      ['memory_select_topk', () => encodeMemoryTopk(run, { ...topk, outOffset: 5 }), 'positions'],
      ['memory_select_gather', () => encodeMemoryGather(run, { ...gather, rowBase: 4 }), 'kCache'],
      ['memory_select_gather', () => encodeMemoryGather(run, { ...gather, outOffset: 1 }), 'keys'],
      ['memory_select_gather', () => encodeMemoryGather(run, { ...gather, posBase: -1 }), 'posBase'],
      ['memory_select_gather', () => encodeMemoryGather(run, { ...gather, values: gather.keys }), 'values'],
    ];
    for (const [op, call, tensor] of cases) {
      const err = thrown(call);
      expect(err, `${op} ${tensor}`).toBeInstanceOf(ShapeMismatchError);
      expect(err).toMatchObject({ message: expect.stringMatching(new RegExp(`^${op}: ${tensor}[ :]`)), details: { op, tensor } });
    }
    // The valid arguments pass (nothing was recorded: every call above threw before dispatching).
    await runStep(run, (r) => {
      encodeMemoryScores(r, scores);
      encodeMemoryTopk(r, topk);
      encodeMemoryGather(r, gather);
    });
  });
});
