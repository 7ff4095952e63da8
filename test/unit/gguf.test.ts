/**
 * The GGUF header parser against @huggingface/gguf on the fixtures, every named error a bad file
 * gets (wrong magic or version, truncated header or data, unknown or unsupported tensor types,
 * missing metadata, unsupported architectures, missing splits), and the streamed tensor bytes:
 * q/k rows de-interleaved to the safetensors bytes, quantized blocks passed through.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gguf } from '@huggingface/gguf';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadGgufDescriptors } from '../../src/engine/load-gguf';
import { streamLocated, streamTensors, type TensorSink } from '../../src/model/convert';
import { parseGgufHeader, readGgufHeader } from '../../src/model/gguf';
import { readSafetensorsHeader } from '../../src/model/safetensors';
import { memorySource } from '../../src/model/source';
import { expectedTensors } from '../../src/model/tensor-plan';
import {
  MissingTensorError,
  ModelConfigError,
  ModelFetchError,
  ModelFormatError,
  ShapeMismatchError,
  TruncatedFileError,
  UnsupportedDtypeError,
  UnsupportedModelError,
} from '../../src/util/errors';
import { convertToGguf, ggufParts } from '../../tools/fixtures/convert';
import { ggufBytes, type GgufValue } from '../../tools/fixtures/gguf';
import { endId, eosId, fixtureSpecs, generateWeights } from '../../tools/fixtures/models';
import { trainTokenizer } from '../../tools/fixtures/tokenizer';
import { fixturesDir, makeFixtures } from '../../tools/fixtures/writeFixtures';
import { readGgufModel } from '../reference/gguf-files';
import { dequantize } from '../reference/quant';

const file = (model: string, name: string) => new Uint8Array(readFileSync(join(fixturesDir, model, name)));
const llama = fixtureSpecs.find((s) => s.name === 'llama')!;
let tok: ReturnType<typeof trainTokenizer>;

beforeAll(() => {
  makeFixtures({ ifMissing: true });
  tok = trainTokenizer();
});

/** A GGUF of the llama fixture with its metadata and tensors edited. */
function edited(
  edit: (m: [string, GgufValue][], t: ReturnType<typeof ggufParts>['tensors']) => void,
  variant: 'f32' | 'q4_0' = 'q4_0',
): Uint8Array {
  const parts = ggufParts('llama', llama.config, generateWeights(llama.config, llama.seed), tok, variant);
  edit(parts.metadata, parts.tensors);
  return ggufBytes(parts.metadata, parts.tensors);
}

const parse = (bytes: Uint8Array, chunkSize = 4096) => readGgufHeader(memorySource({ 'model.gguf': bytes }, { chunkSize }), 'model.gguf');
const descriptors = (bytes: Uint8Array) => loadGgufDescriptors(memorySource({ 'model.gguf': bytes }), 'model.gguf');

/** Offset of the u32 type of tensor `name` in a GGUF header (after its name, dim count and dims). */
function typeOffset(bytes: Uint8Array, name: string, dims: number): number {
  const needle = new TextEncoder().encode(name);
  for (let i = 0; i < bytes.length; i++) {
    if (needle.every((b, j) => bytes[i + j] === b) && bytes[i - 8] === needle.length) return i + needle.length + 4 + 8 * dims;
  }
  throw new Error(`${name} not found`);
}

