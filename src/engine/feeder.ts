/**
 * How generated tokens reach the model. The plain feeder reuses the longest cached prefix and
 * feeds the rest; the memory feeder (memory-feeder.ts) adds explicit memory's chunked retrieval.
 */
import type { Engine } from './engine';

export interface Feeder {
  /** Feeds the prompt (reusing what the cache holds); returns next-token logits and how many prompt tokens were cached. */
  prompt(ids: readonly number[], signal?: AbortSignal): Promise<{ logits: Float32Array; cached: number }>;
  /** Feeds generated token number `index` (0-based); returns next-token logits. */
  next(token: number, index: number, signal?: AbortSignal): Promise<Float32Array>;
  /** RoPE positions of the context rows run this much past the row index (explicit memory's layouts); default 0. */
  readonly positionOffset?: number;
}

export class PlainFeeder implements Feeder {
  constructor(private readonly engine: Engine) {}

  async prompt(ids: readonly number[], signal?: AbortSignal) {
    const kv = this.engine.model.kv;
    const cached = this.engine.cacheTag === 'plain' ? Math.min(kv.commonPrefix(ids), ids.length - 1) : 0;
    return { logits: await this.engine.feed(ids, signal), cached };
  }

  next(token: number, _index: number, signal?: AbortSignal): Promise<Float32Array> {
    return this.engine.append([token], { signal });
  }
}
