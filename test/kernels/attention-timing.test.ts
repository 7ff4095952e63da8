/**
 * Rough attention timings in this browser (SwiftShader here: ratios matter, not absolute numbers).
 * Each timed configuration is also checked against the float64 reference so the numbers are for
 * correct outputs. Timings go to console.log only.
 */
import { describe, expect, test } from 'vitest';
import { encodeAttention, planAttention, type AttentionArgs } from '../../src/kernels/attention';
import { expectClose, tol } from '../helpers/expect-close';
import { poisonF32, randomF32, readF32, runStep, testRunner, uploadF32 } from '../helpers/gpu';
import { attentionRef } from '../reference/attention';

const nHeads = 9,
  kvHeads = 3,
  headDim = 64,
  memCount = 40;

async function timeConfig(m: number, startPos: number, withMemory: boolean, splitOptions: (number | undefined)[]) {
  const run = await testRunner();
  const ctxRows = (startPos + m) * kvHeads * headDim;
  const q = randomF32(m * nHeads * headDim, 1),
    k = randomF32(ctxRows, 2),
    v = randomF32(ctxRows, 3);
  const memK = randomF32(kvHeads * memCount * headDim, 4),
    memV = randomF32(kvHeads * memCount * headDim, 5);
  const out = poisonF32(run.device, m * nHeads * headDim);
  const base: AttentionArgs = {
    q: uploadF32(run.device, q),
    out,
    kCache: uploadF32(run.device, k),
    vCache: uploadF32(run.device, v),
    m,
    startPos,
    nHeads,
    kvHeads,
    headDim,
    scale: 1 / Math.sqrt(headDim),
    memory: withMemory ? { k: uploadF32(run.device, memK), v: uploadF32(run.device, memV), count: memCount } : undefined,
  };
  const ref = attentionRef({
    q,
    kCache: k,
    vCache: v,
    m,
    startPos,
    nHeads,
    kvHeads,
    headDim,
    scale: base.scale,
    memory: withMemory ? { k: memK, v: memV, count: memCount } : undefined,
  });
  const lines: string[] = [];
  for (const maxSplits of splitOptions) {
    const args = { ...base, maxSplits };
    await runStep(run, (r) => encodeAttention(r, args)); // compile + warm up
    expectClose(await readF32(run.device, out, ref.length), ref, tol.f32Reduction);
    // `calls` attention calls per step (as a model's layers would) amortize the submit round trip.
    const reps = 5,
      calls = 8,
      times: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      await runStep(run, (r) => {
        for (let c = 0; c < calls; c++) encodeAttention(r, args);
      });
      times.push((performance.now() - t0) / calls);
    }
    times.sort((a, b) => a - b);
    const plan = planAttention(m, nHeads, (withMemory ? memCount : 0) + startPos + m, maxSplits);
    lines.push(
      `  maxSplits=${maxSplits ?? 'auto'} (nSplits ${plan.nSplits}, chunk ${plan.chunk}): ` +
        `median ${times[reps >> 1].toFixed(2)} ms/call, min ${times[0].toFixed(2)} ms/call`,
    );
  }
  return lines;
}

describe('attention timings (console only)', () => {
  test('decode step, context 1024, 9 heads / 3 kv, hd 64', async () => {
    for (const withMemory of [false, true]) {
      const lines = await timeConfig(1, 1023, withMemory, [undefined, 1, 4, 16, 64]);
      console.log(`attention decode ctx 1024${withMemory ? ` + ${memCount} memory slots` : ''}:\n${lines.join('\n')}`);
      expect(lines.length).toBe(5);
    }
  });

  test('prefill 128 tokens, 9 heads / 3 kv, hd 64', async () => {
    const lines = await timeConfig(128, 0, false, [undefined, 1, 4]);
    console.log(`attention prefill m=128 from position 0:\n${lines.join('\n')}`);
    expect(lines.length).toBe(3);
  });
});