describe('GGUF header', () => {
  for (const [model, name] of [
    ['llama-k', 'model-q4_k_m.gguf'],
    ['llama3', 'model-q4_0.gguf'],
    ['qwen2', 'model-q8_0.gguf'],
  ]) {
    it(`${model}/${name}: same tensors and metadata as @huggingface/gguf (64-byte reads)`, async () => {
      const bytes = file(model, name);
      const ours = await parse(bytes, 64);
      const theirs = await gguf(join(fixturesDir, model, name), { allowLocalFile: true });
      expect(ours.version).toBe(theirs.metadata.version);
      expect(ours.tensors.map((t) => [t.name, t.dims, t.begin])).toEqual(
        theirs.tensorInfos.map((t) => [t.name, t.shape.map(Number), Number(theirs.tensorDataOffset + t.offset)]),
      );
      const typeNames: Record<number, string> = { 0: 'F32', 2: 'Q4_0', 8: 'Q8_0', 12: 'Q4_K', 14: 'Q6_K' };
      expect(ours.tensors.map((t) => t.type)).toEqual(theirs.tensorInfos.map((t) => typeNames[t.dtype]));
      const meta = theirs.metadata as unknown as Record<string, unknown>;
      for (const key of [
        'general.architecture',
        `${meta['general.architecture']}.block_count`,
        'tokenizer.ggml.tokens',
        'tokenizer.ggml.merges',
        'tokenizer.chat_template',
      ]) {
        expect(ours.metadata.get(key), key).toEqual(meta[key]);
      }
      expect(ours.tensors.at(-1)!.end).toBeLessThanOrEqual(bytes.length);
    });
  }

  it('wrong magic, obsolete or big-endian version: ModelFormatError', async () => {
    const bytes = file('llama', 'model-q8_0.gguf');
    const bad = (at: number, values: number[]) => {
      const b = bytes.slice();
      b.set(values, at);
      return b;
    };
    await expect(parse(bad(0, [0x47, 0x47, 0x4d, 0x4c]))).rejects.toThrow(ModelFormatError); // "GGML"
    await expect(parse(bad(4, [1, 0, 0, 0]))).rejects.toThrow(/version 1 .*obsolete/);
    await expect(parse(bad(4, [0, 0, 0, 3]))).rejects.toThrow(/big-endian/);
    const err = await parse(bad(0, [0, 0, 0, 0])).catch((e) => e);
    expect(err).toBeInstanceOf(ModelFormatError);
    expect(err.details).toMatchObject({ file: 'model.gguf', expected: 'GGUF' });
  });

  it('a header cut anywhere: TruncatedFileError; data cut short: TruncatedFileError naming the tensor', async () => {
    const bytes = file('llama', 'model-q8_0.gguf');
    const h = await parse(bytes);
    for (const cut of [3, 11, 30, 500, 5000, h.dataStart - 40]) {
      const err = await parse(bytes.subarray(0, cut)).catch((e) => e);
      expect(err, `cut at ${cut}`).toBeInstanceOf(TruncatedFileError);
      expect(err.message).toContain('model.gguf');
    }
    const last = h.tensors.reduce((a, t) => (t.end > a.end ? t : a));
    const err = await parse(bytes.subarray(0, last.end - 10)).catch((e) => e);
    expect(err).toBeInstanceOf(TruncatedFileError);
    expect(err.details).toMatchObject({ tensor: last.name, expected: last.end });
  });

  it('an unknown tensor type: UnsupportedDtypeError; a known type the engine does not read: when the tensor is needed', async () => {
    const bytes = file('llama', 'model-q4_0.gguf');
    const unknown = bytes.slice();
    new DataView(unknown.buffer).setUint32(typeOffset(unknown, 'blk.0.attn_q.weight', 2), 99, true);
    await expect(parse(unknown)).rejects.toThrow(/unknown ggml type 99/);
    const iq4 = bytes.slice(); // IQ4_NL: same 18-byte blocks of 32 as Q4_0
    new DataView(iq4.buffer).setUint32(typeOffset(iq4, 'blk.0.attn_q.weight', 2), 20, true);
    expect((await parse(iq4)).tensors.find((t) => t.name === 'blk.0.attn_q.weight')).toMatchObject({ type: 'IQ4_NL', dtype: null });
    const err = await descriptors(iq4).catch((e) => e);
    expect(err).toBeInstanceOf(UnsupportedDtypeError);
    expect(err.message).toMatch(/blk\.0\.attn_q\.weight.*IQ4_NL.*Q4_K/);
  });

  it('a tensor offset off the alignment: ModelFormatError', async () => {
    const bytes = file('llama', 'model-q4_0.gguf');
    const at = typeOffset(bytes, 'token_embd.weight', 2) + 4;
    const view = new DataView(bytes.buffer);
    view.setBigUint64(at, view.getBigUint64(at, true) + 2n, true);
    await expect(parse(bytes)).rejects.toThrow(/alignment/);
  });
});

