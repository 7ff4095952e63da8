/**
 * The float64 CPU reference vs llama.cpp (node-llama-cpp, F32 GGUF, F32 KV cache): identical greedy
 * tokens and top-5 probabilities within 1e-3 over a 20-token prompt + 32 greedy steps. This checks the
 * GGUF conversion (Q/K permutation, rope_freqs, biases, head_dim) against an independent runtime.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixturesDir, makeFixtures } from '../../tools/fixtures/writeFixtures';
import { fixtureSpecs } from '../../tools/fixtures/models';
import { llamaCppForced } from '../helpers/llamacpp';
import { applyRope, argmax, loadReferenceModel, referenceLogits, ropeInvFreq, softmax } from '../reference/llama';

const promptTokens = Array.from({ length: 20 }, (_, i) => (i * 37 + 11) % 322); // fixed, no specials
const steps = 32;
const topK = 5;

beforeAll(() => {
  makeFixtures({ ifMissing: true });
});

describe.each(fixtureSpecs.filter((s) => s.gguf).map((s) => s.name))('llama.cpp vs float64 reference: %s', (name) => {
  it('same greedy tokens, top-5 probabilities within 1e-3', async () => {
    const cpp = await llamaCppForced({ gguf: join(fixturesDir, name, 'model.gguf'), promptTokens, steps, topK });
    expect(cpp.steps.length).toBe(steps);
    expect(cpp.fed.length).toBe(promptTokens.length + steps - 1);
    const model = loadReferenceModel(join(fixturesDir, name));
    const logits = referenceLogits(model, cpp.fed).slice(promptTokens.length - 1); // one row per step
    let maxDelta = 0;
    let minTop1 = 1;
    let minGap = Infinity;
    cpp.steps.forEach((step, i) => {
      expect(step.probSum).toBeCloseTo(1, 5); // llama.cpp's own full softmax
      expect(step.maxProbDelta).toBeLessThan(1e-5); // ...equals a softmax of its raw logits
      const probs = softmax(logits[i]);
      expect(step.token, `step ${i}`).toBe(argmax(probs));
      for (const { token, p } of step.top) maxDelta = Math.max(maxDelta, Math.abs(p - probs[token]));
      const sorted = [...logits[i]].sort((a, b) => b - a);
      minTop1 = Math.min(minTop1, probs[argmax(probs)]);
      minGap = Math.min(minGap, sorted[0] - sorted[1]);
    });
    console.log(
      `${name}: max |Δp| top-${topK} ${maxDelta.toExponential(2)}, min top-1 p ${minTop1.toFixed(3)}, min logit gap ${minGap.toFixed(3)}`,
    );
    expect(maxDelta).toBeLessThan(1e-3);
  });
});

describe('reference model building blocks', () => {
  it('RoPE preserves norms and makes q·k depend only on the relative position', () => {
    const headDim = 8;
    const inv = ropeInvFreq({ rope_theta: 10000 }, headDim);
    const q = Float64Array.from({ length: headDim }, (_, i) => Math.sin(i + 1));
    const k = Float64Array.from({ length: headDim }, (_, i) => Math.cos(3 * i));
    const dotAt = (m: number, n: number) => {
      const a = q.slice();
      const b = k.slice();
      applyRope(a, 1, headDim, inv, m);
      applyRope(b, 1, headDim, inv, n);
      return a.reduce((s, v, i) => s + v * b[i], 0);
    };
    expect(dotAt(7, 3)).toBeCloseTo(dotAt(14, 10), 12);
    const rotated = q.slice();
    applyRope(rotated, 1, headDim, inv, 5);
    expect(Math.hypot(...rotated)).toBeCloseTo(Math.hypot(...q), 12);
  });

  it('llama3 scaling keeps high frequencies, divides low ones by the factor', () => {
    const scaling = { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 };
    const plain = ropeInvFreq({ rope_theta: 500000 }, 8);
    const scaled = ropeInvFreq({ rope_theta: 500000, rope_scaling: scaling }, 8);
    expect(scaled[0]).toBe(plain[0]); // wavelength 2π < 16
    expect(scaled[3]).toBeCloseTo(plain[3] / 8, 15); // wavelength ≫ 64
  });

  it('is causal: appending tokens leaves earlier logits unchanged', () => {
    const model = loadReferenceModel(join(fixturesDir, 'mistral'));
    const short = referenceLogits(model, promptTokens.slice(0, 5));
    const long = referenceLogits(model, promptTokens.slice(0, 9));
    for (let t = 0; t < 5; t++) expect(Array.from(long[t])).toEqual(Array.from(short[t]));
  });
});

describe('dtype and sharding variants of llama', () => {
  const tokens = promptTokens.slice(0, 12);
  const logitsOf = (name: string) => referenceLogits(loadReferenceModel(join(fixturesDir, name)), tokens);

  it('sharded safetensors give exactly the same logits', () => {
    const base = logitsOf('llama');
    logitsOf('llama-sharded').forEach((row, t) => expect(Array.from(row)).toEqual(Array.from(base[t])));
  });

  // Rounding every weight (unit roundoff u: 2^-11 f16, 2^-8 bf16) moves logits by O(u) of their scale, not
  // of each element: errors are measured against the row's largest |logit|, and bf16 gets 8x f16's bound.
  it.each([
    ['llama-f16', 1e-2],
    ['llama-bf16', 8e-2],
  ] as const)('%s logits within %f of the row scale', (name, tol) => {
    const base = logitsOf('llama');
    let worstRatio = 0;
    let errSq = 0;
    let refSq = 0;
    logitsOf(name).forEach((row, t) => {
      const scale = base[t].reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      row.forEach((actual, i) => {
        const d = actual - base[t][i];
        worstRatio = Math.max(worstRatio, Math.abs(d) / scale);
        errSq += d * d;
        refSq += base[t][i] * base[t][i];
      });
      expect(argmax(row), `greedy token at position ${t}`).toBe(argmax(base[t]));
    });
    console.log(`${name}: max |Δlogit| / row max ${worstRatio.toExponential(2)}, NMSE ${(errSq / refSq).toExponential(2)}`);
    expect(worstRatio).toBeLessThanOrEqual(tol);
    expect(errSq / refSq).toBeLessThanOrEqual(tol * tol);
  });
});
