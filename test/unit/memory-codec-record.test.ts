import { describe, expect, it } from 'vitest';
import {
  bytesPerVector,
  codecReport,
  decodeRecord,
  decodeVectors,
  encodeRecord,
  encodeVectors,
  recordBytes,
  relativeError,
  trainRecordCodec,
  type RecordCodec,
} from '../../src/memory/codec';
import { vectorsPerRecord, type CodecName, type MemoryShape } from '../../src/memory/types';
import { syntheticBank } from '../helpers/memory-bank';
import { expectCodecError } from '../helpers/memory-errors';

/** Memory³-2.4B: 22 memory layers × 8 KV heads × 8 tokens × head dim 80. */
const memory3: MemoryShape = { memLayers: 22, memHeads: 8, tokensPerHead: 8, headDim: 80 };
const codecs: CodecName[] = ['f32', 'f16', 'int8', 'int4', 'pq'];

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

describe('record bytes for the Memory³-2.4B shape (1408 key and 1408 value vectors per reference)', () => {
  it("f16 is exactly 450,560 B (the paper's 440 KiB); the other codecs follow bytes per vector", () => {
    expect(vectorsPerRecord(memory3)).toBe(1408);
    const bytes = (keys: CodecName, values: CodecName, pqSubvectors?: number) =>
      recordBytes({ spec: { keys, values, pqSubvectors }, shape: memory3 });
    expect(bytes('f16', 'f16')).toBe(450_560);
    expect(bytes('f32', 'f32')).toBe(901_120);
    expect(bytes('int8', 'int8')).toBe(1408 * 82 * 2);
    expect(bytes('int4', 'int4')).toBe(1408 * 42 * 2);
    expect(bytes('int8', 'int4')).toBe(1408 * (82 + 42));
    expect(bytes('pq', 'pq')).toBe(1408 * 16 * 2);
    expect(bytes('pq', 'pq', 10)).toBe(1408 * 10 * 2);
    const table = codecs.map((c) => `${c} ${bytes(c, c)} B (${(bytes(c, c) / 1024).toFixed(1)} KiB)`);
    console.log(
      `Memory³-2.4B bytes per reference: ${table.join(', ')}, int8 keys + int4 values ${bytes('int8', 'int4')} B, pq×10 ${bytes('pq', 'pq', 10)} B`,
    );
  });
});

