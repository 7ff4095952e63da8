/**
 * Cosine top-k over stored unit vectors. Two variants:
 *  - 'flat': exact; scans every f32 row (dot product = cosine, rows and query L2-normalized).
 *  - 'int8': each row also kept as int8 codes with one f32 scale (symmetric, max|x|/127); the query
 *    is quantized the same way, an integer dot product scans all rows into a shortlist, and the
 *    shortlist is re-ranked with the exact f32 dot. Returned scores are always exact f32 cosines.
 * The f32 rows are kept in both variants (re-ranking and serialization need them).
 * Memory: 'flat' 4·dim bytes per row (+8 for the id); 'int8' adds dim + 4.
 */
import { RetrievalError } from '../../util/errors';
import { TopK } from './topk';
import type { SearchHit } from './types';

export type CosineIndexKind = 'flat' | 'int8';

export interface CosineIndexOptions {
  dim: number;
  kind?: CosineIndexKind;
  /** int8 only: rows re-ranked in f32 = max(shortlist, 8·k) (default 64). */
  shortlist?: number;
}

/** Rows of a bank as `allVectors()` may give them: columns, or one entry per reference. */
export type VectorRows = { ids: ArrayLike<number>; vectors: Float32Array } | Iterable<{ id: number; vector: Float32Array }>;
export interface VectorSource {
  allVectors(): VectorRows | Promise<VectorRows>;
}

const magic = 0x4943334d; // "M3CI" little-endian
const formatVersion = 1;
const headerBytes = 16;

/** L2-normalizes `src` into `dst` (may alias); zero rows stay zero. Throws on non-finite values. */
export function normalizeInto(src: Float32Array, dst: Float32Array, what: string): void {
  let ss = 0;
  for (let j = 0; j < src.length; j++) ss += src[j] * src[j];
  if (!Number.isFinite(ss)) throw new RetrievalError(`${what}: vector has non-finite values`);
  const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
  for (let j = 0; j < src.length; j++) dst[j] = src[j] * inv;
}

/** Symmetric int8 quantization of one row; returns the scale (x ≈ code · scale). */
function quantizeRow(src: Float32Array, srcOff: number, dim: number, dst: Int8Array, dstOff: number): number {
  let max = 0;
  for (let j = 0; j < dim; j++) max = Math.max(max, Math.abs(src[srcOff + j]));
  const scale = max > 0 ? max / 127 : 1;
  for (let j = 0; j < dim; j++) dst[dstOff + j] = Math.round(src[srcOff + j] / scale);
  return scale;
}

export class CosineIndex {
  readonly dim: number;
  readonly kind: CosineIndexKind;
  readonly shortlist: number;
  private count = 0;
  private ids = new Float64Array(0); // (capacity)
  private rows = new Float32Array(0); // (capacity, dim) unit rows
  private codes = new Int8Array(0); // (capacity, dim) int8 only
  private scales = new Float32Array(0); // (capacity) int8 only
  private readonly rowOf = new Map<number, number>();

  constructor(options: CosineIndexOptions) {
    if (!Number.isInteger(options.dim) || options.dim <= 0) {
      throw new RetrievalError(`CosineIndex: dim must be a positive integer, got ${options.dim}`);
    }
    const kind = options.kind ?? 'flat';
    if (kind !== 'flat' && kind !== 'int8') throw new RetrievalError(`CosineIndex: unknown kind '${kind}'`);
    this.dim = options.dim;
    this.kind = kind;
    this.shortlist = options.shortlist ?? 64;
  }

  static fromVectors(ids: ArrayLike<number>, vectors: Float32Array, options: CosineIndexOptions): CosineIndex {
    const index = new CosineIndex(options);
    index.add(ids, vectors);
    return index;
  }

  /** Builds an index from a bank's `allVectors()`. */
  static async fromBank(source: VectorSource, options: CosineIndexOptions): Promise<CosineIndex> {
    const all = await source.allVectors();
    const index = new CosineIndex(options);
    if ('ids' in all && 'vectors' in all) {
      index.add(all.ids, all.vectors);
      return index;
    }
    for (const { id, vector } of all as Iterable<{ id: number; vector: Float32Array }>) index.add([id], vector);
    return index;
  }

  get size(): number {
    return this.count;
  }

  has(id: number): boolean {
    return this.rowOf.has(id);
  }

