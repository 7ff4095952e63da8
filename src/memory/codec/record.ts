/**
 * Whole-record codec: the keys and values of one reference, (memLayers, memHeads, tokensPerHead, headDim)
 * each, with independent codecs (KIVI-style). Payload = keys block | values block, each
 * vectorsPerRecord · bytesPerVector bytes; positions are stored by the store, not here.
 *
 * PQ codebooks are per memory layer by default [choice]: keys of different layers differ in scale and
 * outlier channels by an order of magnitude, and a layer's codebook costs only 256·headDim·4 bytes
 * (80 KiB at headDim 80; 22 layers × keys and values = 3.4 MiB per bank). A single shared codebook
 * (`shareLayers`) is the alternative; `keyBooks`/`valueBooks` hold memLayers books or 1 book.
 */
import { vectorsPerRecord, type CodecName, type CodecSpec, type MemoryRecordData, type MemoryShape } from '../types';
import { checkCodec, checkFinite, fail } from './check';
import { checkCodebook, defaultPqSubvectors, trainPq, type PqCodebook, type PqTrainOptions } from './pq';
import { bytesPerVector, decodeFrom, encodeInto } from './vectors';

export interface RecordCodec {
  spec: CodecSpec;
  shape: MemoryShape;
  /** When spec.keys is 'pq': one codebook per memory layer (length memLayers) or one shared (length 1). */
  keyBooks?: PqCodebook[];
  /** When spec.values is 'pq': as keyBooks. */
  valueBooks?: PqCodebook[];
}

/** Keys and values of one record, decoded (positions live beside them in MemoryRecordData). */
export type RecordTensors = Pick<MemoryRecordData, 'keys' | 'values'>;

type Part = 'keys' | 'values';

function partCodec(c: RecordCodec, part: Part): { codec: CodecName; books?: PqCodebook[] } {
  return part === 'keys' ? { codec: c.spec.keys, books: c.keyBooks } : { codec: c.spec.values, books: c.valueBooks };
}

function partBpv(c: RecordCodec, part: Part): number {
  const { codec } = partCodec(c, part);
  return bytesPerVector(codec, c.shape.headDim, codec === 'pq' ? c.spec.pqSubvectors : undefined);
}

/** Validates the codec: known codec names, positive shape, codebooks present and matching for 'pq'. */
export function checkRecordCodec(op: string, c: RecordCodec): void {
  const { memLayers, memHeads, tokensPerHead, headDim } = c.shape;
  for (const [k, v] of Object.entries({ memLayers, memHeads, tokensPerHead, headDim })) {
    if (!Number.isInteger(v) || v < 1) fail(op, `shape.${k}`, 'a positive integer', v);
  }
  for (const part of ['keys', 'values'] as const) {
    const { codec, books } = partCodec(c, part);
    checkCodec(`${op} (${part})`, codec);
    if (codec !== 'pq') continue;
    if (!books || books.length === 0) fail(op, `${part} pq codebooks`, `1 or ${memLayers}`, 'none');
    if (books.length !== 1 && books.length !== memLayers) fail(op, `${part} pq codebook count`, `1 or ${memLayers}`, books.length);
    const m = c.spec.pqSubvectors ?? defaultPqSubvectors(headDim);
    books.forEach((b) => checkCodebook(`${op} (${part})`, b, headDim, m));
  }
}

/** Keys + values payload bytes per reference (positions not counted); needs no codebooks, only spec and shape. */
export function recordBytes(c: RecordCodec): number {
  return vectorsPerRecord(c.shape) * (partBpv(c, 'keys') + partBpv(c, 'values'));
}

function encodePart(c: RecordCodec, part: Part, src: Float32Array, dst: Uint8Array, at: number): void {
  const { codec, books } = partCodec(c, part);
  const { memLayers, headDim } = c.shape;
  const perLayer = vectorsPerRecord(c.shape) / memLayers;
  if (codec !== 'pq') {
    encodeInto(codec, src, headDim, perLayer * memLayers, dst, at);
    return;
  }
  const bpv = partBpv(c, part);
  for (let l = 0; l < memLayers; l++) {
    const book = (books as PqCodebook[])[books!.length === 1 ? 0 : l];
    encodeInto(
      codec,
      src.subarray(l * perLayer * headDim, (l + 1) * perLayer * headDim),
      headDim,
      perLayer,
      dst,
      at + l * perLayer * bpv,
      book,
    );
  }
}

function decodePart(c: RecordCodec, part: Part, src: Uint8Array, at: number, out: Float32Array): void {
  const { codec, books } = partCodec(c, part);
  const { memLayers, headDim } = c.shape;
  const perLayer = vectorsPerRecord(c.shape) / memLayers;
  if (codec !== 'pq') {
    decodeFrom(codec, src, at, headDim, perLayer * memLayers, out);
    return;
  }
  const bpv = partBpv(c, part);
  for (let l = 0; l < memLayers; l++) {
    const book = (books as PqCodebook[])[books!.length === 1 ? 0 : l];
    decodeFrom(codec, src, at + l * perLayer * bpv, headDim, perLayer, out.subarray(l * perLayer * headDim), book);
  }
}

