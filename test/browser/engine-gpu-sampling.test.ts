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
