/**
 * The whole engine against the float64 CPU reference (test/reference/llama.ts) on the same
 * safetensors: prefill in several chunks and single-token decode steps, every family, f32 exactly
 * (logits NMSE ≤ 1e-6, same argmax) and the f16/bf16 weight paths within their rounding.
 */
import { describe, expect, test } from 'vitest';
import { commands } from 'vitest/browser';
import { createEngine } from '../../src/index';
import { argmax, fixtureUrl, nmse } from '../helpers/engine';
import { seeded } from '../helpers/gpu';

const cases: { model: string; ref: string; nmse: number; maxRel: number }[] = [
  { model: 'llama', ref: 'llama', nmse: 1e-6, maxRel: 1e-3 },
  { model: 'llama3', ref: 'llama3', nmse: 1e-6, maxRel: 1e-3 },
  { model: 'qwen2', ref: 'qwen2', nmse: 1e-6, maxRel: 1e-3 },
  { model: 'mistral', ref: 'mistral', nmse: 1e-6, maxRel: 1e-3 },
  { model: 'memory3', ref: 'memory3', nmse: 1e-6, maxRel: 1e-3 },
  // The architectures of model/arch beyond Llama's block: windows shorter than the 26 tokens here.
  { model: 'mistral-window', ref: 'mistral-window', nmse: 1e-6, maxRel: 1e-3 },
  { model: 'qwen3', ref: 'qwen3', nmse: 1e-6, maxRel: 1e-3 },
  { model: 'smollm3', ref: 'smollm3', nmse: 1e-6, maxRel: 1e-3 },
  { model: 'gemma2', ref: 'gemma2', nmse: 1e-6, maxRel: 1e-3 },
  { model: 'gemma3', ref: 'gemma3', nmse: 1e-6, maxRel: 1e-3 },
  { model: 'phi3', ref: 'phi3', nmse: 1e-6, maxRel: 1e-3 },
  { model: 'llama-sharded', ref: 'llama', nmse: 1e-6, maxRel: 1e-3 },
  // f16 weights against the f32 originals: the rounding of the weights dominates.
  { model: 'llama-f16', ref: 'llama', nmse: 1e-4, maxRel: 1e-2 },
  { model: 'llama-bf16', ref: 'llama', nmse: 1e-2, maxRel: 8e-2 },
];

describe('engine logits vs float64 reference', () => {
  test('weights split across many buffers (tiny binding limit) give the same logits', async () => {
    const ids = [322, 10, 20, 30, 40, 50, 60, 70];
    const whole = await createEngine({ model: fixtureUrl('llama-f16') });
    // 1 KiB parts: the (328, 64) f16 embedding becomes 41 parts, every projection several.
    const split = await createEngine({ model: fixtureUrl('llama-f16'), maxBindingBytes: 1024 });
    try {
      expect(split.info.weightBuffers).toBeGreaterThan(whole.info.weightBuffers + 40);
      expect(Array.from(await split.evaluate(ids))).toEqual(Array.from(await whole.evaluate(ids)));
    } finally {
      await whole.dispose();
      await split.dispose();
    }
  });

  test('f16 KV cache: half the cache memory, logits within f16 rounding of the reference (prefill chunks and decode)', async () => {
    const f32 = await createEngine({ model: fixtureUrl('qwen3'), prefillChunk: 7 });
    const f16 = await createEngine({ model: fixtureUrl('qwen3'), prefillChunk: 7, kvCacheDtype: 'f16' });
    try {
      expect(f16.info.gpuBytes.kvCache * 2).toBe(f32.info.gpuBytes.kvCache);
      const ids = [3, 17, 40, 2, 99, 150, 7, 8, 9, 10, 11, 200, 13, 14, 15, 16];
      for (const n of [14, 15, 16]) {
        const ours = await f16.evaluate(ids.slice(0, n));
        const [ref] = await commands.referenceLogits({ dir: 'test/fixtures/models/qwen3', tokens: ids.slice(0, n) });
        expect(nmse(ours, ref), `NMSE at ${n} tokens`).toBeLessThanOrEqual(1e-5);
        expect(argmax(ours)).toBe(argmax(ref));
      }
      await expect(createEngine({ model: fixtureUrl('qwen3'), kvCacheDtype: 'bf16' as never })).rejects.toThrow(/kvCacheDtype/);
    } finally {
      await f32.dispose();
      await f16.dispose();
    }
  });

  for (const model of ['qwen2', 'gemma2', 'phi3']) {
    test(`${model}: q/k/v and gate/up kept apart (fuseProjections: false) give the fused matrices' logits`, async () => {
      const ids = [3, 10, 20, 30, 40, 50, 60, 70];
      const fused = await createEngine({ model: fixtureUrl(model), prefillChunk: 4 });
      const apart = await createEngine({ model: fixtureUrl(model), prefillChunk: 4, fuseProjections: false });
      try {
        // One buffer per layer for [q; k; v], one for [gate; up] (and Qwen2's one bias vector): 3-5 fewer per layer.
        expect(apart.info.weightBuffers - fused.info.weightBuffers).toBeGreaterThanOrEqual(3 * fused.info.numLayers);
        for (const n of [6, 7, 8]) {
          const a = await fused.evaluate(ids.slice(0, n)),
            b = await apart.evaluate(ids.slice(0, n));
          expect(nmse(a, b), `NMSE at ${n} tokens`).toBeLessThanOrEqual(1e-10);
        }
      } finally {
        await fused.dispose();
        await apart.dispose();
      }
    });
  }

  for (const c of cases) {
    test(c.model, async () => {
      const engine = await createEngine({ model: fixtureUrl(c.model), prefillChunk: 7 });
      try {
        const rand = seeded(99);
        const tokens = Array.from({ length: 23 }, () => Math.floor(rand() * (engine.info.vocabSize - 8)));
        // 23 prompt tokens = chunks of 7, 7, 7, 2; then 3 decode steps of one token each.
        for (const n of [23, 24, 25, 26]) {
          const ids = [...tokens, 5, 17, 42].slice(0, n);
          const ours = await engine.evaluate(ids);
          const [ref] = await commands.referenceLogits({ dir: `test/fixtures/models/${c.ref}`, tokens: ids });
          const scale = Math.max(...ref.map(Math.abs));
          let worst = 0;
          for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(ours[i] - ref[i]) / scale);
          expect(nmse(ours, ref), `NMSE at ${n} tokens`).toBeLessThanOrEqual(c.nmse);
          expect(worst, `max |Δ| / max|logit| at ${n} tokens`).toBeLessThanOrEqual(c.maxRel);
          expect(argmax(ours)).toBe(argmax(ref));
        }
        expect(engine.info.weightDtype).toBe(c.model.includes('16') ? 'f16' : 'f32');
      } finally {
        await engine.dispose();
      }
    });
  }
});
