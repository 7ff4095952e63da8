/**
 * The Llama ONNX exporter (tools/onnx) in Node: the exported graph run by onnxruntime-web's wasm EP
 * (a prefill, then decode steps fed the previous present.* as past_key_values.*) against the
 * float64 reference on the same safetensors; the file written by export-file.ts equals the bytes
 * built in memory; configs the graph does not implement are refused by name.
 */
import { nmse } from '../helpers/expect-close';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web/wasm';
import { describe, expect, test } from 'vitest';
import { UnsupportedModelError } from '../../src/util/errors';
import { llamaOnnx, onnxNames } from '../../tools/onnx/export-llama';
import { exportLlamaFolder } from '../../tools/onnx/export-file';
import { safetensorsBytesReader } from '../../tools/onnx/safetensors-reader';
import { argmax, loadReferenceModel, referenceLogits } from '../reference/llama';

const fixture = (name: string) => join(process.cwd(), 'test/fixtures/models', name);
const config = (name: string) => JSON.parse(readFileSync(join(fixture(name), 'config.json'), 'utf8'));
const weights = (name: string) => safetensorsBytesReader(new Uint8Array(readFileSync(join(fixture(name), 'model.safetensors'))));

describe('Llama ONNX export', () => {
  test('prefill then decode steps in the wasm EP match the float64 reference', async () => {
    ort.env.wasm.numThreads = 1;
    const c = config('llama');
    const session = await ort.InferenceSession.create(llamaOnnx(c, weights('llama'), { maxPositions: 64 }).toBytes());
    const ref = loadReferenceModel(fixture('llama'));
    const kvHeads = c.num_key_value_heads,
      headDim = c.hidden_size / c.num_attention_heads,
      v = c.vocab_size;
    let past: Record<string, ort.Tensor> = {};
    for (let l = 0; l < c.num_hidden_layers; l++) {
      for (const n of [onnxNames.pastKey(l), onnxNames.pastValue(l)])
        past[n] = new ort.Tensor('float32', new Float32Array(0), [1, kvHeads, 0, headDim]);
    }
    const seen: number[] = [];
    for (const ids of [[322, 10, 20, 30, 40], [5], [17]]) {
      seen.push(...ids);
      const out = await session.run({
        ...past,
        [onnxNames.inputIds]: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]),
        [onnxNames.attentionMask]: new ort.Tensor('int64', new BigInt64Array(seen.length).fill(1n), [1, seen.length]),
      });
      const logits = out[onnxNames.logits].data as Float32Array;
      const rows = referenceLogits(ref, seen).slice(seen.length - ids.length);
      rows.forEach((row, r) => {
        const ours = logits.subarray(r * v, (r + 1) * v);
        expect(nmse(ours, row), `NMSE at position ${seen.length - ids.length + r}`).toBeLessThanOrEqual(1e-6);
        expect(argmax(ours)).toBe(argmax(row));
      });
      expect(out[onnxNames.presentKey(0)].dims).toEqual([1, kvHeads, seen.length, headDim]);
      past = {};
      for (let l = 0; l < c.num_hidden_layers; l++) {
        past[onnxNames.pastKey(l)] = out[onnxNames.presentKey(l)];
        past[onnxNames.pastValue(l)] = out[onnxNames.presentValue(l)];
      }
    }
    await session.release();
  });

  test('the streamed file equals the in-memory export', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onnx-export-'));
    try {
      const out = join(dir, 'model.onnx');
      const size = exportLlamaFolder(fixture('llama'), out, { maxPositions: 32 });
      const file = new Uint8Array(readFileSync(out));
      expect(file.length).toBe(size);
      expect(Buffer.from(file).equals(Buffer.from(llamaOnnx(config('llama'), weights('llama'), { maxPositions: 32 }).toBytes()))).toBe(
        true,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('configs outside the plain Llama block are refused by name', () => {
    expect(() => llamaOnnx(config('qwen2'), weights('qwen2'))).toThrow(UnsupportedModelError);
    expect(() => llamaOnnx(config('qwen2'), weights('qwen2'))).toThrow(/attention biases/);
    expect(() => llamaOnnx(config('llama3'), weights('llama3'))).toThrow(/head_dim 8/);
    expect(() => llamaOnnx(config('gemma2'), weights('gemma2'))).toThrow(UnsupportedModelError);
  });
});
