import { describe, expect, it } from 'vitest';
import { parseModelConfig } from '../../src/model/config';
import { streamTensors, type LoadProgress, type TargetDtype, type TensorSink } from '../../src/model/convert';
import { listWeightFiles, readSafetensorsHeader, type SafetensorsFile } from '../../src/model/safetensors';
import { memorySource, type ModelSource } from '../../src/model/source';
import { expectedTensors, validateTensors } from '../../src/model/tensor-plan';
import { MissingTensorError, TruncatedFileError } from '../../src/util/errors';
import { bf16BitsToF32, f16BitsToF32, f32ToF16Bits } from '../../src/util/f16';
import { checkpointTensors, writeSafetensors, type TensorSpec } from '../helpers/safetensors-writer';

const cfg = parseModelConfig({
  architectures: ['Qwen2ForCausalLM'],
  hidden_size: 6,
  intermediate_size: 10,
  num_hidden_layers: 2,
  num_attention_heads: 3,
  num_key_value_heads: 1,
  vocab_size: 7,
  rms_norm_eps: 1e-6,
});
const plan = expectedTensors(cfg);
const specs = checkpointTensors(plan, 17);
const extra: TensorSpec = {
  name: 'model.layers.0.self_attn.rotary_emb.inv_freq',
  dtype: 'F32',
  shape: [3],
  data: new Uint8Array(12).fill(0xab),
};
const single = writeSafetensors([...specs.slice(0, 5), extra, ...specs.slice(5)]);

/** Records what the sink sees and checks the protocol: begin → contiguous writes → end, no interleaving. */
class RecordingSink implements TensorSink {
  out = new Map<string, { shape: number[]; dtype: TargetDtype; bytes: number[] }>();
  open: string | null = null;
  maxWrite = 0;
  begin(name: string, shape: number[], dtype: TargetDtype) {
    expect(this.open, `begin ${name} while ${this.open} is open`).toBeNull();
    expect(this.out.has(name)).toBe(false);
    this.open = name;
    this.out.set(name, { shape, dtype, bytes: [] });
  }
  write(name: string, byteOffset: number, bytes: Uint8Array) {
    expect(name).toBe(this.open);
    const t = this.out.get(name)!;
    expect(byteOffset).toBe(t.bytes.length);
    this.maxWrite = Math.max(this.maxWrite, bytes.length);
    t.bytes.push(...bytes);
  }
  end(name: string) {
    expect(name).toBe(this.open);
    this.open = null;
  }
}

/** One-shot per-element conversion with the scalar helpers, as the reference. */
function referenceBytes(spec: TensorSpec, target: TargetDtype): number[] {
  const out = target === 'f16' && !(spec.name.endsWith('.bias') || spec.name.endsWith('norm.weight')) ? 'f16' : 'f32';
  const src = new DataView(spec.data.buffer, spec.data.byteOffset, spec.data.byteLength);
  const size = spec.dtype === 'F32' ? 4 : 2;
  const n = spec.data.length / size;
  const dst = new DataView(new ArrayBuffer(n * (out === 'f32' ? 4 : 2)));
  for (let i = 0; i < n; i++) {
    const v =
      spec.dtype === 'F32'
        ? src.getFloat32(i * 4, true)
        : spec.dtype === 'F16'
          ? f16BitsToF32(src.getUint16(i * 2, true))
          : bf16BitsToF32(src.getUint16(i * 2, true));
    if (out === 'f32') dst.setFloat32(i * 4, v, true);
    else dst.setUint16(i * 2, f32ToF16Bits(v), true);
  }
  return Array.from(new Uint8Array(dst.buffer));
}

async function headers(src: ModelSource): Promise<SafetensorsFile[]> {
  const files = await listWeightFiles(src);
  return Promise.all(files.map((f) => readSafetensorsHeader(src, f)));
}

function expectMatchesReference(sink: RecordingSink, target: TargetDtype): void {
  expect([...sink.out.keys()].sort()).toEqual([...plan.keys()].sort());
  for (const spec of specs) {
    const got = sink.out.get(spec.name)!;
    expect(got.shape).toEqual(spec.shape);
    const ref = referenceBytes(spec, target);
    expect(got.dtype).toBe(ref.length === spec.shape.reduce((a, d) => a * d, 1) * 4 ? 'f32' : 'f16');
    if (got.bytes.length !== ref.length || got.bytes.some((b, i) => b !== ref[i])) {
      expect.fail(`${spec.name} (${spec.dtype} → ${got.dtype}) differs from one-shot conversion`);
    }
  }
}