describe('record codec', () => {
  const shape: MemoryShape = { memLayers: 3, memHeads: 2, tokensPerHead: 5, headDim: 10 };
  const bank = syntheticBank(shape, 60, 21);
  const per = vectorsPerRecord(shape) * shape.headDim;
  /** Relative error of one part over the whole bank after an encodeRecord → decodeRecord round trip. */
  function decodedError(c: RecordCodec, part: 'keys' | 'values'): number {
    const out = new Float32Array(bank.keys.length),
      scratch = new Float32Array(per);
    for (let r = 0; r < 60; r++) {
      const mine = out.subarray(r * per, (r + 1) * per);
      decodeRecord(c, encodeRecord(c, rec(r)), part === 'keys' ? { keys: mine, values: scratch } : { keys: scratch, values: mine });
    }
    return relativeError(bank[part], out);
  }
  const rec = (r: number) => ({ keys: bank.keys.slice(r * per, (r + 1) * per), values: bank.values.slice(r * per, (r + 1) * per) });

  it('mixed codecs (int8 keys, int4 values, KIVI-like): payload = keys block | values block', () => {
    const c: RecordCodec = { spec: { keys: 'int8', values: 'int4' }, shape };
    const data = rec(0);
    const payload = encodeRecord(c, data);
    expect(payload.length).toBe(30 * (12 + 7));
    expect(payload).toEqual(concat(encodeVectors('int8', data.keys, 10), encodeVectors('int4', data.values, 10)));
    const out = decodeRecord(c, payload);
    const keys = new Float32Array(per),
      values = new Float32Array(per);
    decodeVectors('int8', payload.subarray(0, 360), 10, 30, keys);
    decodeVectors('int4', payload.subarray(360), 10, 30, values);
    expect(out.keys).toEqual(keys);
    expect(out.values).toEqual(values);
    expect(relativeError(data.keys, out.keys)).toBeLessThan(0.02);
    expect(relativeError(data.values, out.values)).toBeLessThan(0.25);
  });

  it('pq with per-layer codebooks encodes each layer with its own book; decodes into slot subarrays', () => {
    const c = trainRecordCodec({ keys: 'pq', values: 'f16', pqSubvectors: 5 }, shape, bank, { iterations: 4 });
    expect(c.keyBooks?.length).toBe(3);
    expect(c.valueBooks).toBeUndefined();
    const data = rec(7);
    const payload = encodeRecord(c, data);
    expect(payload.length).toBe(recordBytes(c));
    expect(payload.length).toBe(30 * 5 + 30 * 20);
    const layer = 10 * 10;
    for (let l = 0; l < 3; l++) {
      expect(payload.subarray(l * 50, (l + 1) * 50)).toEqual(
        encodeVectors('pq', data.keys.subarray(l * layer, (l + 1) * layer), 10, c.keyBooks![l]),
      );
    }
    const slot = { keys: new Float32Array(per * 3).fill(NaN), values: new Float32Array(per * 3).fill(NaN), positions: new Uint16Array(2) };
    const target = { keys: slot.keys.subarray(per, 2 * per), values: slot.values.subarray(per, 2 * per), positions: slot.positions };
    expect(decodeRecord(c, payload, target)).toBe(target);
    for (const part of ['keys', 'values'] as const) {
      expect(slot[part].subarray(0, per).every(Number.isNaN)).toBe(true);
      expect(slot[part].subarray(2 * per).every(Number.isNaN)).toBe(true);
      expect(target[part].some(Number.isNaN)).toBe(false);
    }
    expect(relativeError(data.keys, target.keys)).toBeLessThan(0.5);
  });

  it('per-layer codebooks beat one shared codebook on layers of different scale; training is seeded', () => {
    const spec = { keys: 'pq', values: 'pq', pqSubvectors: 5 } as const;
    const perLayer = trainRecordCodec(spec, shape, bank, { iterations: 4 });
    const shared = trainRecordCodec(spec, shape, bank, { iterations: 4, shareLayers: true });
    expect(shared.keyBooks?.length).toBe(1);
    const again = trainRecordCodec(spec, shape, bank, { iterations: 4 });
    expect(again.keyBooks![1].centroids).toEqual(perLayer.keyBooks![1].centroids);
    expect(again.valueBooks![2].centroids).toEqual(perLayer.valueBooks![2].centroids);
    const keysPer = decodedError(perLayer, 'keys'),
      keysShared = decodedError(shared, 'keys');
    const valuesPer = decodedError(perLayer, 'values'),
      valuesShared = decodedError(shared, 'values');
    console.log(
      `pq (5 subvectors of 2) error, per-layer vs shared: keys ${keysPer.toFixed(4)} vs ${keysShared.toFixed(4)}, ` +
        `values ${valuesPer.toFixed(4)} vs ${valuesShared.toFixed(4)}`,
    );
    expect(keysPer).toBeLessThan(keysShared);
    expect(valuesPer).toBeLessThan(valuesShared);
  }, 60_000);
});

describe('record codec errors', () => {
  const shape: MemoryShape = { memLayers: 2, memHeads: 2, tokensPerHead: 3, headDim: 10 };
  const bank = syntheticBank(shape, 30, 4);
  const per = vectorsPerRecord(shape) * shape.headDim;
  const data = { keys: bank.keys.slice(0, per), values: bank.values.slice(0, per) };
  const pq = trainRecordCodec({ keys: 'pq', values: 'int8', pqSubvectors: 5 }, shape, bank, { iterations: 2 });

  it('payload of the wrong length, or an output too short', () => {
    const payload = encodeRecord(pq, data);
    expectCodecError(() => decodeRecord(pq, payload.subarray(1)), 'payload length', String(payload.length), String(payload.length - 1));
    expectCodecError(
      () => decodeRecord(pq, payload, { keys: new Float32Array(per - 1), values: new Float32Array(per) }),
      'output keys length',
    );
  });
  it('keys or values of the wrong length, NaN inputs', () => {
    expectCodecError(() => encodeRecord(pq, { keys: data.keys.subarray(10), values: data.values }), 'keys length', String(per));
    const bad = data.values.slice();
    bad[17] = NaN;
    expectCodecError(() => encodeRecord(pq, { keys: data.keys, values: bad }), 'values element 17');
  });
  it('unknown codec, invalid shape', () => {
    expectCodecError(() => recordBytes({ spec: { keys: 'f16', values: 'fp8' as CodecName }, shape }), 'unknown codec', 'fp8');
    expectCodecError(
      () => encodeRecord({ spec: { keys: 'f16', values: 'f16' }, shape: { ...shape, memHeads: 0 } }, data),
      'shape.memHeads',
    );
  });
  it('missing codebooks, a wrong number of them, or subvectors that disagree with the spec', () => {
    expectCodecError(() => encodeRecord({ ...pq, keyBooks: undefined }, data), 'keys pq codebooks', 'none');
    expectCodecError(
      () => decodeRecord({ ...pq, keyBooks: [...pq.keyBooks!, pq.keyBooks![0]] }, new Uint8Array(recordBytes(pq))),
      'codebook count',
      '1 or 2',
      '3',
    );
    expectCodecError(() => encodeRecord({ ...pq, spec: { ...pq.spec, pqSubvectors: 2 } }, data), 'codebook subvectors', '2', '5');
    expectCodecError(() => trainRecordCodec({ keys: 'pq', values: 'f16', pqSubvectors: 3 }, shape, bank), 'must divide dim 10', '3');
  });
  it('training samples that are not whole records', () => {
    expectCodecError(
      () => trainRecordCodec({ keys: 'f16', values: 'pq' }, shape, { keys: bank.keys, values: bank.values.subarray(5) }),
      'values sample length',
    );
  });
});

