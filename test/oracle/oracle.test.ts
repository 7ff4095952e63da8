/**
 * The oracle: every fixture model runs in our engine (Chromium, WebGPU, through the worker API) and
 * in llama.cpp (node-llama-cpp, CPU) on the GGUF export of the same weights. Forced decoding: both
 * sides are fed the same 20-token prompt and then llama.cpp's greedy tokens; at each of 32 steps the
 * greedy token must be identical and llama.cpp's top-5 probabilities matched within 1e-3.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { commands } from 'vitest/browser';
import { createEngine } from '../../src/index';
import { seeded } from '../helpers/gpu';

const models = ['llama', 'llama3', 'qwen2', 'mistral', 'memory3'];
const promptLength = 20, steps = 32, topK = 5, tolerance = 1e-3;
const results: { model: string; agree: boolean; tokens: number; maxDeltaP: number; mismatches: string[] }[] = [];

function softmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(logits[i] - max);
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

describe('oracle: our engine vs llama.cpp on identical weights', () => {
  afterAll(async () => {
    await commands.writeJson('test/fixtures/models/oracle-results.json', { promptLength, steps, topK, tolerance, results });
  });

  for (const name of models) {
    test(name, async () => {
      const rand = seeded(1234 + name.length);
      const engine = await createEngine({ model: `/test/fixtures/models/${name}/`, prefillChunk: 8 });
      try {
        const vocab = engine.info.vocabSize;
        const prompt = Array.from({ length: promptLength }, () => Math.floor(rand() * (vocab - 8)));
        const ref = await commands.llamaCppForced({ gguf: `test/fixtures/models/${name}/model.gguf`, promptTokens: prompt, steps, topK });
        let maxDeltaP = 0;
        const mismatches: string[] = [];
        for (let s = 0; s < steps; s++) {
          const fed = ref.fed.slice(0, promptLength + s);
          const probs = softmax(await engine.evaluate(fed));
          const ours = argmax(probs), theirs = ref.steps[s];
          if (ours !== theirs.token) mismatches.push(`step ${s}: greedy ${ours} vs llama.cpp ${theirs.token}`);
          for (const { token, p } of theirs.top) {
            const d = Math.abs(probs[token] - p);
            maxDeltaP = Math.max(maxDeltaP, d);
            if (d > tolerance) mismatches.push(`step ${s}: p(${token}) ${probs[token].toFixed(6)} vs ${p.toFixed(6)}`);
          }
        }
        results.push({ model: name, agree: mismatches.length === 0, tokens: steps, maxDeltaP, mismatches: mismatches.slice(0, 10) });
        console.log(`oracle ${name}: max |Δp| ${maxDeltaP.toExponential(2)}, ${mismatches.length} mismatches`);
        expect(mismatches).toEqual([]);
      } finally {
        await engine.dispose();
      }
    });
  }
});
