/**
 * Worker entry that owns a CosineIndex, so a scan over 100k references never runs on the thread
 * that drives decoding. Exposed with comlink; the client side is createIndexWorker() in
 * index-worker-client.ts. Vectors arrive transferred (no copy).
 */
import { expose } from 'comlink';
import { RetrievalError } from '../../util/errors';
import { CosineIndex, type CosineIndexOptions } from './cosine-index';
import type { SearchHit } from './types';

export class IndexWorkerApi {
  private index: CosineIndex | null = null;

  private get ready(): CosineIndex {
    if (!this.index) throw new RetrievalError('index worker: init() or load() first');
    return this.index;
  }

  init(options: CosineIndexOptions): void {
    this.index = new CosineIndex(options);
  }

  /** Restores serialized CosineIndex bytes. */
  load(bytes: Uint8Array, options: { shortlist?: number } = {}): number {
    this.index = CosineIndex.deserialize(bytes, options);
    return this.index.size;
  }

  add(ids: number[] | Float64Array, vectors: Float32Array): number {
    this.ready.add(ids, vectors);
    return this.ready.size;
  }

  remove(ids: number[]): number {
    return this.ready.remove(ids);
  }

  search(query: Float32Array, k: number, exclude?: Set<number>): SearchHit[] {
    return this.ready.search(query, k, exclude);
  }

  /** Search plus the time the scan took inside the worker (ms). */
  timedSearch(query: Float32Array, k: number, exclude?: Set<number>): { hits: SearchHit[]; ms: number } {
    const t0 = performance.now();
    const hits = this.ready.search(query, k, exclude);
    return { hits, ms: performance.now() - t0 };
  }

  size(): number {
    return this.index?.size ?? 0;
  }

  serialize(): Uint8Array {
    return this.ready.serialize();
  }
}

expose(new IndexWorkerApi());
