/**
 * MemoryCache: a least-recently-used cache of decoded memory records by reference id (the paper's
 * "RAM cache of recent memories"), bounded by a record count and/or a byte budget, with hit, miss and
 * eviction counters. A Map keeps insertion order; a hit re-inserts the entry to make it most recent.
 */
import { RetrievalError } from '../../util/errors';
import type { MemoryRecordData } from '../types';

export interface MemoryCacheOptions<T> {
  /** Most records kept (default unbounded). */
  maxRecords?: number;
  /** Most bytes kept, as measured by `sizeOf` (default unbounded). */
  maxBytes?: number;
  /** Bytes of one value (default: byteLength of keys + values + positions). */
  sizeOf?: (value: T) => number;
}

export interface MemoryCacheStats {
  hits: number;
  misses: number;
  evictions: number;
  records: number;
  bytes: number;
}

const recordBytes = (r: MemoryRecordData) => r.keys.byteLength + r.values.byteLength + r.positions.byteLength;

export class MemoryCache<T = MemoryRecordData> {
  hits = 0;
  misses = 0;
  evictions = 0;
  private bytes_ = 0;
  private readonly entries = new Map<number, { value: T; bytes: number }>();
  readonly maxRecords: number;
  readonly maxBytes: number;
  private readonly sizeOf: (value: T) => number;

  constructor(options: MemoryCacheOptions<T> = {}) {
    this.maxRecords = options.maxRecords ?? Infinity;
    this.maxBytes = options.maxBytes ?? Infinity;
    if (!(this.maxRecords >= 0) || !(this.maxBytes >= 0)) {
      throw new RetrievalError(`MemoryCache: maxRecords and maxBytes must be ≥ 0, got ${this.maxRecords}, ${this.maxBytes}`);
    }
    this.sizeOf = options.sizeOf ?? (recordBytes as unknown as (value: T) => number);
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.bytes_;
  }

  /** The value (now most recent) or undefined; counts a hit or a miss. */
  get(id: number): T | undefined {
    const entry = this.entries.get(id);
    if (!entry) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.entries.delete(id);
    this.entries.set(id, entry);
    return entry.value;
  }

  /** Presence without touching recency or counters. */
  has(id: number): boolean {
    return this.entries.has(id);
  }

  /** Inserts or replaces; evicts least-recent entries past the bounds. A value larger than maxBytes is not kept. */
  set(id: number, value: T): void {
    const bytes = this.sizeOf(value);
    this.delete(id);
    if (bytes > this.maxBytes || this.maxRecords === 0) return;
    this.entries.set(id, { value, bytes });
    this.bytes_ += bytes;
    while (this.entries.size > this.maxRecords || this.bytes_ > this.maxBytes) {
      const oldest = this.entries.keys().next().value as number;
      this.delete(oldest);
      this.evictions++;
    }
  }

  delete(id: number): boolean {
    const entry = this.entries.get(id);
    if (!entry) return false;
    this.entries.delete(id);
    this.bytes_ -= entry.bytes;
    return true;
  }

  clear(): void {
    this.entries.clear();
    this.bytes_ = 0;
  }

  /** Ids from least to most recently used. */
  keys(): number[] {
    return [...this.entries.keys()];
  }

  stats(): MemoryCacheStats {
    return { hits: this.hits, misses: this.misses, evictions: this.evictions, records: this.entries.size, bytes: this.bytes_ };
  }
}