describe('GGUF model descriptors', () => {
  it('config, tokenizer and chat template from the metadata', async () => {
    const d = await descriptors(file('llama3', 'model-q4_0.gguf'));
    const c = fixtureSpecs.find((s) => s.name === 'llama3')!.config;
    expect(d.config).toMatchObject({
      family: 'llama',
      hiddenSize: c.hidden_size,
      numLayers: c.num_hidden_layers,
      numHeads: c.num_attention_heads,
      numKvHeads: c.num_key_value_heads,
      headDim: c.head_dim,
      vocabSize: c.vocab_size,
      tieWordEmbeddings: true,
      ropeTheta: c.rope_theta,
      maxPositionEmbeddings: c.max_position_embeddings,
      eosTokenIds: [eosId, endId],
    });
    expect(d.config.ropeFreqFactors?.length).toBe(c.head_dim! / 2);
    expect(d.tokenizer.chatTemplate).toContain('add_generation_prompt');
    expect(d.tensors.get('model.layers.0.self_attn.q_proj.weight')).toMatchObject({ dtype: 'Q4_0', interleavedHeadRows: c.head_dim });
    expect(d.tensors.get('model.layers.0.self_attn.v_proj.weight')?.interleavedHeadRows).toBeUndefined();
    const q = await descriptors(file('qwen2', 'model-q8_0.gguf'));
    expect(q.config).toMatchObject({ family: 'qwen2', attentionBias: true, tieWordEmbeddings: true });
    expect(q.tensors.get('model.layers.0.self_attn.q_proj.bias')?.interleavedHeadRows).toBeUndefined(); // NEOX: not interleaved
  });

  it('missing metadata: ModelConfigError naming the key; unsupported architecture: UnsupportedModelError', async () => {
    const noBlocks = edited((m) =>
      m.splice(
        m.findIndex(([k]) => k === 'llama.block_count'),
        1,
      ),
    );
    const err = await descriptors(noBlocks).catch((e) => e);
    expect(err).toBeInstanceOf(ModelConfigError);
    expect(err.details).toMatchObject({ field: 'llama.block_count' });
    const gemma = edited((m) => {
      m[m.findIndex(([k]) => k === 'general.architecture')][1] = { str: 'gemma' };
    });
    await expect(descriptors(gemma)).rejects.toThrow(UnsupportedModelError);
    const moe = edited((m) => m.push(['llama.expert_count', { u32: 8 }]));
    await expect(descriptors(moe)).rejects.toThrow(/mixture-of-experts/);
  });

  it('missing tensor: MissingTensorError; dims unlike the metadata: ShapeMismatchError', async () => {
    const missing = edited((_m, t) =>
      t.splice(
        t.findIndex((x) => x.name === 'blk.1.ffn_up.weight'),
        1,
      ),
    );
    await expect(descriptors(missing)).rejects.toThrow(MissingTensorError);
    const wrong = edited((m) => {
      m[m.findIndex(([k]) => k === 'llama.feed_forward_length')][1] = { u32: 96 };
    });
    await expect(descriptors(wrong)).rejects.toThrow(ShapeMismatchError);
  });

  it('splits: the first names the rest; a later split or a missing one is refused', async () => {
    const a = file('llama', 'model-q4_0-00001-of-00002.gguf'),
      b = file('llama', 'model-q4_0-00002-of-00002.gguf');
    const both = memorySource({ 'm-00001-of-00002.gguf': a, 'm-00002-of-00002.gguf': b });
    const d = await loadGgufDescriptors(both, 'm-00001-of-00002.gguf');
    expect(d.files).toEqual(['m-00001-of-00002.gguf', 'm-00002-of-00002.gguf']);
    expect(new Set([...d.tensors.values()].map((t) => t.file)).size).toBe(2);
    await expect(loadGgufDescriptors(both, 'm-00002-of-00002.gguf')).rejects.toThrow(/first split/);
    await expect(loadGgufDescriptors(memorySource({ 'm-00001-of-00002.gguf': a }), 'm-00001-of-00002.gguf')).rejects.toThrow(
      ModelFetchError,
    );
    await expect(loadGgufDescriptors(memorySource({ 'm.gguf': a }), 'm.gguf')).rejects.toThrow(/split 2 ways/);
  });
});

