/**
 * createIndexWorker(): a CosineIndex in its own module Worker (browser; Vite bundles the worker from
 * the `new URL(..., import.meta.url)` pattern). Every call is async and runs off the calling thread.
 */
import { transfer, wrap, type Remote } from 'comlink';
import type { CosineIndexOptions } from './cosine-index';
import type { IndexWorkerApi } from './index-worker';
import type { SearchHit } from './types';

export interface IndexWorker {
  /** Starts an empty index. */
  init(options: CosineIndexOptions): Promise<void>;
  /** Restores CosineIndex.serialize() bytes (transferred: `bytes` is detached after the call). */
  load(bytes: Uint8Array, options?: { shortlist?: number }): Promise<number>;
  /** Adds rows (ids.length, dim); `vectors` is transferred. Returns the new size. */
  add(ids: ArrayLike<number>, vectors: Float32Array): Promise<number>;
  remove(ids: Iterable<number>): Promise<number>;
  search(query: Float32Array, k: number, exclude?: Set<number>): Promise<SearchHit[]>;
  timedSearch(query: Float32Array, k: number, exclude?: Set<number>): Promise<{ hits: SearchHit[]; ms: number }>;
  size(): Promise<number>;
  serialize(): Promise<Uint8Array>;
  terminate(): void;
}

export function createIndexWorker(): IndexWorker {
  const worker = new Worker(new URL('./index-worker.ts', import.meta.url), { type: 'module', name: 'memory3-cosine-index' });
  const api: Remote<IndexWorkerApi> = wrap<IndexWorkerApi>(worker);
  const owned = (v: Float32Array) => (v.byteOffset === 0 && v.byteLength === v.buffer.byteLength ? v : v.slice());
  return {
    init: (options) => api.init(options),
    load: (bytes, options) => {
      const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
      return api.load(transfer(own, [own.buffer]), options);
    },
    add: (ids, vectors) => {
      const v = owned(vectors);
      return api.add(Float64Array.from(ids), transfer(v, [v.buffer]));
    },
    remove: (ids) => api.remove([...ids]),
    search: (query, k, exclude) => api.search(query, k, exclude),
    timedSearch: (query, k, exclude) => api.timedSearch(query, k, exclude),
    size: () => api.size(),
    serialize: () => api.serialize(),
    terminate: () => worker.terminate(),
  };
}
