/**
 * One entry point for every vector codec (scalar.ts: f32, f16, int8, int4; pq.ts: product quantizer),
 * validated at the boundary. Rows are `dim` f32 values; a block of `count` encoded rows is exactly
 * count · bytesPerVector(codec, dim) bytes.
 */
import type { CodecName } from '../types';
import { checkCodec, checkDim, checkFinite, fail, rowCount } from './check';
import { checkCodebook, checkSubvectors, decodePq, defaultPqSubvectors, encodePq, type PqCodebook } from './pq';
import { decodeScalar, encodeScalar, scalarBytesPerVector } from './scalar';

/** Encoded bytes of one `dim`-wide vector (int8/int4 include their 2-byte f16 scale; pq: one byte per subvector). */
export function bytesPerVector(codec: CodecName, dim: number, pqSubvectors?: number): number {
  checkCodec('bytesPerVector', codec);
  checkDim('bytesPerVector', dim);
  if (codec !== 'pq') return scalarBytesPerVector(codec, dim);
  const m = pqSubvectors ?? defaultPqSubvectors(dim);
  checkSubvectors('bytesPerVector', dim, m);
  return m;
}

/** Bytes per vector of a codec whose PQ shape comes from its codebook. */
function blockBpv(op: string, codec: CodecName, dim: number, codebook: PqCodebook | undefined): number {
  if (codec !== 'pq') return scalarBytesPerVector(codec, dim);
  return checkCodebook(op, codebook, dim).subvectors;
}

/** Encodes `count` rows of `vectors` into `dst` from byte `at` (the record path; checks done by the caller except finiteness). */
export function encodeInto(
  codec: CodecName,
  vectors: Float32Array,
  dim: number,
  count: number,
  dst: Uint8Array,
  at: number,
  codebook?: PqCodebook,
): void {
  if (codec === 'pq') encodePq(codebook as PqCodebook, vectors, count, dst, at);
  else encodeScalar(codec, vectors, dim, count, dst, at);
}

/** Decodes `count` rows from `src` at byte `at` into `out[0 .. count·dim)` (the record path). */
export function decodeFrom(
  codec: CodecName,
  src: Uint8Array,
  at: number,
  dim: number,
  count: number,
  out: Float32Array,
  codebook?: PqCodebook,
): void {
  if (codec === 'pq') decodePq(codebook as PqCodebook, src, at, count, out);
  else decodeScalar(codec, src, at, dim, count, out);
}

/** Encodes every row of `vectors` (length a multiple of dim, all finite). 'pq' needs the codebook. */
export function encodeVectors(codec: CodecName, vectors: Float32Array, dim: number, codebook?: PqCodebook): Uint8Array {
  const op = 'encodeVectors';
  checkCodec(op, codec);
  const count = rowCount(op, vectors, dim);
  const bpv = blockBpv(op, codec, dim, codebook);
  checkFinite(op, vectors);
  const out = new Uint8Array(count * bpv);
  encodeInto(codec, vectors, dim, count, out, 0, codebook);
  return out;
}

/**
 * Decodes `count` rows from `bytes` (exactly count · bytesPerVector long) into `out[0 .. count·dim)`.
 * Allocates nothing per vector: pass a subarray of a slot buffer as `out` to decode in place.
 */
export function decodeVectors(
  codec: CodecName,
  bytes: Uint8Array,
  dim: number,
  count: number,
  out: Float32Array,
  codebook?: PqCodebook,
): void {
  const op = 'decodeVectors';
  checkCodec(op, codec);
  checkDim(op, dim);
  if (!Number.isInteger(count) || count < 0) fail(op, 'count', 'a non-negative integer', count);
  const bpv = blockBpv(op, codec, dim, codebook);
  if (bytes.length !== count * bpv) fail(op, `payload length of ${count} ${codec} vectors of dim ${dim}`, count * bpv, bytes.length);
  if (out.length < count * dim) fail(op, 'output length', `≥ ${count * dim}`, out.length);
  decodeFrom(codec, bytes, 0, dim, count, out, codebook);
}
