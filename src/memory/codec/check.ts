/** Boundary checks shared by the codecs; each failure is a MemoryCodecError naming op, expected and actual. */
import { MemoryCodecError } from '../../util/errors';
import type { CodecName } from '../types';

export const codecNames: readonly CodecName[] = ['f32', 'f16', 'int8', 'int4', 'pq'];

export function fail(op: string, what: string, expected: unknown, actual: unknown): never {
  throw new MemoryCodecError(`${op}: ${what}: expected ${String(expected)}, got ${String(actual)}`, {
    op,
    what,
    expected: String(expected),
    actual: String(actual),
  });
}

export function checkCodec(op: string, codec: unknown): asserts codec is CodecName {
  if (!codecNames.includes(codec as CodecName)) fail(op, 'unknown codec', codecNames.join(' | '), JSON.stringify(codec));
}

export function checkDim(op: string, dim: number): void {
  if (!Number.isInteger(dim) || dim < 1) fail(op, 'dim', 'a positive integer', dim);
}

/** `vectors` holds a whole number of rows of `dim`; returns the row count. */
export function rowCount(op: string, vectors: Float32Array, dim: number): number {
  checkDim(op, dim);
  if (vectors.length % dim !== 0) fail(op, `vector data length (a multiple of dim ${dim})`, `a multiple of ${dim}`, vectors.length);
  return vectors.length / dim;
}

/** Every element finite (NaN and ±Inf have no faithful encoding in the integer and PQ codecs). */
export function checkFinite(op: string, vectors: Float32Array, label = 'input'): void {
  for (let i = 0; i < vectors.length; i++) {
    if (!Number.isFinite(vectors[i])) fail(op, `${label} element ${i}`, 'a finite number', vectors[i]);
  }
}
