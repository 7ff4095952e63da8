/**
 * Codec figures of the memory bench. `memory3Bytes`: bytes per reference of the Memory³-2.4B memory
 * shape under every codec (recordBytes; no data needed). `bankCodecFigures`: reconstruction error of
 * every codec on a real bank's keys and values (read back from IndexedDB on the page; the bank is
 * stored as f32, so the vectors are exactly what the writer produced on the GPU).
 */
import {
  codecReport,
  decodeRecord,
  decodeVectors,
  defaultPqSubvectors,
  encodeVectors,
  recordBytes,
  relativeError,
  trainPq,
  type CodecReportRow,
  type RecordCodec,
} from '../../src/memory/codec';
import { BankStore } from '../../src/memory/store/bank-store';
import type { CodecName, CodecSpec, MemoryPolicy, MemoryShape } from '../../src/memory/types';

/** Memory³-2.4B: 22 memory layers (first half of 44) × 8 KV heads × 8 tokens × head_dim 80. */
export const memory3Shape: MemoryShape = { memLayers: 22, memHeads: 8, tokensPerHead: 8, headDim: 80 };
/** The paper's vector quantizer: 14 bytes per 80-dim vector, keys and values (22·8·8·2·14). */
export const paperVqBytes = 22 * 8 * 8 * 2 * 14;
/** The paper's bf16 figure (440 KiB), the same bytes as f16. */
export const paperBf16Bytes = 22 * 8 * 8 * 2 * 80 * 2;

export const reportedCodecs: CodecName[] = ['f32', 'f16', 'int8', 'int4', 'pq'];

const spec = (c: CodecName): CodecSpec => ({ keys: c, values: c });

/** Bytes per reference (keys + values payload, positions not counted) for every codec; pq at its default subvectors. */
export function bytesPerReference(shape: MemoryShape): Record<CodecName, number> & { pqSubvectors: number } {
  const out = Object.fromEntries(reportedCodecs.map((c) => [c, recordBytes({ spec: spec(c), shape })]));
  return { ...(out as Record<CodecName, number>), pqSubvectors: defaultPqSubvectors(shape.headDim) };
}

export interface BankVectors {
  shape: MemoryShape;
  policy: MemoryPolicy; // as stored with the bank
  references: number;
  tokenCounts: number[];
  keys: Float32Array; // (references, memLayers, memHeads, tokensPerHead, headDim)
  values: Float32Array;
}

/** Every record of `bank` (stored with the f32 codec), decoded and concatenated in id order. */
export async function readBankVectors(bank: string, sources: string[]): Promise<BankVectors> {
  const store = await BankStore.open(bank);
  try {
    const shape = store.meta.shape;
    const f32: RecordCodec = { spec: spec('f32'), shape };
    if (store.meta.codec.keys !== 'f32' || store.meta.codec.values !== 'f32')
      throw new Error(`bench: bank "${bank}" must be stored as f32`);
    const refs = (await Promise.all(sources.map((s) => store.referencesBySource(s)))).flat().sort((a, b) => a.id - b.id);
    const { records, corrupt, missing } = await store.getRecords(refs.map((r) => r.id));
    if (corrupt.length || missing.length) throw new Error(`bench: bank "${bank}" has corrupt ${corrupt} / missing ${missing} records`);
    const per = recordBytes(f32) / 8; // f32 values per part
    const keys = new Float32Array(refs.length * per),
      values = new Float32Array(refs.length * per);
    refs.forEach((r, i) => {
      decodeRecord(f32, records.get(r.id)!.payload, {
        keys: keys.subarray(i * per, (i + 1) * per),
        values: values.subarray(i * per, (i + 1) * per),
      });
    });
    return { shape, policy: store.meta.policy, references: refs.length, tokenCounts: refs.map((r) => r.tokenCount), keys, values };
  } finally {
    store.close();
  }
}

export interface HeldOutPq {
  pqSubvectors: number;
  trainReferences: number;
  testReferences: number;
  keysRelativeError: number;
  valuesRelativeError: number;
}

/** PQ trained on the first half of the references' vectors (all layers, one codebook), measured on the other half. */
function heldOutPq(v: BankVectors): HeldOutPq {
  const dim = v.shape.headDim,
    m = defaultPqSubvectors(dim),
    per = v.keys.length / v.references;
  const train = Math.max(1, v.references >> 1);
  const err = (all: Float32Array) => {
    const book = trainPq(all.subarray(0, train * per), dim, m, { seed: 1 });
    const test = all.subarray(train * per),
      out = new Float32Array(test.length);
    decodeVectors('pq', encodeVectors('pq', test, dim, book), dim, test.length / dim, out, book);
    return relativeError(test, out);
  };
  return {
    pqSubvectors: m,
    trainReferences: train,
    testReferences: v.references - train,
    keysRelativeError: err(v.keys),
    valuesRelativeError: err(v.values),
  };
}

export interface BankCodecFigures {
  shape: MemoryShape;
  references: number;
  vectorsPerPart: number;
  meanTokensPerReference: number;
  /** codecReport rows on all keys and on all values (pq: one codebook for all layers, trained in-sample). */
  keys: CodecReportRow[];
  values: CodecReportRow[];
  /** pq on references it was not trained on (none when the bank has a single reference). */
  pqHeldOut: HeldOutPq | null;
}

export function bankCodecFigures(v: BankVectors): BankCodecFigures {
  const dim = v.shape.headDim;
  return {
    shape: v.shape,
    references: v.references,
    vectorsPerPart: v.keys.length / dim,
    meanTokensPerReference: v.tokenCounts.reduce((a, b) => a + b, 0) / Math.max(1, v.references),
    keys: codecReport(v.keys, dim, { seed: 1 }),
    values: codecReport(v.values, dim, { seed: 1 }),
    pqHeldOut: v.references > 1 ? heldOutPq(v) : null,
  };
}