  /** Ids in row order. */
  allIds(): number[] {
    return Array.from(this.ids.subarray(0, this.count));
  }

  /** A copy of the stored unit row of `id`, or null. */
  vector(id: number): Float32Array | null {
    const r = this.rowOf.get(id);
    return r === undefined ? null : this.rows.slice(r * this.dim, (r + 1) * this.dim);
  }

  /** Adds rows `vectors` (ids.length, dim); an id already present is overwritten. Rows are normalized. */
  add(ids: ArrayLike<number>, vectors: Float32Array): void {
    this.addRows(ids, vectors, true);
  }

  /** `normalize` false copies rows as they are (they are unit rows already: restoring from bytes). */
  private addRows(ids: ArrayLike<number>, vectors: Float32Array, normalize: boolean): void {
    const d = this.dim;
    if (vectors.length !== ids.length * d) {
      throw new RetrievalError(`CosineIndex.add: expected ${ids.length}×${d} = ${ids.length * d} values, got ${vectors.length}`, {
        expected: ids.length * d,
        actual: vectors.length,
      });
    }
    this.reserve(this.count + ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isSafeInteger(id)) throw new RetrievalError(`CosineIndex.add: id ${id} is not a safe integer`);
      let r = this.rowOf.get(id);
      if (r === undefined) {
        r = this.count++;
        this.rowOf.set(id, r);
        this.ids[r] = id;
      }
      const row = this.rows.subarray(r * d, (r + 1) * d);
      const src = vectors.subarray(i * d, (i + 1) * d);
      if (normalize) normalizeInto(src, row, `CosineIndex.add(id ${id})`);
      else row.set(src);
      if (this.kind === 'int8') this.scales[r] = quantizeRow(this.rows, r * d, d, this.codes, r * d);
    }
  }

  /** Removes ids (unknown ones are ignored) by moving the last row into the hole. */
  remove(ids: Iterable<number>): number {
    let removed = 0;
    const d = this.dim;
    for (const id of ids) {
      const r = this.rowOf.get(id);
      if (r === undefined) continue;
      const last = --this.count;
      this.rowOf.delete(id);
      if (r !== last) {
        const lastId = this.ids[last];
        this.ids[r] = lastId;
        this.rowOf.set(lastId, r);
        this.rows.copyWithin(r * d, last * d, (last + 1) * d);
        if (this.kind === 'int8') {
          this.codes.copyWithin(r * d, last * d, (last + 1) * d);
          this.scales[r] = this.scales[last];
        }
      }
      removed++;
    }
    return removed;
  }

  /** Grows storage to hold at least `n` rows (doubling). */
  reserve(n: number): void {
    if (n <= this.ids.length) return;
    const cap = Math.max(n, Math.min(this.ids.length * 2, this.ids.length + (1 << 20)), 16);
    const grow = <T extends Float64Array | Float32Array | Int8Array>(old: T, make: (len: number) => T, per: number): T => {
      const next = make(cap * per);
      next.set(old.subarray(0, this.count * per) as never);
      return next;
    };
    this.ids = grow(this.ids, (l) => new Float64Array(l), 1);
    this.rows = grow(this.rows, (l) => new Float32Array(l), this.dim);
    if (this.kind === 'int8') {
      this.codes = grow(this.codes, (l) => new Int8Array(l), this.dim);
      this.scales = grow(this.scales, (l) => new Float32Array(l), 1);
    }
  }

  /** Top-k ids by cosine with `query` (normalized here), excluding `exclude`. */
  search(query: Float32Array, k: number, exclude?: ReadonlySet<number>): SearchHit[] {
    if (query.length !== this.dim) {
      throw new RetrievalError(`CosineIndex.search: query has ${query.length} values, index dim is ${this.dim}`, {
        expected: this.dim,
        actual: query.length,
      });
    }
    if (!Number.isInteger(k) || k < 0) throw new RetrievalError(`CosineIndex.search: k must be a non-negative integer, got ${k}`);
    const q = new Float32Array(this.dim);
    normalizeInto(query, q, 'CosineIndex.search query');
    if (k === 0 || this.count === 0) return [];
    if (this.kind === 'flat') return this.scanFlat(q, k, exclude).hits();
    const shortlist = this.scanInt8(q, Math.max(this.shortlist, 8 * k), exclude);
    const top = new TopK(k);
    for (const c of shortlist.sorted()) top.push(this.dotRow(q, c.row), c.id, c.row);
    return top.hits();
  }

  private dotRow(q: Float32Array, r: number): number {
    const rows = this.rows,
      d = this.dim,
      o = r * d;
    let s0 = 0,
      s1 = 0,
      s2 = 0,
      s3 = 0,
      j = 0;
    for (; j + 3 < d; j += 4) {
      s0 += q[j] * rows[o + j];
      s1 += q[j + 1] * rows[o + j + 1];
      s2 += q[j + 2] * rows[o + j + 2];
      s3 += q[j + 3] * rows[o + j + 3];
    }
    for (; j < d; j++) s0 += q[j] * rows[o + j];
    return s0 + s1 + s2 + s3;
  }

  private scanFlat(q: Float32Array, k: number, exclude?: ReadonlySet<number>): TopK {
    const top = new TopK(k);
    for (let r = 0; r < this.count; r++) {
      const s = this.dotRow(q, r);
      if (s < top.threshold) continue;
      const id = this.ids[r];
      if (exclude?.has(id)) continue;
      top.push(s, id, r);
    }
    return top;
  }

  private scanInt8(q: Float32Array, n: number, exclude?: ReadonlySet<number>): TopK {
    const d = this.dim,
      codes = this.codes,
      scales = this.scales;
    const qc = new Int8Array(d);
    const qs = quantizeRow(q, 0, d, qc, 0);
    const top = new TopK(n);
    for (let r = 0; r < this.count; r++) {
      const o = r * d;
      let a0 = 0,
        a1 = 0,
        j = 0;
      for (; j + 1 < d; j += 2) {
        a0 += qc[j] * codes[o + j];
        a1 += qc[j + 1] * codes[o + j + 1];
      }
      for (; j < d; j++) a0 += qc[j] * codes[o + j];
      const s = (a0 + a1) * scales[r] * qs;
      if (s < top.threshold) continue;
      const id = this.ids[r];
      if (exclude?.has(id)) continue;
      top.push(s, id, r);
    }
    return top;
  }

  /** Bytes: "M3CI", version, kind (0 flat, 1 int8), dim, count, ids f64[count], rows f32[count·dim]. */
  serialize(): Uint8Array {
    const n = this.count,
      d = this.dim;
    const out = new Uint8Array(headerBytes + 8 * n + 4 * n * d);
    const view = new DataView(out.buffer);
    view.setUint32(0, magic, true);
    view.setUint16(4, formatVersion, true);
    view.setUint16(6, this.kind === 'flat' ? 0 : 1, true);
    view.setUint32(8, d, true);
    view.setUint32(12, n, true);
    new Float64Array(out.buffer, headerBytes, n).set(this.ids.subarray(0, n));
    new Float32Array(out.buffer, headerBytes + 8 * n, n * d).set(this.rows.subarray(0, n * d));
    return out;
  }

  static deserialize(bytes: Uint8Array, options: { shortlist?: number } = {}): CosineIndex {
    const fail = (why: string) => new RetrievalError(`CosineIndex.deserialize: ${why}`, { byteLength: bytes.byteLength });
    if (bytes.byteLength < headerBytes) throw fail('shorter than the header');
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (view.getUint32(0, true) !== magic) throw fail('bad magic (not a CosineIndex)');
    if (view.getUint16(4, true) !== formatVersion) throw fail(`unknown version ${view.getUint16(4, true)}`);
    const kindCode = view.getUint16(6, true);
    if (kindCode > 1) throw fail(`unknown kind code ${kindCode}`);
    const d = view.getUint32(8, true),
      n = view.getUint32(12, true);
    if (bytes.byteLength !== headerBytes + 8 * n + 4 * n * d) throw fail(`expected ${headerBytes + 8 * n + 4 * n * d} bytes for ${n}×${d}`);
    const aligned = bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
    const ids = new Float64Array(aligned.buffer, aligned.byteOffset + headerBytes, n);
    const rows = new Float32Array(aligned.buffer, aligned.byteOffset + headerBytes + 8 * n, n * d);
    const index = new CosineIndex({ dim: d, kind: kindCode === 0 ? 'flat' : 'int8', shortlist: options.shortlist });
    index.addRows(ids, rows, false);
    return index;
  }
}
