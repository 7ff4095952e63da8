/**
 * GGUF files through the whole engine (worker, streaming loader, quantized kernels) against the
 * float64 reference run on the same file's exact weights (test/reference/gguf-files.ts: another
 * parser, CPU dequantization, its own q/k de-interleave): every fixture type, prefill in chunks and
 * single-token steps. Plus: the F32 GGUF equals the safetensors of the same weights, the tokenizer
 * and chat template come from the metadata, and a GGUF loads from picked files and split files.
 */
import { describe, expect, test } from 'vitest';
import { commands } from 'vitest/browser';
import { cachedModelFiles, forgetCachedModels } from '../../src/apps/shared/model-cache';
import { createEngine, ModelFormatError, TruncatedFileError, UnsupportedDtypeError, type Memory3Engine } from '../../src/index';
import { argmax, fixtureFiles, fixtureUrl, nmse } from '../helpers/engine';
import { seeded } from '../helpers/gpu';

const cases: { file: string; dtype: string; formats: string[] }[] = [
  { file: 'llama/model.gguf', dtype: 'f32', formats: ['f32'] },
  { file: 'llama/model-f16.gguf', dtype: 'f16', formats: ['f16', 'f32'] },
  { file: 'llama/model-bf16.gguf', dtype: 'f16', formats: ['f16', 'f32'] },
  { file: 'llama/model-q8_0.gguf', dtype: 'q8_0', formats: ['q8_0', 'f32'] },
  { file: 'llama/model-q4_0.gguf', dtype: 'q4_0', formats: ['q4_0', 'f32'] },
  { file: 'llama3/model-q4_0.gguf', dtype: 'q4_0', formats: ['q4_0', 'f32'] }, // rope_freqs, tied quantized head
  { file: 'qwen2/model-q8_0.gguf', dtype: 'q8_0', formats: ['q8_0', 'f32'] }, // biases, NEOX RoPE, tied
  { file: 'llama-k/model-q4_k_m.gguf', dtype: 'q4_k', formats: ['q4_k', 'q6_k', 'f32'] },
  { file: 'llama-k/model-q6_k.gguf', dtype: 'q6_k', formats: ['q6_k', 'f32'] },
];

const url = (file: string) => `/test/fixtures/models/${file}`;

async function checkAgainstReference(engine: Memory3Engine, ref: string, seed: number): Promise<void> {
  const rand = seeded(seed);
  const tokens = Array.from({ length: 19 }, () => Math.floor(rand() * (engine.info.vocabSize - 8)));
  for (const n of [19, 20, 21]) {
    // 19 prompt tokens in chunks of 7, then single-token steps
    const ids = [...tokens, 5, 17].slice(0, n);
    const ours = await engine.evaluate(ids);
    const [want] = await commands.referenceLogits({ dir: ref, tokens: ids });
    expect(nmse(ours, want), `${ref}: logits NMSE at ${n} tokens`).toBeLessThanOrEqual(1e-6);
    expect(argmax(ours)).toBe(argmax(want));
  }
}

describe('GGUF models vs the float64 reference on the same file', () => {
  for (const c of cases) {
    test(c.file, async () => {
      const engine = await createEngine({ model: url(c.file), prefillChunk: 7 });
      try {
        expect(engine.info.format).toBe('gguf');
        expect(engine.info.weightDtype).toBe(c.dtype);
        expect(Object.keys(engine.info.weightFormats).sort()).toEqual([...c.formats].sort());
        await checkAgainstReference(engine, `test/fixtures/models/${c.file}`, c.file.length);
      } finally {
        await engine.dispose();
      }
    });
  }
});

describe('every architecture from its GGUF (model/arch: names, metadata, norms folded, fused tensors)', () => {
  // The F32 export of each fixture against its safetensors: the same weights, so the same logits.
  for (const name of ['qwen3', 'smollm3', 'gemma2', 'gemma3', 'phi3', 'mistral', 'memory3']) {
    test(name, async () => {
      const gguf = await createEngine({ model: url(`${name}/model.gguf`), prefillChunk: 5 });
      const st = await createEngine({ model: fixtureUrl(name), prefillChunk: 5 });
      try {
        // Mistral GGUFs are the llama architecture; memory3 is a Llama.
        expect(gguf.info.family).toBe({ mistral: 'llama', memory3: 'llama' }[name] ?? name);
        const rand = seeded(name.length);
        const ids = Array.from({ length: 13 }, () => Math.floor(rand() * (st.info.vocabSize - 8)));
        expect(nmse(await gguf.evaluate(ids), await st.evaluate(ids))).toBeLessThan(1e-10);
      } finally {
        await gguf.dispose();
        await st.dispose();
      }
    });
  }
});

