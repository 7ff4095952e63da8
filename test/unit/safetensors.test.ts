import { describe, expect, it } from 'vitest';
import { listWeightFiles, parseSafetensorsHeader, parseShardIndex, readSafetensorsHeader } from '../../src/model/safetensors';
import { memorySource } from '../../src/model/source';
import { ModelConfigError, TruncatedFileError, UnsupportedDtypeError } from '../../src/util/errors';
import { bytesOf, seededFloats, writeSafetensors } from '../helpers/safetensors-writer';

async function rejects(p: Promise<unknown>, cls: abstract new (...a: never[]) => Error, ...fragments: string[]) {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, 'expected a rejection').toBeInstanceOf(cls);
  for (const f of fragments) expect((err as Error).message).toContain(f);
}
function throws(fn: () => unknown, cls: abstract new (...a: never[]) => Error, ...fragments: string[]) {
  return rejects(Promise.resolve().then(fn), cls, ...fragments);
}

const sample = () =>
  writeSafetensors(
    [
      { name: 'a.weight', dtype: 'F32', shape: [2, 3], data: bytesOf(seededFloats(6, 1)) },
      { name: 'b.weight', dtype: 'F16', shape: [5], data: new Uint8Array(10).fill(7) },
      { name: 'c.bias', dtype: 'BF16', shape: [3], data: new Uint8Array(6).fill(9) },
    ],
    { format: 'pt' },
  );

describe('parseSafetensorsHeader', () => {
  it("returns absolute offsets that address each tensor's bytes", () => {
    const file = sample();
    const h = parseSafetensorsHeader(file, file.length);
    expect(h.metadata).toEqual({ format: 'pt' });
    expect(h.dataStart % 8).toBe(0);
    expect(h.tensors.map((t) => [t.name, t.dtype, t.shape, t.end - t.begin])).toEqual([
      ['a.weight', 'F32', [2, 3], 24],
      ['b.weight', 'F16', [5], 10],
      ['c.bias', 'BF16', [3], 6],
    ]);
    expect(Array.from(file.subarray(h.tensors[0].begin, h.tensors[0].end))).toEqual(Array.from(bytesOf(seededFloats(6, 1))));
    expect(Array.from(file.subarray(h.tensors[2].begin, h.tensors[2].end))).toEqual([9, 9, 9, 9, 9, 9]);
    expect(h.tensors[2].end).toBe(file.length);
  });

  it('reports truncation at the length field, inside the header and inside the data', async () => {
    const file = sample();
    await throws(() => parseSafetensorsHeader(file.subarray(0, 5)), TruncatedFileError, '8-byte');
    await throws(() => parseSafetensorsHeader(file.subarray(0, 40)), TruncatedFileError, 'header needs');
    await throws(() => parseSafetensorsHeader(file, 30), TruncatedFileError, 'file has 30');
    await throws(() => parseSafetensorsHeader(file, file.length - 1), TruncatedFileError, 'c.bias', `${file.length - 1}`);
  });

  it('rejects unsupported dtypes naming tensor and dtype', async () => {
    for (const [dtype, bytes] of [
      ['I8', 1],
      ['F64', 8],
      ['I64', 8],
    ] as const) {
      const f = writeSafetensors([{ name: 'x.weight', dtype, shape: [4], data: new Uint8Array(4 * bytes) }]);
      await throws(() => parseSafetensorsHeader(f, f.length), UnsupportedDtypeError, 'x.weight', dtype);
    }
  });

  it('rejects inconsistent or malformed headers', async () => {
    const wrongSize = writeSafetensors([{ name: 'w', dtype: 'F32', shape: [3], data: new Uint8Array(8) }]);
    await throws(() => parseSafetensorsHeader(wrongSize), ModelConfigError, '"w"', '12 bytes', 'span 8');
    const overlap = writeSafetensors([
      { name: 'p', dtype: 'F32', shape: [2], data: new Uint8Array(8), dataOffsets: [0, 8] },
      { name: 'q', dtype: 'F32', shape: [2], data: new Uint8Array(8), dataOffsets: [4, 12] },
    ]);
    await throws(() => parseSafetensorsHeader(overlap), ModelConfigError, 'overlap');
    const badShape = writeSafetensors([{ name: 's', dtype: 'F32', shape: [-1], data: new Uint8Array(0) }]);
    await throws(() => parseSafetensorsHeader(badShape), ModelConfigError, '"s"', 'shape');
    const garbage = new Uint8Array(16);
    new DataView(garbage.buffer).setBigUint64(0, 8n, true);
    garbage.set(new TextEncoder().encode('{not js}'), 8);
    await throws(() => parseSafetensorsHeader(garbage), ModelConfigError, 'JSON');
    const huge = new Uint8Array(8);
    new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
    await throws(() => parseSafetensorsHeader(huge), ModelConfigError, 'header length');
  });

  it('reads a header through a ModelSource with two range reads', async () => {
    const file = sample();
    const src = memorySource({ 'model.safetensors': file }, { chunkSize: 3 });
    const h = await readSafetensorsHeader(src, 'model.safetensors');
    expect(h).toEqual({ path: 'model.safetensors', size: file.length, ...parseSafetensorsHeader(file, file.length) });
    const cut = memorySource({ 'model.safetensors': file.subarray(0, 20) });
    await rejects(readSafetensorsHeader(cut, 'model.safetensors'), TruncatedFileError, 'model.safetensors');
    const short = memorySource({ 'model.safetensors': file.subarray(0, file.length - 2) });
    await rejects(readSafetensorsHeader(short, 'model.safetensors'), TruncatedFileError, 'c.bias');
  });
});

describe('shard index', () => {
  const index = {
    metadata: { total_size: 1234 },
    weight_map: {
      'model.embed_tokens.weight': 'model-00001-of-00002.safetensors',
      'model.norm.weight': 'model-00002-of-00002.safetensors',
      'lm_head.weight': 'model-00002-of-00002.safetensors',
    },
  };

  it('maps tensors to shard files', () => {
    const s = parseShardIndex(index);
    expect(s.files).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    expect(s.weightMap.get('lm_head.weight')).toBe('model-00002-of-00002.safetensors');
    expect(s.totalSize).toBe(1234);
  });

  it('rejects an index without weight_map or with a non-string entry', async () => {
    await throws(() => parseShardIndex({ metadata: {} }), ModelConfigError, 'weight_map');
    await throws(() => parseShardIndex({ weight_map: { w: 3 } }), ModelConfigError, 'weight_map["w"]');
  });

  it('lists shard files when an index exists, else model.safetensors', async () => {
    const text = new TextEncoder().encode(JSON.stringify(index));
    expect(await listWeightFiles(memorySource({ 'model.safetensors.index.json': text }))).toEqual([
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
    ]);
    expect(await listWeightFiles(memorySource({ 'model.safetensors': sample() }))).toEqual(['model.safetensors']);
    await rejects(listWeightFiles(memorySource({ 'model.safetensors.index.json': new Uint8Array([123]) })), ModelConfigError);
  });
});