/** Index of the first differing byte (or length difference), -1 when equal: toEqual on MB-sized arrays is slow. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** Collects each tensor's streamed bytes. */
class Sink implements TensorSink {
  out = new Map<string, { format: string; bytes: Uint8Array[] }>();
  begin(name: string, _shape: number[], format: string) {
    this.out.set(name, { format, bytes: [] });
  }
  write(name: string, _offset: number, bytes: Uint8Array) {
    this.out.get(name)!.bytes.push(bytes);
  }
  end() {}
  bytes(name: string): Uint8Array {
    const parts = this.out.get(name)!.bytes,
      out = new Uint8Array(parts.reduce((a, b) => a + b.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

describe('streaming GGUF tensors', () => {
  for (const chunkBytes of [7, 1000, 8 << 20]) {
    it(`F32 GGUF streams the safetensors bytes exactly, q/k de-interleaved (chunkBytes ${chunkBytes})`, async () => {
      const st = memorySource({ 'model.safetensors': file('llama', 'model.safetensors') });
      const want = new Sink();
      const header = await readSafetensorsHeader(st, 'model.safetensors');
      const d = await descriptors(file('llama', 'model.gguf'));
      await streamTensors(st, [header], expectedTensors(d.config), want, { targetDtype: 'f32' });
      const got = new Sink();
      await streamLocated(
        memorySource({ 'model.gguf': file('llama', 'model.gguf') }, { chunkSize: 333 }),
        d.files,
        d.tensors.values(),
        got,
        { targetDtype: 'f32', chunkBytes },
      );
      for (const name of want.out.keys()) expect(firstDifference(got.bytes(name), want.bytes(name)), name).toBe(-1);
    });
  }

  it('quantized tensors pass through as blocks (q/k rows de-interleaved), floats follow weightDtype', async () => {
    const bytes = file('llama-k', 'model-q4_k_m.gguf');
    const d = await descriptors(bytes);
    const got = new Sink();
    await streamLocated(memorySource({ 'model.gguf': bytes }), d.files, d.tensors.values(), got, { targetDtype: 'f16', chunkBytes: 5000 });
    const ref = await readGgufModel(join(fixturesDir, 'llama-k', 'model-q4_k_m.gguf'));
    for (const [name, t] of d.tensors) {
      const s = got.out.get(name)!;
      expect(s.format, name).toBe(t.dtype === 'F32' ? 'f32' : t.dtype.toLowerCase());
      if (t.dtype === 'F32') continue;
      const values = dequantize(s.format as 'q4_k' | 'q6_k', got.bytes(name), t.shape[0] * t.shape[1]);
      expect(Array.from(values), name).toEqual(Array.from(ref.tensors.get(name)!.data));
    }
    expect([...got.out.values()].filter((s) => s.format === 'q6_k').length).toBe(2 * 2 + 1); // attn_v, ffn_down per layer; output
  });

  it("a truncated GGUF's data: TruncatedFileError while streaming", async () => {
    const bytes = file('llama', 'model-q8_0.gguf');
    const d = await descriptors(bytes);
    const last = [...d.tensors.values()].reduce((a, t) => (t.end > a.end ? t : a));
    const cut = memorySource({ 'model.gguf': bytes.subarray(0, last.end - 7) });
    await expect(streamLocated(cut, d.files, d.tensors.values(), new Sink(), { targetDtype: 'f32' })).rejects.toThrow(TruncatedFileError);
  });

  it('the fixture writer round-trips: convertToGguf of the same weights is byte-identical to the file', () => {
    const bytes = convertToGguf('llama', llama.config, generateWeights(llama.config, llama.seed), tok, 'q4_0');
    expect(firstDifference(bytes, file('llama', 'model-q4_0.gguf'))).toBe(-1);
  });
});

it('parseGgufHeader reads no further than the header', async () => {
  const bytes = file('llama-k', 'model-q6_k.gguf');
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      const n = Math.min(1024, bytes.length - pulled);
      c.enqueue(bytes.slice(pulled, pulled + n));
      pulled += n;
      if (pulled >= bytes.length) c.close();
    },
  });
  const h = await parseGgufHeader(stream, 'model.gguf', bytes.length);
  expect(pulled).toBeLessThan(h.dataStart + 2048);
});
