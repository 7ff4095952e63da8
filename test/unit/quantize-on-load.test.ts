/**
 * Quantize on load (weightDtype 'q8_0' | 'q4_0'): the blocks model/quantize.ts writes, streamed
 * chunk by chunk from F32/F16/BF16 safetensors, equal quantizing each whole tensor at once; the
 * quantization error stays within half a step; rows that are not whole blocks stay f16; and the
 * 'auto' pick by size.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { streamTensors, type TensorSink } from '../../src/model/convert';
import { parseModelConfig } from '../../src/model/config';
import { autoWeightDtype, quantizeBlocks } from '../../src/model/quantize';
import { readSafetensorsHeader } from '../../src/model/safetensors';
import { memorySource } from '../../src/model/source';
import { expectedTensors } from '../../src/model/tensor-plan';
import { fixturesDir, makeFixtures } from '../../tools/fixtures/writeFixtures';
import { checkpointTensors, writeSafetensors } from '../helpers/safetensors-writer';
import { dequantize } from '../reference/quant';
import { readSafetensors } from '../reference/modelFiles';

beforeAll(() => {
  makeFixtures({ ifMissing: true });
});

class Sink implements TensorSink {
  out = new Map<string, { format: string; parts: Uint8Array[] }>();
  begin(name: string, _s: number[], format: string) {
    this.out.set(name, { format, parts: [] });
  }
  write(name: string, _o: number, bytes: Uint8Array) {
    this.out.get(name)!.parts.push(bytes);
  }
  end() {}
  bytes(name: string): Uint8Array {
    const parts = this.out.get(name)!.parts,
      all = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
    parts.reduce((at, p) => {
      all.set(p, at);
      return at + p.length;
    }, 0);
    return all;
  }
}

/** Index of the first differing byte (or length difference), -1 when equal: toEqual on MB-sized arrays is slow. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

async function stream(model: string, target: 'q8_0' | 'q4_0', chunkBytes: number): Promise<Sink> {
  const src = memorySource(
    { 'model.safetensors': new Uint8Array(readFileSync(join(fixturesDir, model, 'model.safetensors'))) },
    { chunkSize: 777 },
  );
  const header = await readSafetensorsHeader(src, 'model.safetensors');
  const cfg = parseModelConfig(JSON.parse(readFileSync(join(fixturesDir, model, 'config.json'), 'utf8')));
  const sink = new Sink();
  await streamTensors(src, [header], expectedTensors(cfg), sink, { targetDtype: target, chunkBytes });
  return sink;
}

describe('quantize on load', () => {
  for (const model of ['llama', 'llama-f16', 'llama-bf16']) {
    for (const target of ['q8_0', 'q4_0'] as const) {
      // 7 bytes: chunks smaller than a block; 8 MiB: a whole tensor per chunk.
      for (const chunkBytes of model === 'llama' ? [7, 8 << 20] : [1000]) {
        it(`${model} → ${target}, chunks of ${chunkBytes} bytes: the blocks of quantizing each whole tensor`, async () => {
          const sink = await stream(model, target, chunkBytes);
          const values = readSafetensors(join(fixturesDir, model, 'model.safetensors'));
          for (const [name, t] of values) {
            const s = sink.out.get(name)!;
            if (t.shape.length === 1) {
              expect(s.format, name).toBe('f32');
              continue;
            }
            expect(s.format, name).toBe(target);
            expect(firstDifference(sink.bytes(name), quantizeBlocks(target, Float32Array.from(t.data))), name).toBe(-1);
          }
        });
      }
    }
  }

  it('rows that are not whole 32-value blocks stay f16', async () => {
    const cfg = parseModelConfig({
      architectures: ['LlamaForCausalLM'],
      hidden_size: 6,
      intermediate_size: 64,
      num_hidden_layers: 1,
      num_attention_heads: 3,
      num_key_value_heads: 1,
      vocab_size: 7,
      rms_norm_eps: 1e-6,
    });
    const plan = expectedTensors(cfg);
    const src = memorySource({ 'model.safetensors': writeSafetensors(checkpointTensors(plan, 3)) });
    const sink = new Sink();
    await streamTensors(src, [await readSafetensorsHeader(src, 'model.safetensors')], plan, sink, { targetDtype: 'q4_0' });
    expect(sink.out.get('model.layers.0.mlp.down_proj.weight')!.format).toBe('q4_0'); // 64 columns
    expect(sink.out.get('model.layers.0.mlp.up_proj.weight')!.format).toBe('f16'); // 6 columns
  });

  it('error within half a step (q4_0: a whole step where +8 clamps to +7)', () => {
    const x = Float32Array.from({ length: 32 * 50 }, (_, i) => Math.sin(i * 1.7) * (1 + (i % 97) / 10) * (i % 5 === 0 ? 0 : 1));
    for (const target of ['q8_0', 'q4_0'] as const) {
      const back = dequantize(target, quantizeBlocks(target, x), x.length);
      for (let b = 0; b < 50; b++) {
        const block = x.subarray(32 * b, 32 * b + 32);
        const amax = block.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
        const step = amax / (target === 'q8_0' ? 127 : 8);
        for (let i = 0; i < 32; i++) {
          const err = Math.abs(back[32 * b + i] - block[i]);
          expect(err).toBeLessThanOrEqual((target === 'q4_0' ? 1 : 0.5) * step * 1.002 + 1e-7);
        }
      }
    }
  });
});

describe("weightDtype 'auto'", () => {
  const gib = 2 ** 30;
  it('widest format whose matrices fit a quarter of deviceMemory (2 GiB unknown)', () => {
    expect(autoWeightDtype({ matrixValues: 1e6, allF32: true })).toBe('f32');
    expect(autoWeightDtype({ matrixValues: 1e6, allF32: false })).toBe('f16');
    expect(autoWeightDtype({ matrixValues: 1.2e9, allF32: false })).toBe('q8_0'); // 1B: 2.4 GB f16 > 2 GiB
    expect(autoWeightDtype({ matrixValues: 1.2e9, allF32: false, deviceMemoryGiB: 8 })).toBe('q8_0');
    expect(autoWeightDtype({ matrixValues: 1.2e9, allF32: true, deviceMemoryGiB: 4 })).toBe('q4_0'); // 1 GiB budget
    expect(autoWeightDtype({ matrixValues: (0.9 * gib) / 4, allF32: true, deviceMemoryGiB: 4 })).toBe('f32');
    expect(autoWeightDtype({ matrixValues: 8e9, allF32: false, deviceMemoryGiB: 8 })).toBe('q4_0');
  });
});
