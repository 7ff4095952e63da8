/**
 * Our Llama ONNX export (tools/onnx/export-llama.ts) in onnxruntime-web's WebGPU EP (SwiftShader
 * here), driven by the bench's peer decoder (bench/peers/ort-decoder.ts: KV cache kept on the GPU
 * between steps): a prefill, then single-token decode steps, each step's logits against the float64
 * reference on the same safetensors. The `llama` fixture has GQA (4 heads over 2 kv heads) and
 * head_dim 16 (GroupQueryAttention's rotary path needs a multiple of 16, so not llama3's 8).
 * onnxruntime's verbose log places every node but the attention_mask → seqlens_k arithmetic on
 * WebGpuExecutionProvider (GroupQueryAttention included).
 */
import { describe, expect, test } from 'vitest';
import { commands } from 'vitest/browser';
import { argmaxRow, createOrtDecoder } from '../../bench/peers/ort-decoder';
import { llamaOnnx } from '../../tools/onnx/export-llama';
import { safetensorsBytesReader } from '../../tools/onnx/safetensors-reader';
import { fixtureUrl, nmse } from '../helpers/engine';

async function exportFixture(name: string): Promise<Uint8Array> {
  const config = await (await fetch(`${fixtureUrl(name)}config.json`)).json();
  const weights = new Uint8Array(await (await fetch(`${fixtureUrl(name)}model.safetensors`)).arrayBuffer());
  return llamaOnnx(config, safetensorsBytesReader(weights), { maxPositions: 64 }).toBytes();
}

describe('ONNX export in onnxruntime-web (WebGPU EP)', () => {
  test.each(['llama'])('%s: prefill and decode steps with the KV cache on the GPU match the float64 reference', async (name) => {
    const dir = `test/fixtures/models/${name}`;
    const decoder = await createOrtDecoder(await exportFixture(name));
    try {
      const v = decoder.vocab;
      const prompt = [322, 10, 20, 30, 40, 50];
      const steps = [prompt, [5], [17], [42]];
      const seen: number[] = [];
      const figures: string[] = [];
      for (const ids of steps) {
        const logits = await decoder.step(ids);
        expect(decoder.cacheLocation()).toBe('gpu-buffer');
        expect(logits.length).toBe(ids.length * v);
        seen.push(...ids);
        const ref = await commands.referenceLogits({ dir, tokens: seen, lastRows: ids.length });
        ref.forEach((row, r) => {
          const ours = logits.subarray(r * v, (r + 1) * v);
          const e = nmse(ours, row);
          figures.push(`${seen.length - ids.length + r + 1}: ${e.toExponential(2)}`);
          expect(e, `NMSE at position ${seen.length - ids.length + r}`).toBeLessThanOrEqual(1e-6);
          expect(argmaxRow(logits, v, r)).toBe(row.indexOf(Math.max(...row)));
        });
      }
      console.log(`${name}: onnxruntime-web WebGPU EP vs float64 reference, NMSE by tokens seen: ${figures.join(', ')}`);
      // After a reset the cache is empty again: the prompt's logits repeat.
      decoder.reset();
      const again = await decoder.step(prompt);
      const [last] = await commands.referenceLogits({ dir, tokens: prompt });
      expect(nmse(again.subarray((prompt.length - 1) * v), last)).toBeLessThanOrEqual(1e-6);
    } finally {
      await decoder.dispose();
    }
  });
});
