/**
 * GPU sampling in the decode loop: the same tokens as the CPU Sampler (forced through the debug
 * switch) for greedy and seeded sampling on fixture models, and a token id (8 bytes) read back
 * per decoded token instead of the logits row.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { Engine } from '../../src/engine/engine';
import type { GenerateRequest } from '../../src/engine/types';
import { urlSource } from '../../src/model/source';

const engines = new Map<string, Engine>();
async function engineFor(name: string): Promise<Engine> {
  let e = engines.get(name);
  if (!e) {
    e = await Engine.load(urlSource(`${location.origin}/test/fixtures/models/${name}/`), { contextLength: 96 });
    engines.set(name, e);
  }
  return e;
}
afterAll(() => {
  for (const e of engines.values()) e.dispose();
});

async function tokens(e: Engine, req: GenerateRequest, cpu: boolean): Promise<{ ids: number[]; bytes: number }> {
  e.resetContext();
  e.debug.cpuSampling = cpu;
  const before = e.debug.readbackBytes;
  const r = await e.generate(req, () => {});
  e.debug.cpuSampling = false;
  return { ids: r.tokens, bytes: e.debug.readbackBytes - before };
}

const requests: [string, Omit<GenerateRequest, 'tokens'>][] = [
  ['greedy', { temperature: 0 }],
  ['greedy + penalty', { temperature: 0, repetitionPenalty: 1.3 }],
  ['temperature', { temperature: 1, seed: 7 }],
  ['top-k + top-p', { temperature: 0.9, topK: 20, topP: 0.9, seed: 11 }],
  ['top-p + min-p + penalty', { temperature: 1.1, topP: 0.8, minP: 0.05, repetitionPenalty: 1.2, seed: 3 }],
];

describe('GPU sampling = CPU sampler on fixture models', () => {
  for (const model of ['llama', 'qwen2']) {
    for (const [name, opts] of requests) {
      test(`${model}: ${name}`, async () => {
        const e = await engineFor(model);
        const req = { ...opts, tokens: [1, 5, 9, 13, 2], maxTokens: 10, ignoreEos: true };
        const gpu = await tokens(e, req, false);
        const cpu = await tokens(e, req, true);
        expect(gpu.ids).toEqual(cpu.ids);
        const row = e.info.vocabSize * 4;
        // Prefill reads one logits row; each of the 9 decode steps then reads 8 bytes (GPU) or a row (CPU).
        expect(cpu.bytes).toBe(10 * row);
        expect(gpu.bytes).toBe(row + 9 * 8);
      });
    }
  }
});

describe("one step in flight: the next step is submitted before this one's id is read", () => {
  test('EOS, a stop string and maxTokens end at the right token; the discarded step leaves the cache at the true length', async () => {
    const e = await engineFor('llama');
    const base: GenerateRequest & { tokens: number[] } = { tokens: [1, 5, 9, 13, 2], temperature: 0, ignoreEos: true, maxTokens: 12 };
    e.resetContext();
    const full = await e.generate(base, () => {});
    // Stop on the 5th generated token's text: generation ends there with a step already queued after it.
    const text = e.tokenizer.decode(full.tokens.slice(0, 5));
    const cut = e.tokenizer.decode(full.tokens.slice(4, 5));
    for (const req of [
      { ...base, maxTokens: 5 },
      { ...base, stop: cut.length > 0 ? [cut] : undefined, maxTokens: cut.length > 0 ? 12 : 5 },
    ]) {
      e.resetContext();
      const r = await e.generate(req, () => {});
      expect(r.tokens).toEqual(full.tokens.slice(0, r.tokens.length));
      expect(r.tokens.length).toBeLessThanOrEqual(5);
      // Rows: the prompt and every generated token but the last (never fed), whatever was in flight.
      expect([...e.model.kv.tokens]).toEqual([...base.tokens, ...r.tokens.slice(0, -1)]);
      // The cache is right: continuing from it gives the same logits as a fresh prefill of the same ids.
      const ids = [...base.tokens, ...r.tokens];
      const cont = await e.evaluate(ids);
      e.resetContext();
      const fresh = await e.evaluate(ids);
      expect(Array.from(cont)).toEqual(Array.from(fresh));
    }
    expect(text.length).toBeGreaterThan(0);
  });

  test('the repetition penalty window grows on the GPU across in-flight steps (same ids as the CPU sampler over 40 tokens)', async () => {
    const e = await engineFor('qwen2');
    for (const repetitionWindow of [0, 3]) {
      const req = { tokens: [1, 5, 9], maxTokens: 40, temperature: 0, repetitionPenalty: 1.5, repetitionWindow, ignoreEos: true };
      const gpu = await tokens(e, req, false);
      const cpu = await tokens(e, req, true);
      expect(gpu.ids, `window ${repetitionWindow}`).toEqual(cpu.ids);
    }
  });
});