describe('codec report on a Memory³-shaped synthetic bank', () => {
  // 4 of the 22 memory layers, 12 references: 768 key and 768 value vectors of dim 80.
  const shape: MemoryShape = { ...memory3, memLayers: 4 };
  const bank = syntheticBank(shape, 12, 2024);

  it('bytes per vector and relative error of every codec, keys and values', () => {
    const lines: string[] = [];
    for (const part of ['keys', 'values'] as const) {
      const rows = codecReport(bank[part], 80, { pqSubvectors: [10, 16, 40], iterations: 6 });
      expect(rows.map((r) => r.codec)).toEqual(['f32', 'f16', 'int8', 'int4', 'pq', 'pq', 'pq']);
      for (const r of rows) expect(r.bytesPerVector).toBe(bytesPerVector(r.codec, 80, r.pqSubvectors));
      expect(rows[0].relativeError).toBe(0);
      expect(rows[0].maxAbsError).toBe(0);
      for (let i = 1; i < 4; i++) expect(rows[i].relativeError).toBeGreaterThan(rows[i - 1].relativeError);
      expect(rows[1].relativeError).toBeLessThan(2 ** -10);
      expect(rows[6].relativeError).toBeLessThan(rows[5].relativeError);
      expect(rows[5].relativeError).toBeLessThan(rows[4].relativeError);
      lines.push(
        ...rows.map(
          (r) =>
            `${part} ${r.codec}${r.pqSubvectors ? `×${r.pqSubvectors}` : ''}: ${r.bytesPerVector} B/vector, ` +
            `rel ${r.relativeError.toExponential(3)}, mean per-vector ${r.meanVectorError.toExponential(3)}, max |err| ${r.maxAbsError.toPrecision(3)}`,
        ),
      );
    }
    console.log(lines.join('\n'));
  }, 120_000);

  it('decoding 5 Memory³ references (7040 key + 7040 value vectors) into slots, per codec', () => {
    const n = vectorsPerRecord(memory3) * 80;
    const big = syntheticBank(memory3, 1, 9);
    const slot = { keys: new Float32Array(5 * n), values: new Float32Array(5 * n) };
    const times: string[] = [];
    for (const codec of codecs) {
      const spec = { keys: codec, values: codec };
      const c: RecordCodec =
        codec === 'pq'
          ? trainRecordCodec(spec, memory3, big, { shareLayers: true, iterations: 2, sample: 1408 })
          : { spec, shape: memory3 };
      const payload = encodeRecord(c, big);
      let best = Infinity;
      for (let rep = 0; rep < 3; rep++) {
        const t0 = performance.now();
        for (let r = 0; r < 5; r++)
          decodeRecord(c, payload, { keys: slot.keys.subarray(r * n, (r + 1) * n), values: slot.values.subarray(r * n, (r + 1) * n) });
        best = Math.min(best, performance.now() - t0);
      }
      times.push(`${codec} ${best.toFixed(2)} ms`);
      expect(relativeError(big.keys, slot.keys.subarray(4 * n))).toBeLessThan(
        { f32: 1e-7, f16: 1e-3, int8: 0.02, int4: 0.3, pq: 0.5 }[codec],
      );
    }
    console.log(`decode 5 Memory³ references, best of 3: ${times.join(', ')}`);
  }, 60_000);
});