describe('GGUF loading', () => {
  test('the F32 GGUF gives the safetensors logits, tokens and chat prompt (q/k rows de-interleaved)', async () => {
    const gguf = await createEngine({ model: url('llama/model.gguf') });
    const st = await createEngine({ model: fixtureUrl('llama') });
    try {
      const ids = [322, 10, 200, 30, 41, 57, 6, 99, 123];
      expect(nmse(await gguf.evaluate(ids), await st.evaluate(ids))).toBeLessThan(1e-10);
      const text = 'The quick brown fox: 12 months, 7 days!';
      expect(await gguf.tokenize(text)).toEqual(await st.tokenize(text));
      expect(gguf.info.hasChatTemplate).toBe(true);
      const messages = [{ role: 'user', content: 'What is the capital of France?' }];
      const a = await gguf.generate({ messages, maxTokens: 4, temperature: 0, ignoreEos: true }).result;
      const b = await st.generate({ messages, maxTokens: 4, temperature: 0, ignoreEos: true }).result;
      expect(a.usage.promptTokens).toBe(b.usage.promptTokens);
      expect(a.tokens).toEqual(b.tokens);
    } finally {
      await gguf.dispose();
      await st.dispose();
    }
  });

  test('a picked .gguf File, and a picked folder holding one', async () => {
    const [file] = await fixtureFiles('llama', ['model-q8_0.gguf']);
    const [readme] = [new File(['notes'], 'README.md')];
    for (const model of [[file], [readme, file]]) {
      const engine = await createEngine({ model });
      try {
        expect(engine.info.weightDtype).toBe('q8_0');
        await checkAgainstReference(engine, 'test/fixtures/models/llama/model-q8_0.gguf', 3);
      } finally {
        await engine.dispose();
      }
    }
  });

  test("the demo's downloader caches a split GGUF from its first split's URL; the engine loads the cached files", async () => {
    await forgetCachedModels();
    const at = new URL(url('llama/model-q4_0-00001-of-00002.gguf'), location.href).href;
    const first = await cachedModelFiles(at, { partSize: 1 << 16 });
    expect(first.files.map((f) => f.name)).toEqual(['model-q4_0-00001-of-00002.gguf', 'model-q4_0-00002-of-00002.gguf']);
    expect(first.downloadedBytes).toBeGreaterThan(0);
    const again = await cachedModelFiles(at);
    expect(again.downloadedBytes).toBe(0);
    const engine = await createEngine({ model: again.files });
    try {
      await checkAgainstReference(engine, 'test/fixtures/models/llama/model-q4_0.gguf', 5);
    } finally {
      await engine.dispose();
      await forgetCachedModels();
    }
  });

  test("a split GGUF (-00001-of-00002) loads from the first split's URL", async () => {
    const engine = await createEngine({ model: url('llama/model-q4_0-00001-of-00002.gguf') });
    try {
      expect(engine.info.weightDtype).toBe('q4_0');
      await checkAgainstReference(engine, 'test/fixtures/models/llama/model-q4_0.gguf', 4);
    } finally {
      await engine.dispose();
    }
  });
});

describe('bad GGUF files fail with named errors through the worker', () => {
  test('wrong magic, truncated data, a tensor type the engine does not read', async () => {
    const [file] = await fixtureFiles('llama', ['model-q4_0.gguf']);
    const bytes = new Uint8Array(await file.arrayBuffer());
    const as = (b: Uint8Array) => [new File([b as Uint8Array<ArrayBuffer>], 'model.gguf')];
    const magic = bytes.slice();
    magic.set([0x47, 0x47, 0x4d, 0x4c], 0); // "GGML"
    await expect(createEngine({ model: as(magic) })).rejects.toBeInstanceOf(ModelFormatError);
    const cut = await createEngine({ model: as(bytes.slice(0, bytes.length - 100)) }).catch((e) => e);
    expect(cut).toBeInstanceOf(TruncatedFileError);
    expect(cut.message).toContain('output.weight');
    const typed = bytes.slice();
    const name = new TextEncoder().encode('blk.0.ffn_up.weight');
    const at = typed.findIndex((_, i) => name.every((c, j) => typed[i + j] === c)) + name.length + 4 + 16; // after n_dims and 2 dims
    new DataView(typed.buffer).setUint32(at, 20, true); // IQ4_NL: Q4_0's 18-byte blocks of 32, a type the engine does not read
    const err = await createEngine({ model: as(typed) }).catch((e) => e);
    expect(err).toBeInstanceOf(UnsupportedDtypeError);
    expect(err.message).toMatch(/blk\.0\.ffn_up\.weight.*IQ4_NL/);
  });
});

describe("quantize on load (weightDtype 'q8_0' | 'q4_0')", () => {
  for (const target of ['q8_0', 'q4_0'] as const) {
    test(`F32 safetensors → ${target}: the very weights of the ${target} GGUF, in ${target === 'q8_0' ? '34' : '18'}/128 of the f32 bytes`, async () => {
      const quantized = await createEngine({ model: fixtureUrl('llama'), weightDtype: target, prefillChunk: 7 });
      const gguf = await createEngine({ model: url(`llama/model-${target}.gguf`), prefillChunk: 7 });
      const f32 = await createEngine({ model: fixtureUrl('llama') });
      try {
        expect(quantized.info.weightDtype).toBe(target);
        expect(quantized.info.gpuBytes.weights).toBe(gguf.info.gpuBytes.weights);
        const matrices = (b: number) => b - (quantized.info.weightFormats.f32 ?? 0); // norms stay f32
        expect(matrices(quantized.info.gpuBytes.weights) / matrices(f32.info.gpuBytes.weights)).toBeCloseTo(
          (target === 'q8_0' ? 34 : 18) / 128,
          6,
        );
        const ids = [322, 10, 200, 30, 41, 57, 6, 99, 123, 7, 8];
        expect(Array.from(await quantized.evaluate(ids))).toEqual(Array.from(await gguf.evaluate(ids)));
        await checkAgainstReference(quantized, `test/fixtures/models/llama/model-${target}.gguf`, 11);
      } finally {
        await quantized.dispose();
        await gguf.dispose();
        await f32.dispose();
      }
    });
  }
});
