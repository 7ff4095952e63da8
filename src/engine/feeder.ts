/**
 * How generated tokens reach the model. The plain feeder reuses the longest cached prefix and
 * feeds the rest; the memory feeder (memory-feeder.ts) adds explicit memory's chunked retrieval.
 * Both work on the engine's Session (session.ts), never on the Engine.
 */
import type { Session } from './session';

export interface Feeder {
  /** Feeds the prompt (reusing what the cache holds); returns next-token logits and how many prompt tokens were cached. */
  prompt(ids: readonly number[], signal?: AbortSignal): Promise<{ logits: Float32Array; cached: number }>;
  /** Feeds generated token number `index` (0-based); returns next-token logits. */
  next(token: number, index: number, signal?: AbortSignal): Promise<Float32Array>;
  /** RoPE positions of the context rows run this much past the row index (explicit memory's layouts); default 0. */
  readonly positionOffset?: number;
}

export class PlainFeeder implements Feeder {
  constructor(private readonly session: Session) {}

  prompt(ids: readonly number[], signal?: AbortSignal): Promise<{ logits: Float32Array; cached: number }> {
    return this.session.feed(ids, signal);
  }

  next(token: number, _index: number, signal?: AbortSignal): Promise<Float32Array> {
    return this.session.append([token], { signal });
  }
}