export function encodeRecord(c: RecordCodec, data: RecordTensors): Uint8Array {
  const op = 'encodeRecord';
  checkRecordCodec(op, c);
  const n = vectorsPerRecord(c.shape) * c.shape.headDim;
  for (const part of ['keys', 'values'] as const) {
    if (data[part].length !== n) fail(op, `${part} length (memLayers·memHeads·tokensPerHead·headDim)`, n, data[part].length);
    checkFinite(op, data[part], part);
  }
  const keyBytes = vectorsPerRecord(c.shape) * partBpv(c, 'keys');
  const out = new Uint8Array(recordBytes(c));
  encodePart(c, 'keys', data.keys, out, 0);
  encodePart(c, 'values', data.values, out, keyBytes);
  return out;
}

/**
 * Decodes a payload into `out` (allocated when absent; `out.keys`/`out.values` may be subarrays of
 * slot buffers, each at least vectorsPerRecord·headDim long). Returns `out`; other fields are untouched.
 */
export function decodeRecord(c: RecordCodec, payload: Uint8Array): RecordTensors;
export function decodeRecord<T extends RecordTensors>(c: RecordCodec, payload: Uint8Array, out: T): T;
export function decodeRecord(c: RecordCodec, payload: Uint8Array, out?: RecordTensors): RecordTensors {
  const op = 'decodeRecord';
  checkRecordCodec(op, c);
  const total = recordBytes(c);
  if (payload.length !== total) fail(op, 'payload length', total, payload.length);
  const n = vectorsPerRecord(c.shape) * c.shape.headDim;
  const dst = out ?? { keys: new Float32Array(n), values: new Float32Array(n) };
  for (const part of ['keys', 'values'] as const) {
    if (dst[part].length < n) fail(op, `output ${part} length`, `≥ ${n}`, dst[part].length);
  }
  decodePart(c, 'keys', payload, 0, dst.keys);
  decodePart(c, 'values', payload, vectorsPerRecord(c.shape) * partBpv(c, 'keys'), dst.values);
  return dst;
}

export interface RecordTrainOptions extends PqTrainOptions {
  /** One codebook for all memory layers instead of one per layer (default false). */
  shareLayers?: boolean;
}

/** Rows of layer `l` from `count` concatenated records (count, memLayers, perLayer, headDim). */
function layerRows(all: Float32Array, shape: MemoryShape, l: number): Float32Array {
  const perLayer = (vectorsPerRecord(shape) / shape.memLayers) * shape.headDim;
  const count = all.length / (perLayer * shape.memLayers);
  const out = new Float32Array(count * perLayer);
  for (let r = 0; r < count; r++)
    out.set(all.subarray((r * shape.memLayers + l) * perLayer, (r * shape.memLayers + l + 1) * perLayer), r * perLayer);
  return out;
}

function trainBooks(all: Float32Array, spec: CodecSpec, shape: MemoryShape, o: RecordTrainOptions, seed: number): PqCodebook[] {
  const m = spec.pqSubvectors ?? defaultPqSubvectors(shape.headDim);
  if (o.shareLayers) return [trainPq(all, shape.headDim, m, { ...o, seed })];
  return Array.from({ length: shape.memLayers }, (_, l) =>
    trainPq(layerRows(all, shape, l), shape.headDim, m, { ...o, seed: seed + 2 * l }),
  );
}

/**
 * A RecordCodec for `spec`, training PQ codebooks (keys and values separately) on `samples`: the keys
 * and values of any number of records, concatenated (records, memLayers, memHeads, tokensPerHead, headDim).
 * Seeds: keys of layer l use seed + 2l, values seed + 2l + 1 (shared books: seed, seed + 1).
 */
export function trainRecordCodec(spec: CodecSpec, shape: MemoryShape, samples: RecordTensors, opts: RecordTrainOptions = {}): RecordCodec {
  const op = 'trainRecordCodec';
  const c: RecordCodec = { spec, shape };
  const per = vectorsPerRecord(shape) * shape.headDim;
  const seed = opts.seed ?? 0;
  for (const part of ['keys', 'values'] as const) {
    const codec = part === 'keys' ? spec.keys : spec.values;
    checkCodec(`${op} (${part})`, codec);
    if (codec !== 'pq') continue;
    const all = samples[part];
    if (all.length === 0 || all.length % per !== 0)
      fail(op, `${part} sample length (a positive multiple of ${per})`, `k·${per}`, all.length);
    const books = trainBooks(all, spec, shape, opts, seed + (part === 'keys' ? 0 : 1));
    if (part === 'keys') c.keyBooks = books;
    else c.valueBooks = books;
  }
  checkRecordCodec(op, c);
  return c;
}