describe('streamTensors', () => {
  for (const target of ['f32', 'f16'] as const) {
    for (const [chunkBytes, sourceChunk] of [
      [7, 5],
      [1, 3],
      [13, 65536],
      [8 << 20, 11],
    ]) {
      it(`is byte-identical to one-shot conversion (→${target}, chunkBytes ${chunkBytes}, source chunks ${sourceChunk})`, async () => {
        const src = memorySource({ 'model.safetensors': single }, { chunkSize: sourceChunk });
        const sink = new RecordingSink();
        await streamTensors(src, await headers(src), plan, sink, { targetDtype: target, chunkBytes });
        expectMatchesReference(sink, target);
        expect(sink.maxWrite).toBeLessThanOrEqual(2 * Math.max(chunkBytes, 4)); // one converted chunk (≥ 1 element)
      });
    }
  }

  it('reads each shard once, sequentially, and accepts a validateTensors plan', async () => {
    const files = {
      'model-00001-of-00002.safetensors': writeSafetensors(specs.slice(0, 9).reverse()), // offsets not in name order
      'model-00002-of-00002.safetensors': writeSafetensors([extra, ...specs.slice(9)]),
      'model.safetensors.index.json': new TextEncoder().encode(
        JSON.stringify({
          weight_map: Object.fromEntries(specs.map((s, i) => [s.name, `model-0000${i < 9 ? 1 : 2}-of-00002.safetensors`])),
        }),
      ),
    };
    const mem = memorySource(files, { chunkSize: 9 });
    const calls: [string, number | undefined, number | undefined][] = [];
    const src: ModelSource = {
      ...mem,
      stream: (p, s, e) => {
        calls.push([p, s, e]);
        return mem.stream(p, s, e);
      },
    };
    const hs = await headers(src);
    calls.length = 0;
    const sink = new RecordingSink();
    const progress: LoadProgress[] = [];
    await streamTensors(src, hs, validateTensors(cfg, hs), sink, {
      targetDtype: 'f16',
      chunkBytes: 7,
      onProgress: (p) => progress.push(p),
    });
    expectMatchesReference(sink, 'f16');
    expect(calls.map((c) => c[0])).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    const total = hs.reduce(
      (a, h) =>
        a +
        Math.max(...h.tensors.filter((t) => plan.has(t.name)).map((t) => t.end)) -
        Math.min(...h.tensors.filter((t) => plan.has(t.name)).map((t) => t.begin)),
      0,
    );
    expect(progress.every((p) => p.totalBytes === total)).toBe(true);
    expect(progress.at(-1)!.loadedBytes).toBe(total);
    expect(progress.every((p, i) => i === 0 || p.loadedBytes >= progress[i - 1].loadedBytes)).toBe(true);
    expect(new Set(progress.map((p) => p.file)).size).toBe(2);
  });

  it('names file, tensor, expected and received bytes when the data ends early', async () => {
    const src = memorySource({ 'model.safetensors': single }, { chunkSize: 64 });
    const hs = await headers(src);
    const last = hs[0].tensors.reduce((a, t) => (t.end > a.end ? t : a));
    const cut = memorySource({ 'model.safetensors': single.subarray(0, last.begin + 5) });
    const err = await streamTensors(cut, hs, plan, new RecordingSink(), { targetDtype: 'f32', chunkBytes: 7 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TruncatedFileError);
    expect((err as Error).message).toContain('model.safetensors');
    expect((err as Error).message).toContain(last.name);
    expect((err as TruncatedFileError).details).toMatchObject({ tensor: last.name, expected: last.end - last.begin, received: 5 });
  });

  it("stops with the signal's reason when aborted", async () => {
    const src = memorySource({ 'model.safetensors': single }, { chunkSize: 16 });
    const hs = await headers(src);
    const ctl = new AbortController();
    const reason = new Error('user cancelled');
    const sink = new RecordingSink();
    const p = streamTensors(src, hs, plan, sink, {
      targetDtype: 'f32',
      chunkBytes: 7,
      signal: ctl.signal,
      onProgress: () => ctl.abort(reason),
    });
    await expect(p).rejects.toBe(reason);
    expect(sink.out.size).toBeLessThan(plan.size);
    const done = AbortSignal.abort();
    await expect(streamTensors(src, hs, plan, new RecordingSink(), { targetDtype: 'f32', signal: done })).rejects.toMatchObject({
      name: 'AbortError',
    });
  });

  it('fails before reading data when a planned tensor is missing', async () => {
    const src = memorySource({ 'model.safetensors': writeSafetensors(specs.slice(1)) });
    const hs = await headers(src);
    const sink = new RecordingSink();
    await expect(streamTensors(src, hs, plan, sink, { targetDtype: 'f32' })).rejects.toThrow(MissingTensorError);
    expect(sink.out.size).toBe(0);
  });
});
