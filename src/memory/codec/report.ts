/**
 * Measured cost and fidelity of every codec on a set of vectors (a synthetic bank in the tests, a real
 * bank's keys or values in the benchmark): bytes per vector and relative reconstruction error.
 */
import type { CodecName } from '../types';
import { checkFinite, fail, rowCount } from './check';
import { defaultPqSubvectors, trainPq, type PqCodebook, type PqTrainOptions } from './pq';
import { bytesPerVector, decodeVectors, encodeVectors } from './vectors';

/** ‖a − b‖ / ‖a‖ over whole arrays, accumulated in float64 (0 when both are zero, Infinity when only a is). */
export function relativeError(original: Float32Array, decoded: Float32Array): number {
  if (original.length !== decoded.length) fail('relativeError', 'decoded length', original.length, decoded.length);
  let se = 0,
    sa = 0;
  for (let i = 0; i < original.length; i++) {
    const d = original[i] - decoded[i];
    se += d * d;
    sa += original[i] * original[i];
  }
  if (sa === 0) return se === 0 ? 0 : Infinity;
  return Math.sqrt(se / sa);
}

export interface CodecReportRow {
  codec: CodecName;
  /** Subvectors, for 'pq' rows. */
  pqSubvectors?: number;
  bytesPerVector: number;
  /** ‖x − decode(encode(x))‖ / ‖x‖ over all vectors. */
  relativeError: number;
  /** Mean over vectors of ‖x_v − x̂_v‖ / ‖x_v‖ (zero vectors skipped). */
  meanVectorError: number;
  /** Largest |x − x̂| of any element. */
  maxAbsError: number;
}

export interface CodecReportOptions extends PqTrainOptions {
  /** PQ shapes to report (default: [defaultPqSubvectors(dim)]); each trains a codebook on `vectors` themselves. */
  pqSubvectors?: number[];
}

function meanVectorError(a: Float32Array, b: Float32Array, dim: number): number {
  let sum = 0,
    n = 0;
  for (let o = 0; o < a.length; o += dim) {
    let se = 0,
      sa = 0;
    for (let j = 0; j < dim; j++) {
      const d = a[o + j] - b[o + j];
      se += d * d;
      sa += a[o + j] * a[o + j];
    }
    if (sa > 0) {
      sum += Math.sqrt(se / sa);
      n++;
    }
  }
  return n ? sum / n : 0;
}

function row(codec: CodecName, vectors: Float32Array, dim: number, book?: PqCodebook): CodecReportRow {
  const count = vectors.length / dim;
  const decoded = new Float32Array(vectors.length);
  decodeVectors(codec, encodeVectors(codec, vectors, dim, book), dim, count, decoded, book);
  let maxAbs = 0;
  for (let i = 0; i < vectors.length; i++) maxAbs = Math.max(maxAbs, Math.abs(vectors[i] - decoded[i]));
  return {
    codec,
    ...(book ? { pqSubvectors: book.subvectors } : {}),
    bytesPerVector: bytesPerVector(codec, dim, book?.subvectors),
    relativeError: relativeError(vectors, decoded),
    meanVectorError: meanVectorError(vectors, decoded, dim),
    maxAbsError: maxAbs,
  };
}

/**
 * One row per codec (f32, f16, int8, int4, then pq per requested subvector count). PQ is trained and
 * measured on the same vectors (in-sample, as a bank's codebooks are trained on the bank itself).
 */
export function codecReport(vectors: Float32Array, dim: number, opts: CodecReportOptions = {}): CodecReportRow[] {
  const op = 'codecReport';
  if (rowCount(op, vectors, dim) === 0) fail(op, 'vectors', 'at least one', 0);
  checkFinite(op, vectors);
  const rows = (['f32', 'f16', 'int8', 'int4'] as const).map((c) => row(c, vectors, dim));
  for (const m of opts.pqSubvectors ?? [defaultPqSubvectors(dim)]) {
    rows.push(row('pq', vectors, dim, trainPq(vectors, dim, m, opts)));
  }
  return rows;
}
